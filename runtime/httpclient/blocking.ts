/**
 * `HTTPClient`: Tornado's blocking client, for scripts. The request runs on an
 * `AsyncHTTPClient` in a worker thread while this thread waits on a shared counter
 * (`Atomics.wait`), reading the worker's messages synchronously as they come.
 */

import { createRequire } from "node:module";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from "node:worker_threads";
import { HTTPHeaders } from "../httputil/headers.js";
import { listeningServerCount } from "../httpserver/registry.js";
import { genLog } from "../log.js";
import type { AsyncHTTPClientOptions, FetchOptions } from "./client.js";
import { HTTPRequest, type HTTPRequestOptions } from "./request.js";
import type { HTTPResponse } from "./response.js";
import { errorFromWire, requestToWire, responseFromWire, type FromWorker, type ToWorker, type WorkerInit } from "./wire.js";

// The worker is this directory's worker.js in the build, worker.ts when run from source (tsx).
const WORKER_URL = new URL(`./worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);
// How long a new worker thread may take to load before fetch gives up on it.
const WORKER_START_TIMEOUT = 30_000;

// The worker's entry: it loads the worker module and, should that fail, says so through the
// port (the blocked thread cannot see the worker's "error" event, which needs its event loop).
function startWorker(init: WorkerInit, port: MessagePort): Worker {
  let load: string;
  if (WORKER_URL.pathname.endsWith(".ts")) {
    // Run from TypeScript source: a worker thread does not inherit tsx's ESM loader (nor can it
    // register one on Node 20), so it loads the worker module through tsx's require hook.
    const tsx = createRequire(import.meta.url).resolve("tsx/cjs/api");
    load = `(require(${JSON.stringify(tsx)}).register(), require(${JSON.stringify(fileURLToPath(WORKER_URL))}))`;
  } else {
    load = `import(${JSON.stringify(WORKER_URL.href)})`;
  }
  const bootstrap = `
    const { workerData } = require("node:worker_threads");
    const fail = (error) => {
      workerData.port.postMessage({ type: "failed", message: (error && error.stack) || String(error) });
      Atomics.add(workerData.wake, 0, 1);
      Atomics.notify(workerData.wake, 0);
    };
    try { Promise.resolve(${load}).catch(fail); } catch (error) { fail(error); }`;
  // Flags such as --input-type (node -e) make no sense for a worker and would stop it loading.
  const execArgv = process.execArgv.filter((flag, i, all) => !flag.startsWith("--input-type") && all[i - 1] !== "--input-type");
  return new Worker(bootstrap, { eval: true, workerData: init, transferList: [port], execArgv });
}

interface Thread {
  worker: Worker;
  port: MessagePort;
  wake: Int32Array;
}

/**
 * A blocking HTTP client for scripts and command-line tools: `fetch` returns the
 * `HTTPResponse` itself. It takes the same options as `AsyncHTTPClient` and `fetch`, and throws
 * what `AsyncHTTPClient.fetch` would reject with.
 *
 * It blocks the whole thread, event loop included, until the response is in: never use it in a
 * server (an `HTTPServer` in this process answers nothing meanwhile; it logs a warning on
 * `tornado.general` when one is listening). Callbacks run on this thread as data arrives; an
 * `AbortSignal` cannot be used (nothing could fire it). Call `close()` when done to stop the
 * worker thread (an idle one does not keep the process alive).
 *
 * @example
 * import { HTTPClient, HTTPClientError } from "tornado/httpclient";
 * const client = new HTTPClient();
 * try {
 *   const response = client.fetch("https://example.com/");
 *   console.log(response.text());
 * } catch (e) {
 *   if (e instanceof HTTPClientError) console.error(e.message, e.response?.code); // non-2xx, or 599
 *   else throw e;
 * }
 * client.close();
 */
export class HTTPClient {
  private readonly options: AsyncHTTPClientOptions;
  private readonly callbacks: Pick<HTTPRequestOptions, "streamingCallback" | "headerCallback">;
  private thread: Thread | undefined;
  private nextId = 1;
  private closed = false;

  constructor(options: AsyncHTTPClientOptions = {}) {
    const { streamingCallback, headerCallback, signal, ...defaults } = options.defaults ?? {};
    if (signal !== undefined) throw new TypeError("HTTPClient cannot take an AbortSignal: nothing could fire it while the thread is blocked");
    // Headers cross to the worker as pairs: a structured clone drops the HTTPHeaders class.
    if (defaults.headers !== undefined) defaults.headers = [...new HTTPHeaders(defaults.headers)];
    this.options = { ...options, defaults };
    this.callbacks = { streamingCallback, headerCallback };
  }

  /**
   * Fetches `request` and returns the response, blocking until it is in. See
   * `AsyncHTTPClient.fetch` for the options and the errors thrown.
   *
   * @example
   * const response = new HTTPClient().fetch("http://127.0.0.1:8888/health", { requestTimeout: 2000 });
   */
  fetch(request: HTTPRequest, options?: FetchOptions): HTTPResponse;
  fetch(url: string | URL, options?: HTTPRequestOptions & FetchOptions): HTTPResponse;
  fetch(request: string | URL | HTTPRequest, options: HTTPRequestOptions & FetchOptions = {}): HTTPResponse {
    if (this.closed) throw new Error("fetch() called on a closed HTTPClient");
    const { raiseError = true, ...requestOptions } = options;
    if (request instanceof HTTPRequest) {
      if (Object.keys(requestOptions).length > 0) {
        throw new TypeError("Request options cannot be given with an HTTPRequest: set them on the HTTPRequest");
      }
    } else {
      request = new HTTPRequest(request, requestOptions);
    }
    if (request.signal !== undefined) throw new TypeError("HTTPClient cannot take an AbortSignal: nothing could fire it while the thread is blocked");
    if (listeningServerCount() > 0) {
      genLog.warning(
        `HTTPClient.fetch(${request.url}) blocks the event loop: the HTTPServer running in this process answers nothing until it returns. Use AsyncHTTPClient in a server.`,
      );
    }
    const streamingCallback = request.streamingCallback ?? this.callbacks.streamingCallback;
    const headerCallback = request.headerCallback ?? this.callbacks.headerCallback;
    const thread = this.start();
    const id = this.nextId++;
    const message: ToWorker = {
      type: "fetch",
      id,
      url: request.url,
      options: requestToWire(request),
      streaming: streamingCallback !== undefined,
      headerLines: headerCallback !== undefined,
    };
    thread.port.postMessage(message);

    // A callback that throws cancels the request; that error is what fetch then throws.
    let failure: { error: unknown } | undefined;
    const call = (fn: () => void) => {
      if (failure) return;
      try {
        fn();
      } catch (error) {
        failure = { error };
        thread.port.postMessage({ type: "abort", id } satisfies ToWorker);
      }
    };
    for (;;) {
      const seen = Atomics.load(thread.wake, 0);
      for (let received = receiveMessageOnPort(thread.port); received; received = receiveMessageOnPort(thread.port)) {
        const reply = received.message as FromWorker;
        if (reply.type === "ready" || reply.type === "failed" || reply.id !== id) continue;
        if (reply.type === "header") {
          call(() => headerCallback!(reply.line));
        } else if (reply.type === "chunk") {
          const chunk = Buffer.from(reply.chunk.buffer, reply.chunk.byteOffset, reply.chunk.byteLength);
          call(() => void streamingCallback!(chunk));
        } else {
          if (failure) throw failure.error;
          if (reply.type === "error") throw errorFromWire(reply.error);
          const response = responseFromWire(reply.response, request);
          if (raiseError && response.error) throw response.error;
          return response;
        }
      }
      Atomics.wait(thread.wake, 0, seen);
    }
  }

  /**
   * Stops the worker thread; later `fetch` calls throw.
   *
   * @example
   * client.close();
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.thread) {
      this.thread.port.close();
      void this.thread.worker.terminate();
      this.thread = undefined;
    }
  }

  // Starts the worker on first use and waits (blocking) until it has loaded.
  private start(): Thread {
    if (this.thread) return this.thread;
    const wake = new Int32Array(new SharedArrayBuffer(4));
    const { port1, port2 } = new MessageChannel();
    const init: WorkerInit = { wake, port: port2, options: this.options };
    const worker = startWorker(init, port2);
    worker.unref();
    port1.unref();
    const deadline = Date.now() + WORKER_START_TIMEOUT;
    for (;;) {
      const seen = Atomics.load(wake, 0);
      const reply = receiveMessageOnPort(port1)?.message as FromWorker | undefined;
      if (reply?.type === "ready") break;
      if (reply?.type === "failed") {
        void worker.terminate();
        throw new Error(`HTTPClient: its worker thread (${fileURLToPath(WORKER_URL)}) failed to load:\n${reply.message}`);
      }
      const left = deadline - Date.now();
      if (left <= 0 || Atomics.wait(wake, 0, seen, left) === "timed-out") {
        void worker.terminate();
        throw new Error(`HTTPClient: its worker thread (${fileURLToPath(WORKER_URL)}) did not start within ${WORKER_START_TIMEOUT / 1000} s`);
      }
    }
    this.thread = { worker, port: port1, wake };
    return this.thread;
  }
}

/**
 * The worker thread behind the blocking `HTTPClient`: an `AsyncHTTPClient` that runs each
 * request it is sent and posts back header lines, chunks and the result, bumping a shared
 * counter after every message so that the blocked thread wakes up to read it.
 */

import { workerData, type MessagePort } from "node:worker_threads";
import { AsyncHTTPClient } from "./client.js";
import { HTTPRequest } from "./request.js";
import { errorToWire, requestFromWire, responseToWire, type FromWorker, type ToWorker, type WorkerInit } from "./wire.js";

const { wake, port, options } = workerData as WorkerInit;
const client = new AsyncHTTPClient(options);
const aborts = new Map<number, AbortController>();

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  (port as MessagePort).postMessage(message, transfer);
  Atomics.add(wake, 0, 1);
  Atomics.notify(wake, 0);
}

port.on("message", (message: ToWorker) => {
  if (message.type === "abort") {
    aborts.get(message.id)?.abort(new Error("aborted by the calling thread"));
    return;
  }
  const { id } = message;
  const controller = new AbortController();
  aborts.set(id, controller);
  let request: HTTPRequest;
  try {
    request = new HTTPRequest(message.url, {
      ...requestFromWire(message.options),
      signal: controller.signal,
      ...(message.streaming ? { streamingCallback: (chunk: Buffer) => post({ type: "chunk", id, chunk: new Uint8Array(chunk) }) } : {}),
      ...(message.headerLines ? { headerCallback: (line: string) => post({ type: "header", id, line }) } : {}),
    });
  } catch (error) {
    aborts.delete(id);
    post({ type: "error", id, error: errorToWire(error) });
    return;
  }
  client.fetch(request, { raiseError: false }).then(
    (response) => {
      aborts.delete(id);
      const { wire, transfer } = responseToWire(response);
      post({ type: "done", id, response: wire }, transfer);
    },
    (error: unknown) => {
      aborts.delete(id);
      post({ type: "error", id, error: errorToWire(error) });
    },
  );
});

post({ type: "ready" });

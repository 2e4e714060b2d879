/** `AsyncHTTPClient`: Tornado's non-blocking HTTP client, on node:http(s) with keep-alive. */

import dns from "node:dns";
import http from "node:http";
import https from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { performance } from "node:perf_hooks";
import { genLog } from "../log.js";
import { HTTPTimeoutError } from "./errors.js";
import { exchange, type ExchangeContext } from "./exchange.js";
import { checkHop, firstHop, type Hop } from "./hop.js";
import { HTTPRequest, type HTTPRequestOptions } from "./request.js";
import type { HTTPResponse } from "./response.js";

/**
 * Options for `new AsyncHTTPClient()` (and `HTTPClient`).
 *
 * @example
 * new AsyncHTTPClient({ maxClients: 50, defaults: { userAgent: "my-crawler/1.0", requestTimeout: 5000 } });
 */
export interface AsyncHTTPClientOptions {
  /** Requests in flight at once; more wait in a FIFO queue. Default 10. */
  maxClients?: number;
  /** Values for the request options a request leaves undefined (headers merge under the request's). */
  defaults?: HTTPRequestOptions;
  /** Largest response body accepted (decompressed); beyond it the fetch fails with 599. Default 100 MiB. */
  maxBodySize?: number;
  /** Largest response header block accepted. Default 64 KiB. */
  maxHeaderSize?: number;
  /** Host names to connect to another address, e.g. `{ "api.example.com": "127.0.0.1" }` (handy in tests). */
  hostnameMapping?: Record<string, string>;
}

/**
 * What `fetch` takes besides the request's own options.
 *
 * @example
 * const response = await client.fetch(url, { raiseError: false });
 */
export interface FetchOptions {
  /**
   * Reject with `HTTPClientError` when the response is not 2xx (default true). With false the
   * response comes back whatever its code; failures with no response (599) still reject.
   */
  raiseError?: boolean;
}

interface Waiter {
  hop: Hop;
  start(): void;
  fail(error: unknown): void;
}

let shared: AsyncHTTPClient | undefined;
let sharedOptions: AsyncHTTPClientOptions = {};

/**
 * A non-blocking HTTP/1.1 client. `fetch` resolves to an `HTTPResponse`; at most `maxClients`
 * requests are in flight at once and the others wait their turn in order (a queued request
 * whose time runs out fails with `Timeout in request queue`). Connections are kept alive and
 * reused between requests to the same host until `close()`.
 *
 * @example
 * const client = new AsyncHTTPClient({ maxClients: 20 });
 * const response = await client.fetch("https://example.com/api/items", { requestTimeout: 5000 });
 * console.log(response.code, response.json());
 * client.close();
 */
export class AsyncHTTPClient {
  /** The most requests in flight at once. */
  readonly maxClients: number;
  /** The defaults applied to every request. */
  readonly defaults: HTTPRequestOptions;
  private readonly context: ExchangeContext;
  private readonly queue: Waiter[] = [];
  private active = 0;
  private closed = false;

  constructor(options: AsyncHTTPClientOptions = {}) {
    this.maxClients = options.maxClients ?? 10;
    if (!(this.maxClients >= 1)) throw new RangeError(`maxClients must be at least 1, not ${options.maxClients}`);
    this.defaults = options.defaults ?? {};
    const agentOptions = { keepAlive: true, scheduling: "lifo" as const };
    this.context = {
      httpAgent: new http.Agent(agentOptions),
      httpsAgent: new https.Agent(agentOptions),
      maxBodySize: options.maxBodySize ?? 100 * 1024 * 1024,
      maxHeaderSize: options.maxHeaderSize ?? 64 * 1024,
      lookup: options.hostnameMapping ? mappedLookup(options.hostnameMapping) : undefined,
    };
  }

  /**
   * The client shared by everything in this process (Tornado's `AsyncHTTPClient()`), created on
   * first use with the options of `AsyncHTTPClient.configure()`. Closing it makes the next call
   * create a fresh one.
   *
   * @example
   * const response = await AsyncHTTPClient.instance().fetch("http://127.0.0.1:8888/");
   */
  static instance(): AsyncHTTPClient {
    shared ??= new AsyncHTTPClient(sharedOptions);
    return shared;
  }

  /**
   * Sets the options of the shared client (`instance()`); call it at startup. A shared client
   * that already exists is closed (its requests finish) and replaced on the next `instance()`.
   *
   * @example
   * AsyncHTTPClient.configure({ maxClients: 100, defaults: { userAgent: "my-app" } });
   */
  static configure(options: AsyncHTTPClientOptions): void {
    sharedOptions = options;
    shared?.close();
  }

  /**
   * Fetches `request` (a URL with `options`, or an `HTTPRequest`) and resolves to the response.
   *
   * Rejects with `HTTPClientError` when the response is not 2xx (unless `raiseError: false`),
   * with `HTTPClientError` code 599 when no response came (`HTTPTimeoutError`,
   * `HTTPStreamClosedError`, refused connection, bad certificate), with the signal's reason when
   * aborted, with a `TypeError` for a request Tornado refuses (unknown method, a body on GET, no
   * body on POST, an unsupported URL), and with what a callback threw.
   *
   * @example
   * const page = await client.fetch("http://127.0.0.1:8888/search?q=tornado");
   * const created = await client.fetch("http://127.0.0.1:8888/items", {
   *   method: "POST",
   *   headers: { "Content-Type": "application/json" },
   *   body: JSON.stringify({ name: "x" }),
   * });
   * const missing = await client.fetch("http://127.0.0.1:8888/nope", { raiseError: false }); // missing.code === 404
   */
  fetch(request: HTTPRequest, options?: FetchOptions): Promise<HTTPResponse>;
  fetch(url: string | URL, options?: HTTPRequestOptions & FetchOptions): Promise<HTTPResponse>;
  async fetch(request: string | URL | HTTPRequest, options: HTTPRequestOptions & FetchOptions = {}): Promise<HTTPResponse> {
    if (this.closed) throw new Error("fetch() called on a closed AsyncHTTPClient");
    const { raiseError = true, ...requestOptions } = options;
    if (request instanceof HTTPRequest) {
      if (Object.keys(requestOptions).length > 0) {
        throw new TypeError("Request options cannot be given with an HTTPRequest: set them on the HTTPRequest");
      }
    } else {
      request = new HTTPRequest(request, requestOptions);
    }
    let hop = firstHop(request, this.defaults);
    for (;;) {
      checkHop(hop);
      const outcome = await this.run(hop);
      if ("redirect" in outcome) {
        hop = outcome.redirect;
        continue;
      }
      const { response } = outcome;
      if (raiseError && response.error) throw response.error;
      return response;
    }
  }

  /**
   * Stops the client: later `fetch` calls reject; requests queued or in flight still finish,
   * then the kept-alive connections are closed.
   *
   * @example
   * client.close();
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (shared === this) shared = undefined;
    this.closeIdleConnections();
  }

  // Waits for a free slot (Tornado's max_clients queue), runs the exchange, frees the slot.
  private async run(hop: Hop) {
    const queuedAt = performance.now();
    if (this.active >= this.maxClients || this.queue.length > 0) await this.waitForSlot(hop, queuedAt);
    else this.active++;
    try {
      return await exchange(hop, this.context, queuedAt);
    } finally {
      this.release();
    }
  }

  private waitForSlot(hop: Hop, queuedAt: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const signal = hop.signal;
      let timer: NodeJS.Timeout | undefined;
      const leave = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
      };
      const waiter: Waiter = {
        hop,
        start: () => {
          leave();
          resolve();
        },
        fail: (error) => {
          leave();
          reject(error);
        },
      };
      const onAbort = () => waiter.fail(signal!.reason);
      if (signal?.aborted) return reject(signal.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      // Tornado: the smaller non-zero of the two timeouts bounds the wait in the queue.
      const limits = [hop.connectTimeout, hop.requestTimeout].filter((t) => t > 0);
      if (limits.length > 0) {
        const wait = Math.min(...limits) - (performance.now() - queuedAt);
        timer = setTimeout(() => waiter.fail(new HTTPTimeoutError("Timeout in request queue")), Math.max(0, wait));
      }
      this.queue.push(waiter);
      if (genLog.isEnabledFor("debug")) {
        genLog.debug(`max_clients limit reached, request queued. ${this.active} active, ${this.queue.length} queued requests.`);
      }
    });
  }

  private release(): void {
    this.active--;
    const next = this.queue[0];
    if (next !== undefined && this.active < this.maxClients) {
      this.active++;
      next.start();
    }
    if (this.closed) this.closeIdleConnections();
  }

  private closeIdleConnections(): void {
    if (this.active > 0 || this.queue.length > 0) return;
    this.context.httpAgent.destroy();
    this.context.httpsAgent.destroy();
  }
}

// A dns.lookup that answers mapped host names itself.
function mappedLookup(mapping: Record<string, string>): LookupFunction {
  return ((hostname: string, options: dns.LookupOptions, callback: (...args: unknown[]) => void) => {
    const target = Object.hasOwn(mapping, hostname) ? mapping[hostname] : undefined;
    if (target === undefined || isIP(target) === 0) return dns.lookup(target ?? hostname, options, callback);
    const family = isIP(target);
    if (options.all) callback(null, [{ address: target, family }]);
    else callback(null, target, family);
  }) as LookupFunction;
}

/** `HTTPResponse`: what a fetch got back (Tornado's `httpclient.HTTPResponse`), and `HTTPClientError`, which carries one. */

import { HTTPHeaders } from "../httputil/headers.js";
import { responses } from "../httputil/request.js";
import type { HTTPRequest } from "./request.js";

/**
 * What `new HTTPResponse()` takes.
 *
 * @example
 * new HTTPResponse({ request, code: 200, body: Buffer.from("hi") });
 */
export interface HTTPResponseInit {
  request: HTTPRequest;
  code: number;
  /** Default: the standard phrase for `code`, or `Unknown`. */
  reason?: string;
  headers?: HTTPHeaders;
  body?: Buffer;
  /** Default: the request's URL. */
  effectiveUrl?: string;
  requestTime?: number;
  startTime?: number;
  /** Default: an `HTTPClientError` when `code` is not 2xx. */
  error?: HTTPClientError;
}

/**
 * A response from `AsyncHTTPClient.fetch` (or `HTTPClient.fetch`).
 *
 * @example
 * const response = await client.fetch("http://127.0.0.1:8888/users/42");
 * response.code;                      // 200
 * response.headers.get("Content-Type"); // "application/json; charset=UTF-8"
 * const user = response.json<{ name: string }>();
 */
export class HTTPResponse {
  /** The request as passed to `fetch` (the first one, when redirects were followed). */
  readonly request: HTTPRequest;
  /** The HTTP status, e.g. 200 or 404. */
  readonly code: number;
  /** The reason phrase from the status line (the standard one when the server sent none). */
  readonly reason: string;
  /**
   * The response headers. A gzip body that was decompressed has its `Content-Encoding` moved to
   * `X-Consumed-Content-Encoding`, as Tornado does.
   */
  readonly headers: HTTPHeaders;
  /** The body, decompressed; empty when a `streamingCallback` received it. */
  readonly body: Buffer;
  /** The URL that answered, after any redirects. */
  readonly effectiveUrl: string;
  /**
   * Milliseconds from the start of the (last) request to its last byte; time spent queued
   * behind `maxClients` is not included, as in Tornado.
   */
  readonly requestTime: number;
  /** When the (last) request started, as `Date.now()`. */
  readonly startTime: number;
  /** The `HTTPClientError` for a non-2xx response, else `undefined`. */
  readonly error: HTTPClientError | undefined;

  constructor(init: HTTPResponseInit) {
    this.request = init.request;
    this.code = init.code;
    this.reason = init.reason || (responses[init.code] ?? "Unknown");
    this.headers = init.headers ?? new HTTPHeaders();
    this.body = init.body ?? Buffer.alloc(0);
    this.effectiveUrl = init.effectiveUrl ?? init.request.url;
    this.requestTime = init.requestTime ?? 0;
    this.startTime = init.startTime ?? Date.now();
    if (init.error !== undefined) this.error = init.error;
    else if (init.code < 200 || init.code >= 300) this.error = new HTTPClientError(init.code, `HTTP ${init.code}: ${this.reason}`, this);
    else this.error = undefined;
  }

  /**
   * The body decoded as text (UTF-8 unless told otherwise).
   *
   * @example
   * (await client.fetch(url)).text() // "<html>…"
   */
  text(encoding: BufferEncoding = "utf8"): string {
    return this.body.toString(encoding);
  }

  /**
   * The body parsed as JSON; throws a `SyntaxError` when it is not JSON.
   *
   * @example
   * const { items } = (await client.fetch(url)).json<{ items: string[] }>();
   */
  json<T = unknown>(): T {
    return JSON.parse(this.body.toString("utf8")) as T;
  }

  /**
   * Throws `error` when there is one (a non-2xx response fetched with `raiseError: false`).
   *
   * @example
   * const response = await client.fetch(url, { raiseError: false });
   * if (response.code !== 404) response.rethrow();
   */
  rethrow(): void {
    if (this.error) throw this.error;
  }
}

/**
 * A request that did not end in a 2xx response. `code` is the HTTP status, or 599 when no
 * response arrived (a timeout, a refused connection, a bad certificate, a connection closed
 * mid-response); `response` is the response when there is one (never for 599).
 *
 * With `followRedirects: false` a redirect is an error too: its target is in
 * `error.response.headers.get("Location")`. Pass `raiseError: false` to `fetch` to get non-2xx
 * responses back instead (599 still rejects).
 *
 * @example
 * try {
 *   await client.fetch("http://127.0.0.1:8888/missing");
 * } catch (e) {
 *   if (e instanceof HTTPClientError && e.code === 404) console.log(e.response?.body.toString());
 *   else throw e;
 * }
 */
export class HTTPClientError extends Error {
  /** The HTTP status, or 599 when no response was received. */
  readonly code: number;
  /** The response, when the server sent one. */
  readonly response: HTTPResponse | undefined;

  /** `message` defaults to `HTTP <code>: <reason>`, as Tornado prints it. */
  constructor(code: number, message?: string, response?: HTTPResponse, options?: { cause?: unknown }) {
    super(message ?? `HTTP ${code}: ${responses[code] ?? "Unknown"}`, options);
    this.name = "HTTPClientError";
    this.code = code;
    this.response = response;
  }
}

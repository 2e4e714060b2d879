/** The errors `AsyncHTTPClient.fetch` rejects with (Tornado's `HTTPClientError` and its 599 kinds). */

import { responses } from "../httputil/request.js";
import type { HTTPResponse } from "./response.js";

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

/**
 * The request ran out of time (code 599). The message says where, as Tornado's does:
 * `Timeout in request queue`, `Timeout while connecting` or `Timeout during request`.
 *
 * @example
 * try { await client.fetch(url, { requestTimeout: 1000 }); }
 * catch (e) { if (e instanceof HTTPTimeoutError) console.log(e.message); } // "Timeout during request"
 */
export class HTTPTimeoutError extends HTTPClientError {
  constructor(message = "Timeout") {
    super(599, message);
    this.name = "HTTPTimeoutError";
  }
}

/**
 * The server closed the connection before the response was complete (code 599, message
 * `Connection closed`).
 *
 * @example
 * catch (e) { if (e instanceof HTTPStreamClosedError) retryLater(); }
 */
export class HTTPStreamClosedError extends HTTPClientError {
  constructor(message = "Stream closed", options?: { cause?: unknown }) {
    super(599, message, undefined, options);
    this.name = "HTTPStreamClosedError";
  }
}

// Turns what node's http client failed with into a 599, keeping the original as `cause`.
export function networkError(error: unknown): HTTPClientError {
  if (error instanceof HTTPClientError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ECONNRESET" || code === "EPIPE" || code === "ERR_STREAM_PREMATURE_CLOSE") {
    return new HTTPStreamClosedError("Connection closed", { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new HTTPClientError(599, `HTTP 599: ${message}`, undefined, { cause: error });
}

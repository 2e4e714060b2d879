/**
 * The errors `AsyncHTTPClient.fetch` rejects with (Tornado's `HTTPClientError` and its 599 kinds).
 * `HTTPClientError` itself lives with `HTTPResponse` (response.ts): each refers to the other,
 * as in Tornado's `httpclient.py`; it is exported from here too.
 */

import { HTTPClientError } from "./response.js";

export { HTTPClientError };

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

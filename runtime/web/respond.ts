/**
 * The last step of a response: handing it to the connection so that, whatever went wrong
 * before, the client gets an answer and the request leaves the server's in-flight count.
 */

import { HTTPHeaders } from "../httputil/headers.js";
import type { HTTPConnection, HTTPServerRequest } from "../httputil/request.js";
import { appLog } from "../log.js";

const FALLBACK_PAGE = "<html><title>500: Internal Server Error</title><body>500: Internal Server Error</body></html>";

/**
 * Sends a whole response on `connection`; if the connection refuses it (a header node cannot
 * write, say), logs the error on `tornado.application` and sends a plain 500 instead, and if
 * even that fails, cuts the connection. Never throws, and the request always counts as
 * answered. Returns whether the response given was the one sent.
 *
 * @example
 * if (!respondSafely(connection, request, 200, "OK", headers, body)) status = 500;
 */
export function respondSafely(
  connection: HTTPConnection | undefined,
  request: HTTPServerRequest,
  status: number,
  reason: string,
  headers: HTTPHeaders,
  body: string | Buffer | null,
): boolean {
  if (connection === undefined) return true;
  try {
    connection.respond(status, reason, headers, body);
    return true;
  } catch (e) {
    appLog.error(`Cannot send the ${status} response to ${request}; sending a 500 instead`, e);
  }
  try {
    connection.closeAfterResponse();
    connection.respond(500, "Internal Server Error", HTTPHeaders.fromFlat(["Content-Type", "text/html; charset=UTF-8"], false), FALLBACK_PAGE);
  } catch (e) {
    appLog.error(`Cannot send a 500 response to ${request} either; closing the connection`, e);
    connection.abort?.();
    connection.finish();
  }
  return false;
}

/**
 * The body a whole response sends, with its framing headers set: a 1xx, 204 or 304 has none
 * (a body written for one throws) and drops its representation headers; any other status gets
 * `Content-Length` unless the handler set one.
 *
 * @example
 * const body = frameBody(304, headers, null);
 */
export function frameBody(status: number, headers: HTTPHeaders, body: string | Buffer | null): string | Buffer | null {
  if (status === 204 || status === 304 || (status >= 100 && status < 200)) {
    if (body !== null && byteLength(body) > 0) throw new Error(`Cannot send a body with status ${status}`);
    // RFC 9110 §15.4.5: a 304 describes the stored representation, so these are left out.
    headers.delete("Content-Encoding");
    headers.delete("Content-Language");
    headers.delete("Content-Type");
    return null;
  }
  if (!headers.has("Content-Length")) headers.put("Content-Length", String(body === null ? 0 : byteLength(body)));
  return body;
}

function byteLength(chunk: string | Buffer): number {
  return typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
}

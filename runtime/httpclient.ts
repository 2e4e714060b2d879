/**
 * HTTP clients, as Tornado's `tornado.httpclient`: `AsyncHTTPClient` (non-blocking, at most
 * `maxClients` requests in flight, the rest queued), `HTTPClient` (blocking, for scripts),
 * `HTTPRequest`, `HTTPResponse` and `HTTPClientError` (code 599 when no response came). Built
 * on node:http/https with keep-alive; times are in milliseconds.
 *
 * @example
 * import { AsyncHTTPClient, HTTPClientError } from "tornado/httpclient";
 * const client = AsyncHTTPClient.instance();
 * try {
 *   const response = await client.fetch("http://127.0.0.1:8888/items", { requestTimeout: 5000 });
 *   console.log(response.json());
 * } catch (e) {
 *   if (e instanceof HTTPClientError) console.error(e.code, e.message);
 *   else throw e;
 * }
 */
export { AsyncHTTPClient, type AsyncHTTPClientOptions, type FetchOptions } from "./httpclient/client.js";
export { HTTPClient } from "./httpclient/blocking.js";
export { HTTPRequest, REQUEST_DEFAULTS, type HTTPRequestOptions } from "./httpclient/request.js";
export { HTTPResponse, type HTTPResponseInit } from "./httpclient/response.js";
export { HTTPClientError, HTTPStreamClosedError, HTTPTimeoutError } from "./httpclient/errors.js";

/**
 * Output transforms: what happens to a response between the handler and the wire, as Tornado's
 * `OutputTransform`s. Two exist: the CORS headers (the `cors` setting, see `cors.ts`) and gzip
 * (the `compressResponse` setting, Tornado's `GZipContentEncoding`). The handler calls in here
 * only when one of those settings is on, so a plain response pays nothing.
 */

import { finished } from "node:stream";
import { constants, createGzip, gzip, gzipSync, type Gzip } from "node:zlib";
import type { HTTPHeaders } from "../httputil/headers.js";
import type { HTTPConnection, HTTPServerRequest } from "../httputil/request.js";
import { StreamClosedError } from "../iostream.js";
import { appLog } from "../log.js";
import { addCorsHeaders, addVary, type CorsOptions } from "./cors.js";
import { respondSafely } from "./respond.js";

// Tornado's GZipContentEncoding.CONTENT_TYPES: compressed besides every text/* type.
const COMPRESSIBLE_TYPES = new Set([
  "application/javascript",
  "application/x-javascript",
  "application/xml",
  "application/atom+xml",
  "application/json",
  "application/xhtml+xml",
  "image/svg+xml",
]);
// Tornado's MIN_LENGTH: below it the gzip header and trailer eat most of the gain. A streamed
// response is compressed whatever its size, as in Tornado.
const GZIP_MIN_LENGTH = 1024;
// Tornado's GZIP_LEVEL (gzip(1)'s default; 9 costs much more time for little).
const GZIP_LEVEL = 6;
// A body this big is compressed on libuv's thread pool instead of blocking the event loop
// (about half a millisecond of CPU at level 6); smaller ones are quicker done in place.
const THREAD_POOL_LENGTH = 64 * 1024;

/**
 * The settings the transforms read (a part of `ApplicationSettings`, named here so that this
 * module does not import the application's types back).
 *
 * @example
 * sendTransformed(connection, request, { compressResponse: true }, 200, "OK", headers, body);
 */
export interface TransformSettings {
  readonly cors?: CorsOptions;
  readonly compressResponse?: boolean;
}

function byteLength(chunk: string | Buffer): number {
  return typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
}

function ignore(): void {}

/**
 * Whether an `Accept-Encoding` value accepts gzip: a `gzip` (or `x-gzip`) coding whose
 * q-value is not 0 (RFC 9110 §12.5.3).
 *
 * @example
 * acceptsGzip("gzip, deflate, br") // true
 * acceptsGzip("gzip;q=0, br")      // false
 */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  if (acceptEncoding === undefined) return false;
  for (const item of acceptEncoding.split(",")) {
    const [coding, ...params] = item.split(";");
    const name = coding!.trim().toLowerCase();
    if (name !== "gzip" && name !== "x-gzip") continue;
    const q = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith("q="));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}

/**
 * Whether a `Content-Type` is worth compressing: any `text/*`, or one of Tornado's list
 * (JSON, JavaScript, XML, Atom, XHTML, SVG).
 *
 * @example
 * compressibleType("application/json; charset=UTF-8") // true
 * compressibleType("image/png")                       // false
 */
export function compressibleType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const semicolon = contentType.indexOf(";");
  const type = (semicolon < 0 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  return type.startsWith("text/") || COMPRESSIBLE_TYPES.has(type);
}

// Whether this response's body may be gzipped, size aside. HEAD, 204, 304 and 1xx have no body
// to compress; a 206 or any Content-Range describes bytes of the uncompressed body.
function mayGzip(request: HTTPServerRequest, status: number, headers: HTTPHeaders): boolean {
  return (
    request.method !== "HEAD" &&
    status >= 200 &&
    status !== 204 &&
    status !== 206 &&
    status !== 304 &&
    !headers.has("Content-Encoding") &&
    !headers.has("Content-Range") &&
    compressibleType(headers.get("Content-Type")) &&
    acceptsGzip(request.headers.get("Accept-Encoding"))
  );
}

// The header changes every response gets while a setting is on, compressed or not.
function transformHeaders(request: HTTPServerRequest, settings: TransformSettings, headers: HTTPHeaders): void {
  if (settings.cors !== undefined) addCorsHeaders(request, settings.cors, headers);
  // As Tornado: whether the body would be gzipped depends on Accept-Encoding, for every response.
  if (settings.compressResponse) addVary(headers, "Accept-Encoding");
}

/**
 * Sends a whole response (`finish()` with nothing flushed) through the transforms: CORS
 * headers, `Vary`, and gzip with a corrected `Content-Length` when the body qualifies. A big
 * body is compressed off the event loop, so the response may leave a little later.
 *
 * @example
 * sendTransformed(connection, request, settings, 200, "OK", headers, "<html>…</html>");
 */
export function sendTransformed(
  connection: HTTPConnection | undefined,
  request: HTTPServerRequest,
  settings: TransformSettings,
  status: number,
  reason: string,
  headers: HTTPHeaders,
  body: string | Buffer | null,
): void {
  transformHeaders(request, settings, headers);
  const length = body === null ? 0 : byteLength(body);
  if (!settings.compressResponse || length < GZIP_MIN_LENGTH || !mayGzip(request, status, headers)) {
    respondSafely(connection, request, status, reason, headers, body);
    return;
  }
  headers.put("Content-Encoding", "gzip");
  // Also called from zlib's callback, where a throw would end the process: respondSafely never throws.
  const send = (encoded: Buffer) => {
    headers.put("Content-Length", String(encoded.length));
    respondSafely(connection, request, status, reason, headers, encoded);
  };
  if (length < THREAD_POOL_LENGTH) {
    send(gzipSync(body!, { level: GZIP_LEVEL }));
    return;
  }
  gzip(body!, { level: GZIP_LEVEL }, (error, encoded) => {
    if (error === null) return send(encoded);
    appLog.error("gzip failed: sending the body uncompressed", error);
    headers.delete("Content-Encoding");
    send(typeof body === "string" ? Buffer.from(body) : body!);
  });
}

/**
 * Prepares the headers of a streamed response (the first `flush()`) through the transforms.
 * Returns the `GzipStream` that must carry the body from now on, or `null` to send it as is.
 *
 * @example
 * const encoder = startTransformedStream(connection, request, settings, 200, headers);
 * connection.writeHeaders(200, "OK", headers);
 */
export function startTransformedStream(
  connection: HTTPConnection,
  request: HTTPServerRequest,
  settings: TransformSettings,
  status: number,
  headers: HTTPHeaders,
): GzipStream | null {
  transformHeaders(request, settings, headers);
  if (!settings.compressResponse || !mayGzip(request, status, headers)) return null;
  headers.put("Content-Encoding", "gzip");
  // The length given was of the uncompressed body: the response goes out chunked instead.
  headers.delete("Content-Length");
  return new GzipStream(connection);
}

/**
 * The gzip encoding of one streamed response: each `write()` (a `flush()`) compresses its chunk
 * and flushes the compressor, so the client can decode everything sent so far; `end()` writes
 * the gzip trailer and finishes the response.
 *
 * @example
 * const stream = new GzipStream(connection);
 * await stream.write("first rows…");
 * stream.end("last rows");
 */
export class GzipStream {
  private readonly gzip: Gzip = createGzip({ level: GZIP_LEVEL });
  private lastWrite: Promise<void> = Promise.resolve();

  constructor(private readonly connection: HTTPConnection) {
    // Output leaves in the order the compressor produces it, whoever waits for what.
    this.gzip.on("data", (encoded: Buffer) => {
      if (connection.closed) return;
      const written = connection.write(encoded);
      written.catch(ignore);
      this.lastWrite = written;
    });
    this.gzip.on("error", (error) => appLog.error("gzip failed in a streamed response", error));
  }

  /**
   * Compresses `chunk` and sends what the compressor holds; resolves once the connection can
   * take more, rejects with `StreamClosedError` once the client has gone.
   *
   * @example
   * await stream.write(Buffer.from("row\n"));
   */
  async write(chunk: string | Buffer | null): Promise<void> {
    if (!this.connection.closed) {
      if (chunk !== null && byteLength(chunk) > 0) this.gzip.write(chunk);
      await new Promise<void>((resolve) => this.gzip.flush(constants.Z_SYNC_FLUSH, () => resolve()));
      await this.lastWrite.catch(ignore);
    }
    if (this.connection.closed) {
      // Nobody will read the rest: free the compressor now.
      this.gzip.destroy();
      throw new StreamClosedError();
    }
  }

  /**
   * Compresses the last `chunk`, writes the gzip trailer, then finishes the response.
   *
   * @example
   * stream.end(null);
   */
  end(chunk: string | Buffer | null): void {
    const connection = this.connection;
    if (this.gzip.destroyed) {
      connection.finish();
      return;
    }
    // Once the trailer is out (or the compressor failed), the response ends.
    finished(this.gzip, () => connection.finish());
    if (chunk !== null && byteLength(chunk) > 0) this.gzip.end(chunk);
    else this.gzip.end();
  }
}

/** The server's side of one request over `node:http`: `HTTPConnection` for node's request and response. */

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import { createGunzip, type Gunzip } from "node:zlib";
import { HTTPInputError } from "../httputil/body.js";
import { HTTPHeaders } from "../httputil/headers.js";
import { responses, type HTTPConnection } from "../httputil/request.js";
import { StreamClosedError } from "../iostream.js";
import { bodyLimitFor, type ServerLimits } from "./limits.js";

/**
 * What a `NodeHTTPConnection` needs from its server (`HTTPServer` provides it).
 *
 * @example
 * new NodeHTTPConnection(httpServer, req, res);
 */
export interface ConnectionHost {
  readonly limits: ServerLimits;
  readonly bodyTimeout: number | undefined;
  readonly closing: boolean;
  readonly noKeepAlive: boolean;
  requestDone(): void;
}

const EMPTY = Buffer.alloc(0);
const kConnection = Symbol("tornado.connection");

/**
 * The standard error page for a status, as Tornado writes it.
 *
 * @example
 * errorPage(404) // "<html><title>404: Not Found</title><body>404: Not Found</body></html>"
 */
export function errorPage(status: number, reason = responses[status] ?? "Unknown"): string {
  return `<html><title>${status}: ${reason}</title><body>${status}: ${reason}</body></html>`;
}

/**
 * Headers for an error page.
 *
 * @example
 * connection.respond(400, "Bad Request", errorHeaders(), errorPage(400));
 */
export function errorHeaders(): HTTPHeaders {
  return HTTPHeaders.fromFlat(["Content-Type", "text/html; charset=UTF-8"], false);
}

/**
 * The `NodeHTTPConnection` serving the response `res`, if any.
 *
 * @example
 * connectionOf(socket._httpMessage)?.timeOut();
 */
export function connectionOf(res: ServerResponse | null | undefined): NodeHTTPConnection | undefined {
  return (res as (ServerResponse & { [kConnection]?: NodeHTTPConnection }) | null | undefined)?.[kConnection];
}

function onResponseClose(this: ServerResponse): void {
  (this as ServerResponse & { [kConnection]: NodeHTTPConnection })[kConnection].handleClose();
}

/**
 * `HTTPConnection` over node's request and response objects, reading the body within the
 * server's limits (size by content type, decompressed size, minimum rate, `bodyTimeout`).
 *
 * @example
 * server.on("request", (req, res) => serve(new NodeHTTPConnection(host, req, res)));
 */
export class NodeHTTPConnection implements HTTPConnection {
  gunzip = false;
  private mustClose = false;
  private detached = false;
  private ended = false;
  private closeCallbacks: (() => void)[] | null = null;
  private timedOut = false;
  private body: Promise<Buffer> | undefined;
  private bodyMax = 0;
  private bodyWaiter: { resolve: (body: Buffer | Promise<Buffer>) => void; reject: (error: unknown) => void } | undefined;
  // The handler's own body limit (`setMaxBodySize`), over the server's.
  private maxBodyOverride: number | undefined;

  constructor(
    private readonly server: ConnectionHost,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
  ) {
    // The server's idle-request timeout finds the connection from the socket's response.
    (res as ServerResponse & { [kConnection]: NodeHTTPConnection })[kConnection] = this;
  }

  // Node marks the response destroyed when its socket closes (and once it has been sent).
  // Once detached, the response is someone else's: nothing more is written here; once timed
  // out, the server has answered for the handler.
  get closed(): boolean {
    return this.detached || this.timedOut || this.res.destroyed;
  }

  /**
   * Answers for a handler that let its connection sit idle past `idleRequestTimeout`: 408 if
   * the body had not all arrived, else 503; a response already started is cut. The connection
   * closes either way, and the handler's later writes go nowhere.
   */
  timeOut(): void {
    if (this.closed) return;
    if (this.res.headersSent) {
      this.abort();
    } else {
      const status = this.req.complete ? 503 : 408;
      this.mustClose = true;
      this.respond(status, responses[status]!, errorHeaders(), errorPage(status));
    }
    this.timedOut = true;
    this.end();
  }

  get headersSent(): boolean {
    return this.res.headersSent;
  }

  abort(): void {
    this.res.destroy();
  }

  detach(): { req: IncomingMessage; res: ServerResponse } | null {
    if (this.detached || this.res.headersSent) return null;
    this.detached = true;
    if (this.server.closing || this.server.noKeepAlive) this.res.shouldKeepAlive = false;
    this.res.once("close", () => this.end());
    return { req: this.req, res: this.res };
  }

  get bodyExpected(): boolean {
    const raw = this.req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      if (name.length === 14 && isNamed(name, "content-length")) return raw[i + 1] !== "0";
      if (name.length === 17 && isNamed(name, "transfer-encoding")) return true;
    }
    return false;
  }

  // The close listener is added only when someone asks: most requests never need it.
  onClose(callback: () => void): void {
    if (this.ended) return;
    if (this.closeCallbacks === null) {
      this.closeCallbacks = [];
      this.res.once("close", onResponseClose);
    }
    this.closeCallbacks.push(callback);
  }

  handleClose(): void {
    const callbacks = this.closeCallbacks;
    this.closeCallbacks = null;
    if (this.ended || callbacks === null) return;
    for (const callback of callbacks) callback();
  }

  closeAfterResponse(): void {
    this.mustClose = true;
  }

  // The request leaves the in-flight count when its response has been handed to node.
  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.server.requestDone();
  }

  private headerList(headers: HTTPHeaders): string[] {
    const flat = headers.toFlat() as string[];
    // A body we never read (the request was refused first), or a streamed one answered before
    // its end, is not drained: the connection closes.
    const unreadBody = this.body === undefined ? this.bodyExpected : !this.req.complete;
    const close = this.mustClose || unreadBody || this.server.closing || this.server.noKeepAlive;
    return close ? [...flat, "Connection", "close"] : flat;
  }

  respond(status: number, reason: string, headers: HTTPHeaders, body: string | Buffer | null): void {
    if (!this.closed) {
      this.res.writeHead(status, reason, this.headerList(headers));
      this.res.end(body ?? undefined);
    }
    this.end();
  }

  writeHeaders(status: number, reason: string, headers: HTTPHeaders): void {
    if (this.closed) return;
    this.res.writeHead(status, reason, this.headerList(headers));
  }

  write(chunk: string | Buffer): Promise<void> {
    if (this.closed) return Promise.reject(new StreamClosedError());
    if (this.res.write(chunk)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => {
        this.res.off("drain", done);
        this.res.off("close", done);
        if (this.res.destroyed && !this.res.writableFinished) reject(new StreamClosedError());
        else resolve();
      };
      this.res.on("drain", done);
      this.res.on("close", done);
    });
  }

  finish(): void {
    if (!this.closed) this.res.end();
    this.end();
  }

  readBody(): Promise<Buffer> {
    this.body ??= this.receiveBody();
    return this.body;
  }

  /**
   * Sets the largest body this request may have, over the server's limits (Tornado's
   * `connection.set_max_body_size`); call it before the body is read (in `prepare()` of a
   * handler with `streamRequestBody`). A bigger body is a 413 and the connection closes.
   *
   * @example
   * prepare() { this.request.connection?.setMaxBodySize?.(2 * 1024 ** 3); }
   */
  setMaxBodySize(bytes: number): void {
    if (!(bytes >= 0)) throw new RangeError(`setMaxBodySize() takes a number of bytes of 0 or more, not ${String(bytes)}`);
    this.maxBodyOverride = bytes;
  }

  /**
   * Reads the body chunk by chunk into `onChunk` (decompressed if `decompressRequest` applies),
   * within the body limit (`setMaxBodySize`, else the server's `maxBodySize`), its rate and
   * timeout. While a promise `onChunk` returned is pending the socket is paused (back-pressure);
   * the time it waits does not count against `minBodyRate`. Rejects with what `onChunk`
   * throws, an `HTTPInputError` (413, 408, 400) or a `StreamClosedError` when the client goes.
   *
   * @example
   * await connection.streamBody(async (chunk) => { await file.write(chunk); });
   */
  streamBody(onChunk: (chunk: Buffer) => void | Promise<void>): Promise<void> {
    if (this.body !== undefined) return Promise.reject(new Error("The body has already been read"));
    const { req, res, server } = this;
    const max = this.maxBodyOverride ?? server.limits.maxBodySize;
    const declared = req.headers["content-length"];
    let done: Promise<void>;
    if (declared !== undefined && Number(declared) > max) done = this.fail(new HTTPInputError("Content-Length too long", 413));
    else {
      if (req.headers.expect?.toLowerCase() === "100-continue" && !res.headersSent) res.writeContinue();
      done = this.receiveStream(max, onChunk).then(() => {});
    }
    this.body = done.then(() => EMPTY);
    this.body.catch(() => {});
    return done;
  }

  private fail(error: Error): Promise<never> {
    return Promise.reject(this.failed(error));
  }

  private receiveBody(): Promise<Buffer> {
    const { req, res, server } = this;
    const limits = server.limits;
    const max = this.maxBodyOverride ?? bodyLimitFor(req.headers["content-type"], limits);
    const declared = req.headers["content-length"];
    if (declared !== undefined && Number(declared) > max) return this.fail(new HTTPInputError("Content-Length too long", 413));
    if (req.headers.expect?.toLowerCase() === "100-continue" && !res.headersSent) res.writeContinue();
    // Most bodies arrive in the same packet as the head. The handler asks for the body while
    // node's parser is still at the head; once the packet has been parsed (in this turn of the
    // event loop), the whole body waits in `req`'s buffer and is taken at once, with no
    // listeners or timers. A body still on its way is streamed in, within the limits.
    if (!this.gunzip) {
      this.bodyMax = max;
      return new Promise<Buffer>((resolve, reject) => {
        this.bodyWaiter = { resolve, reject };
        if (waitingBodies.push(this) === 1) setImmediate(takeWaitingBodies);
      });
    }
    return this.receiveStream(max);
  }

  /**
   * Settles `readBody()`: from node's buffer if the whole body is there, else streamed in.
   * @internal
   */
  takeBody(): void {
    const waiter = this.bodyWaiter!;
    this.bodyWaiter = undefined;
    try {
      waiter.resolve(this.bufferedBody() ?? this.receiveStream(this.bodyMax));
    } catch (e) {
      waiter.reject(e);
    }
  }

  // The body in `req`'s buffer if node has all of it, else null.
  private bufferedBody(): Buffer | null {
    const req = this.req;
    if (!req.complete || req.readableFlowing !== null) return null;
    const size = req.readableLength;
    if (size > this.bodyMax) throw this.failed(new HTTPInputError("body too large", 413));
    const body = req.read() as Buffer | null; // all of it (an empty body: null, and node sees its end)
    if (body === null && size > 0) return null;
    return body ?? EMPTY;
  }

  private failed(error: Error): Error {
    this.mustClose = true;
    return error;
  }

  // The body, whole or (with `sink`) chunk by chunk; with a sink it resolves to an empty Buffer.
  private receiveStream(max: number, sink?: (chunk: Buffer) => void | Promise<void>): Promise<Buffer> {
    const { req, server } = this;
    const limits = server.limits;
    // Gone before its body came (its close event has passed: nothing more will arrive).
    if (req.destroyed) return this.fail(new StreamClosedError("Connection closed while reading the body"));
    return new Promise<Buffer>((resolve, reject) => {
      let source: Readable = req;
      let gunzip: Gunzip | undefined;
      if (this.gunzip) {
        gunzip = createGunzip();
        req.pipe(gunzip);
        source = gunzip;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      // Bytes off the wire, for the rate check (the decompressed size is `size`).
      let received = 0;
      const started = Date.now();
      let timer: NodeJS.Timeout | undefined;
      let rateTimer: NodeJS.Timeout | undefined;
      // With a sink: its pending promise (the source is paused meanwhile), and the time spent
      // waiting on it, which the rate check leaves out.
      let pending: Promise<void> | undefined;
      let pausedSince = 0;
      let pausedTotal = 0;
      let settled = false;
      const cleanup = () => {
        settled = true;
        clearTimeout(timer);
        clearTimeout(rateTimer);
        source.off("data", onData);
        source.off("end", onEnd);
        source.off("error", onError);
        req.off("close", onClose);
        if (gunzip) req.off("data", onRawData);
      };
      const fail = (error: Error) => {
        cleanup();
        this.mustClose = true;
        if (gunzip) {
          // Stop inflating at once: what zlib still holds would be thrown away anyway.
          req.unpipe(gunzip);
          gunzip.destroy();
        }
        req.pause();
        reject(error);
      };
      const onRawData = (chunk: Buffer) => {
        received += chunk.length;
      };
      const onData = (chunk: Buffer) => {
        size += chunk.length;
        if (!gunzip) received = size;
        if (size > max) fail(new HTTPInputError(gunzip ? "decompressed body too large" : "body too large", 413));
        else if (sink === undefined) chunks.push(chunk);
        else deliver(sink, chunk);
      };
      const deliver = (sink: (chunk: Buffer) => void | Promise<void>, chunk: Buffer) => {
        let result: void | Promise<void>;
        try {
          result = sink(chunk);
        } catch (e) {
          fail(e as Error);
          return;
        }
        if (result === undefined || typeof result.then !== "function") return;
        source.pause();
        pausedSince = Date.now();
        pending = result.then(
          () => {
            pending = undefined;
            pausedTotal += Date.now() - pausedSince;
            if (!settled) source.resume();
          },
          (e: unknown) => fail(e as Error),
        );
      };
      const onEnd = () => {
        if (pending !== undefined) {
          void pending.then(() => settled || onEnd());
          return;
        }
        cleanup();
        resolve(chunks.length === 1 ? chunks[0]! : chunks.length === 0 ? EMPTY : Buffer.concat(chunks, size));
      };
      const onError = (error: Error) => {
        fail(gunzip ? new HTTPInputError(`Invalid gzip body: ${error.message}`) : new StreamClosedError("Connection closed while reading the body", { cause: error }));
      };
      const onClose = () => {
        if (!req.complete) fail(new StreamClosedError("Connection closed while reading the body"));
      };
      // After the grace period the average rate since the body started must stay at or above
      // minBodyRate (a body trickled a byte at a time would otherwise hold the connection for
      // as long as the client likes). The next check is when the bytes so far stop sufficing.
      const checkRate = () => {
        const rate = limits.minBodyRate;
        const elapsed = Date.now() - started - pausedTotal - (pending !== undefined ? Date.now() - pausedSince : 0);
        if (received < (rate * elapsed) / 1000) {
          fail(new HTTPInputError(`Body arrived slower than ${rate} bytes/s`, 408));
        } else {
          rateTimer = setTimeout(checkRate, Math.max(100, (received / rate) * 1000 - elapsed));
        }
      };
      source.on("data", onData);
      source.on("end", onEnd);
      source.on("error", onError);
      req.on("close", onClose);
      if (gunzip) req.on("data", onRawData);
      if (server.bodyTimeout !== undefined) {
        timer = setTimeout(() => fail(new HTTPInputError("Timeout reading body", 408)), server.bodyTimeout);
      }
      if (limits.minBodyRate > 0) rateTimer = setTimeout(checkRate, limits.bodyRateGracePeriod);
    });
  }
}

// The connections whose handlers wait for a body, taken together once per turn of the event
// loop (after node has parsed what the sockets brought).
let waitingBodies: NodeHTTPConnection[] = [];

function takeWaitingBodies(): void {
  const connections = waitingBodies;
  waitingBodies = [];
  for (const connection of connections) connection.takeBody();
}

// Whether header name `name` is `lower` (lower-case, same length), ignoring ASCII case.
function isNamed(name: string, lower: string): boolean {
  if (name === lower) return true;
  for (let i = 0; i < name.length; i++) {
    let c = name.charCodeAt(i);
    if (c >= 65 && c <= 90) c |= 0x20;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

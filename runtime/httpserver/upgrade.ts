/**
 * The server side of a request that came with `Connection: Upgrade`. Node hands such requests
 * to the server's `upgrade` event with the bare socket instead of a `ServerResponse`, so this
 * connection writes HTTP/1.1 itself: a `WebSocketHandler` switches the socket to the WebSocket
 * protocol, and any other answer (an error, or a plain handler ignoring the upgrade, as
 * Tornado does with `Upgrade: h2c`) is written as a raw response after which the socket is
 * closed.
 */

import type { IncomingMessage, ServerResponse } from "node:http";

// node:http through getBuiltinModule (as in httputil/request.ts): an ES import of it reads every
// export, and its lazy WebSocket exports load undici.
const nodeHttp = () => process.getBuiltinModule("node:http");
import type { Socket } from "node:net";
import { Duplex } from "node:stream";
import { HTTPInputError } from "../httputil/body.js";
import { isSafeHeaderValue, type HTTPHeaders } from "../httputil/headers.js";
import type { HTTPConnection } from "../httputil/request.js";
import { StreamClosedError } from "../iostream.js";

/**
 * An open upgraded connection (a WebSocket), as the server sees it when it shuts down.
 *
 * @example
 * const session = { goAway: (code, reason) => ws.close(code, reason), terminate: () => ws.terminate() };
 * connection.adopt(session); // … and once it has closed: connection.release(session);
 */
export interface UpgradedConnection {
  /** Starts a clean close with this code: 1001 when the server shuts down, 1012 on a dev restart. */
  goAway(code: number, reason: string): void;
  /** Cuts the connection at once (the drain timeout has passed). */
  terminate(): void;
}

/**
 * What an `UpgradeConnection` needs from its server.
 *
 * @example
 * new UpgradeConnection(req, socket, head, { maxBodySize, bodyTimeout, done, adopt, release });
 */
export interface UpgradeHost {
  readonly maxBodySize: number;
  readonly bodyTimeout: number | undefined;
  /** Called once when the request is answered (or its socket is gone): it leaves the in-flight count. */
  done(): void;
  /**
   * Keeps an upgraded connection for a graceful shutdown, until `release`. With its socket, the
   * server stops tracking that socket: cutting the connection (`terminate`) closes it.
   */
  adopt(connection: UpgradedConnection, socket?: Duplex): void;
  /** Forgets an upgraded connection that has closed. */
  release(connection: UpgradedConnection): void;
}

const MAX_CHUNK_LINE = 4096;
const EMPTY = Buffer.alloc(0);
const NO_CALLBACKS: readonly (() => void)[] = Object.freeze([]);

function noop(): void {}

function ignoreSocketError(): void {}

// Node's socket caches its peer's address ({ address, family, port }) once read (the request's
// remoteIp was), for the socket's life; a socket without it reads it again when asked. Only a
// cached one is dropped: a Node without the field keeps whatever it has.
function dropCachedPeername(socket: Duplex): void {
  const holder = socket as unknown as { _peername?: object };
  if (holder._peername !== undefined) holder._peername = undefined;
}

/**
 * `HTTPConnection` over the socket of an upgrade request: raw HTTP/1.1 responses (always with
 * `Connection: close`), a body read by `Content-Length` or chunked, and `switchProtocols()` for
 * handing the socket over to another protocol.
 *
 * @example
 * const connection = new UpgradeConnection(req, socket, head, host);
 * connection.respond(403, "Forbidden", headers, "no");
 */
export class UpgradeConnection implements HTTPConnection {
  private ended = false;
  private started = false;
  private switched = false;
  private closeCallbacks: (() => void)[] = [];
  private body: Promise<Buffer> | undefined;
  // Until the request is answered: then (a WebSocket may stay open for days) neither this
  // listener nor the callbacks are kept.
  private onSocketClose: () => void;

  constructor(
    /**
     * Node's request: its headers are final. Up to Node 24 it ends empty and the body is left
     * in `head` and on the socket; from Node 26 it streams the body (see `upgradeBodyOnRequest`).
     */
    readonly req: IncomingMessage,
    /** The connection: from Node 26, node's wrapper around it while a body is still arriving. */
    readonly socket: Duplex,
    /**
     * Bytes that arrived after what node parsed: the start of a body up to Node 24, else the
     * start of the next protocol (WebSocket frames). Empty once the socket switched protocols
     * (the new protocol has taken them; node's read buffer is not kept alive for them).
     */
    public head: Buffer,
    private readonly host: UpgradeHost,
  ) {
    this.onSocketClose = () => {
      const callbacks = this.closeCallbacks;
      this.closeCallbacks = NO_CALLBACKS as (() => void)[];
      if (!this.ended) for (const callback of callbacks) callback();
      this.end();
    };
    socket.once("close", this.onSocketClose);
    // Node removed its own listeners from the socket: without one, a reset would throw.
    socket.on("error", ignoreSocketError);
  }

  get closed(): boolean {
    return this.socket.destroyed;
  }

  /** Whether a status line has been written (or the socket switched protocols). */
  get headersSent(): boolean {
    return this.started;
  }

  get bodyExpected(): boolean {
    const headers = this.req.headers;
    if (headers["transfer-encoding"] !== undefined) return true;
    const length = headers["content-length"];
    return length !== undefined && length !== "0";
  }

  /**
   * Switches the socket to another protocol: `handshake` writes the `101 Switching Protocols`
   * response itself and sets up the new protocol on the socket, synchronously, returning true;
   * or returns false having written nothing (the request is then answered as usual). After a
   * switch the handler's `finish()` only counts the request as answered, nothing else is
   * written here, and the new protocol handles the socket's errors (it has its own `error`
   * listener).
   */
  switchProtocols(handshake: () => boolean): boolean {
    if (this.started) throw new Error("Cannot switch protocols after a response was started");
    // This close listener leaves before the new protocol adds its own: node's list of a
    // socket's listeners keeps the room it once grew to (a third listener grows it to 19
    // slots), for the WebSocket's whole life. Nothing can close the socket in between.
    this.socket.off("close", this.onSocketClose);
    if (!handshake()) {
      this.socket.once("close", this.onSocketClose);
      return false;
    }
    this.started = true;
    this.switched = true;
    this.head = EMPTY;
    // The new protocol's own listener (`ws` has added one) handles the socket's errors now.
    this.socket.off("error", ignoreSocketError);
    // Node's header dictionary (built when first read, kept for the socket's lifetime) is let
    // go; node builds it again from `rawHeaders` if anyone reads `req.headers` later.
    (this.req as { headers: IncomingMessage["headers"] | null }).headers = null;
    dropCachedPeername(this.socket);
    return true;
  }

  /**
   * What the request keeps as its connection once the socket has switched protocols: it only
   * knows whether the socket has closed (see `SwitchedConnection`), so that neither this
   * connection nor node's request stays alive as long as the WebSocket does.
   *
   * @example
   * request._switchedProtocols(connection.detachedConnection());
   */
  detachedConnection(): SwitchedConnection {
    return new SwitchedConnection(this.socket);
  }

  /**
   * The server this connection reports to (a WebSocket releases itself there once closed).
   *
   * @example
   * connection.upgradeHost.release(session);
   */
  get upgradeHost(): UpgradeHost {
    return this.host;
  }

  /**
   * Hands the request to a node request listener (`FallbackHandler`) with a `ServerResponse`
   * written on this socket, the upgrade ignored (as Tornado ignores `Upgrade: h2c`); the socket
   * closes after that response. `null` when the request has a body: up to Node 24 node has
   * already ended the request stream of an upgrade request (the body is left on the socket),
   * so a listener could not read it; Node 26 would stream it, but one answer on every Node is
   * kept (a request without a body always has the socket itself, never node's wrapper).
   */
  detach(): { req: IncomingMessage; res: ServerResponse } | null {
    if (this.started || this.closed || this.bodyExpected) return null;
    this.started = true;
    this.switched = true;
    const res = new (nodeHttp().ServerResponse)(this.req);
    res.shouldKeepAlive = false;
    res.assignSocket(this.socket as Socket);
    res.once("finish", () => this.endSocket());
    return { req: this.req, res };
  }

  /** Keeps an upgraded connection for the server's graceful shutdown (see `UpgradeHost.adopt`). */
  adopt(connection: UpgradedConnection): void {
    this.host.adopt(connection, this.socket);
  }

  /** Forgets an upgraded connection once it has closed (see `UpgradeHost.release`). */
  release(connection: UpgradedConnection): void {
    this.host.release(connection);
  }

  onClose(callback: () => void): void {
    if (!this.ended) this.closeCallbacks.push(callback);
  }

  // Every response on this socket closes it: after an upgrade request the client expects
  // either the new protocol or the end of the connection.
  closeAfterResponse(): void {}

  respond(status: number, reason: string, headers: HTTPHeaders, body: string | Buffer | null): void {
    if (!this.switched && !this.started && !this.closed) {
      this.writeHead(status, reason, headers);
      if (body !== null && this.req.method !== "HEAD") this.socket.write(body);
      this.endSocket();
    }
    this.end();
  }

  writeHeaders(status: number, reason: string, headers: HTTPHeaders): void {
    if (this.started || this.closed) return;
    // No Content-Length: the body ends when the connection does (RFC 9112 §6.3, rule 8).
    this.writeHead(status, reason, headers);
  }

  write(chunk: string | Buffer): Promise<void> {
    if (this.closed || this.socket.writableEnded) return Promise.reject(new StreamClosedError());
    if (this.req.method === "HEAD") return Promise.resolve();
    if (this.socket.write(chunk)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => {
        this.socket.off("drain", done);
        this.socket.off("close", done);
        if (this.socket.destroyed && !this.socket.writableFinished) reject(new StreamClosedError());
        else resolve();
      };
      this.socket.on("drain", done);
      this.socket.on("close", done);
    });
  }

  finish(): void {
    if (!this.switched && !this.closed) this.endSocket();
    this.end();
  }

  /** Cuts the connection (after an error once the response has started). */
  abort(): void {
    this.socket.destroy();
    this.end();
  }

  readBody(): Promise<Buffer> {
    this.body ??= this.receiveBody();
    return this.body;
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    // Once answered, the socket's close changes nothing here (callbacks run only before).
    this.socket.off("close", this.onSocketClose);
    this.onSocketClose = noop;
    this.closeCallbacks = NO_CALLBACKS as (() => void)[];
    this.host.done();
  }

  // Throws before writing anything when a value could not go out as it is (as node's
  // writeHead() does on the other path): the head is written as Latin-1, where a character
  // above U+00FF would lose its high byte and U+010D U+010A would become CR LF.
  private writeHead(status: number, reason: string, headers: HTTPHeaders): void {
    if (!isSafeHeaderValue(reason)) throw new TypeError(`Unsafe reason phrase ${JSON.stringify(reason)}`);
    let head = `HTTP/1.1 ${status} ${reason}\r\n`;
    const flat = headers.toFlat();
    let hasDate = false;
    for (let i = 0; i < flat.length; i += 2) {
      const name = flat[i]!;
      const value = flat[i + 1]!;
      if (!isSafeHeaderValue(name) || /[\s:]/.test(name) || !isSafeHeaderValue(value)) {
        throw new TypeError(`Unsafe response header ${JSON.stringify(name)}: ${JSON.stringify(value)}`);
      }
      const lower = name.toLowerCase();
      if (lower === "connection" || lower === "transfer-encoding") continue;
      if (lower === "date") hasDate = true;
      head += `${name}: ${value}\r\n`;
    }
    this.started = true;
    if (!hasDate) head += `Date: ${new Date().toUTCString()}\r\n`;
    this.socket.write(`${head}Connection: close\r\n\r\n`, "latin1");
  }

  // As node's own `Connection: close` responses: end, then destroy once the data is flushed
  // (the server's sockets allow half-open connections, which would otherwise linger).
  private endSocket(): void {
    this.socket.once("finish", () => this.socket.destroy());
    this.socket.end();
  }

  private async receiveBody(): Promise<Buffer> {
    const { req, socket, host } = this;
    const max = host.maxBodySize;
    const chunked = req.headers["transfer-encoding"] !== undefined;
    const declared = Number(req.headers["content-length"] ?? 0);
    if (!chunked && declared > max) throw new HTTPInputError("Content-Length too long", 413);
    if (!chunked && !(declared > 0)) return Buffer.alloc(0);
    if (req.headers.expect?.toLowerCase() === "100-continue" && !this.started) socket.write("HTTP/1.1 100 Continue\r\n\r\n");
    const onRequest = await upgradeBodyOnRequest();
    if (socket.destroyed) throw new StreamClosedError("Connection closed while reading the body");
    return new Promise<Buffer>((resolve, reject) => {
      // Node 26 parses the body itself (de-chunked, its length checked) and streams it on
      // `req`; older versions leave the raw bytes in `head` and on the socket.
      const decoder = !onRequest && chunked ? new ChunkedDecoder(max) : null;
      const parts: Buffer[] = [];
      let size = 0;
      let timer: NodeJS.Timeout | undefined;
      const cleanup = () => {
        clearTimeout(timer);
        socket.off("data", onRawData);
        socket.off("close", onClose);
        socket.off("end", onEnd);
        req.off("data", onParsedData);
        req.off("end", onParsedEnd);
        req.off("error", onClose);
      };
      const fail = (error: Error) => {
        cleanup();
        (onRequest ? req : socket).pause();
        reject(error);
      };
      const onParsedData = (chunk: Buffer) => {
        size += chunk.length;
        if (size > max) fail(new HTTPInputError("body too large", 413));
        else parts.push(chunk);
      };
      const onParsedEnd = () => {
        cleanup();
        resolve(Buffer.concat(parts, size));
      };
      const onRawData = (chunk: Buffer) => {
        if (decoder !== null) {
          try {
            if (decoder.feed(chunk)) {
              cleanup();
              resolve(decoder.body());
            }
          } catch (e) {
            fail(e as Error);
          }
          return;
        }
        const wanted = declared - size;
        parts.push(chunk.length > wanted ? chunk.subarray(0, wanted) : chunk);
        size += Math.min(chunk.length, wanted);
        if (size === declared) {
          cleanup();
          resolve(Buffer.concat(parts, size));
        }
      };
      // A body node has parsed in full is still read after its connection closed.
      const onClose = () => {
        if (!(onRequest && req.complete)) fail(new StreamClosedError("Connection closed while reading the body"));
      };
      socket.on("close", onClose);
      // A client that half-closes (sends its FIN) mid-body sends no more of it: up to Node 24 the
      // socket then gets 'end' and no 'close', and the request would wait for bytes that never
      // come. The request cannot complete, so the connection goes, as if the client had closed.
      const onEnd = () => {
        socket.destroy();
        onClose();
      };
      if (!onRequest) socket.on("end", onEnd);
      if (host.bodyTimeout !== undefined) {
        timer = setTimeout(() => fail(new HTTPInputError("Timeout reading body", 408)), host.bodyTimeout);
      }
      if (onRequest) {
        req.on("error", onClose);
        req.on("end", onParsedEnd);
        req.on("data", onParsedData);
        return;
      }
      if (this.head.length > 0) onRawData(this.head);
      if (size < declared || decoder !== null) socket.on("data", onRawData);
    });
  }
}

let bodyOnRequest: Promise<boolean> | undefined;

/**
 * Whether this Node delivers the body of an upgrade request on the request stream (Node 26,
 * nodejs/node#60016) instead of leaving it to the `upgrade` listener (in `head`, then on the
 * socket). A request alone cannot always tell: up to Node 24 a head that arrived before its
 * chunked body looks like an empty chunked body on Node 26 (`head` empty, `req` complete). So
 * it is decided once, by letting a node server parse a one-byte upgrade request on an
 * in-memory stream (any Duplex can be a server's connection) and seeing where the byte went.
 */
function upgradeBodyOnRequest(): Promise<boolean> {
  bodyOnRequest ??= new Promise<boolean>((resolve) => {
    const server = new (nodeHttp().Server)();
    const stream = new Duplex({
      read() {},
      write(_chunk, _encoding, callback) {
        callback();
      },
    });
    server.on("upgrade", (_req: IncomingMessage, _socket: Duplex, head: Buffer) => {
      resolve(head.length === 0);
      stream.destroy();
    });
    // Not expected: then Node's major version decides.
    const byVersion = () => resolve(Number(process.versions.node.split(".")[0]) >= 26);
    server.on("clientError", byVersion);
    stream.on("close", byVersion);
    server.emit("connection", stream);
    stream.push("POST / HTTP/1.1\r\nHost: probe\r\nConnection: Upgrade\r\nUpgrade: probe\r\nContent-Length: 1\r\n\r\nx");
    stream.push(null);
  });
  return bodyOnRequest;
}

/** Decodes a chunked body (RFC 9112 §7.1), trailers skipped, within a size limit. */
class ChunkedDecoder {
  private pending: Buffer = Buffer.alloc(0);
  private parts: Buffer[] = [];
  private size = 0;
  // Bytes of data left in the current chunk, or -1 while a size line is expected.
  private left = -1;
  private inTrailers = false;

  constructor(private readonly max: number) {}

  /** Takes the next bytes; true once the whole body has arrived. */
  feed(chunk: Buffer): boolean {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    for (;;) {
      if (this.left > 0) {
        const take = Math.min(this.left, this.pending.length);
        if (take === 0) return false;
        this.parts.push(this.pending.subarray(0, take));
        this.pending = this.pending.subarray(take);
        this.left -= take;
        continue;
      }
      const lineEnd = this.pending.indexOf("\r\n");
      if (lineEnd < 0) {
        if (this.pending.length > MAX_CHUNK_LINE) throw new HTTPInputError("chunk line too long");
        return false;
      }
      const line = this.pending.subarray(0, lineEnd).toString("latin1");
      this.pending = this.pending.subarray(lineEnd + 2);
      if (this.inTrailers) {
        if (line === "") return true;
        continue;
      }
      if (this.left === 0) {
        // The CRLF after a chunk's data.
        if (line !== "") throw new HTTPInputError("improperly terminated chunked request");
        this.left = -1;
        continue;
      }
      const sizeText = line.split(";", 1)[0]!.trim();
      if (!/^[0-9a-fA-F]{1,15}$/.test(sizeText)) throw new HTTPInputError(`invalid chunk size ${JSON.stringify(sizeText)}`);
      const chunkSize = parseInt(sizeText, 16);
      if (chunkSize === 0) {
        this.inTrailers = true;
        continue;
      }
      this.size += chunkSize;
      if (this.size > this.max) throw new HTTPInputError("body too large", 413);
      this.left = chunkSize;
    }
  }

  body(): Buffer {
    return Buffer.concat(this.parts, this.size);
  }
}

/**
 * The connection of a request whose socket speaks another protocol now (a WebSocket after its
 * `101`): the HTTP exchange is over, so it answers nothing (`respond`, `finish` and the like do
 * nothing, `write` rejects) and only tells whether the socket has closed. Tornado's request keeps
 * a detached connection the same way.
 *
 * @example
 * this.request.connection?.closed // false while the WebSocket is open
 */
export class SwitchedConnection implements HTTPConnection {
  constructor(
    /** The socket, now the new protocol's. */
    readonly socket: Duplex,
  ) {}

  get closed(): boolean {
    return this.socket.destroyed;
  }

  get bodyExpected(): boolean {
    return false;
  }

  readBody(): Promise<Buffer> {
    return Promise.resolve(EMPTY);
  }

  respond(): void {}

  writeHeaders(): void {}

  write(): Promise<void> {
    return Promise.reject(new StreamClosedError("The connection has switched protocols"));
  }

  finish(): void {}

  // The response (the 101) is finished: there is nothing left to interrupt.
  onClose(): void {}

  closeAfterResponse(): void {}
}

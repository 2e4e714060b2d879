/** `WebSocketHandler`: Tornado's WebSocket handler model over the `ws` wire protocol. */

import type { IncomingMessage } from "node:http";
import { WebSocketServer, type WebSocket } from "ws";
import { jsonEncode } from "../escape.js";
import { UpgradeConnection, type UpgradeHost } from "../httpserver/upgrade.js";
import { genLog } from "../log.js";
import { HTTPError } from "../web/errors.js";
import { RequestHandler } from "../web/handler.js";
import { WebSocketClosedError } from "./errors.js";
import { DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_MAX_OUTGOING_BUFFER, type CompressionOptions } from "./options.js";
import { deflateOptions, SessionWebSocket, WebSocketSession, type SessionDelegate } from "./session.js";

/**
 * What `writeMessage` takes: text, bytes (sent as a binary message), or an object or array
 * (sent as JSON text).
 *
 * @example
 * const messages: WebSocketMessage[] = ["hi", Buffer.from([1, 2]), { type: "join", room: "a" }];
 */
export type WebSocketMessage = string | Buffer | Uint8Array | object;

const SUPPORTED_VERSIONS = ["7", "8", "13"];
// RFC 6455 §4.1: the key is 16 random bytes in base64.
const KEY = /^[+/0-9A-Za-z]{22}==$/;
// RFC 9110 §5.6.2 token, for subprotocol names.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Headers the handshake writes itself; the handler's other headers join its 101 response.
const HANDSHAKE_HEADERS = new Set([
  "connection",
  "upgrade",
  "content-type",
  "content-length",
  "transfer-encoding",
  "sec-websocket-accept",
  "sec-websocket-protocol",
  "sec-websocket-extensions",
]);

/**
 * Base class for WebSocket handlers: subclass it, route a path to it, and define `open`,
 * `onMessage` and `onClose`. The handshake is an ordinary GET through the application, so
 * `initialize`, `prepare()` (authentication, say) and path groups work as in any handler;
 * `open(...pathArgs)` runs once the connection is up.
 *
 * The handshake answers, as Tornado: 400 to a request without `Upgrade: websocket` and
 * `Connection: Upgrade`, 403 when `checkOrigin` refuses the `Origin`, 426 (with
 * `Sec-WebSocket-Version: 7, 8, 13`) to another protocol version, 405 to other methods.
 * No frame is read before `open()` has returned (or its promise resolved). Messages reach
 * `onMessage` in order, one at a time: when it returns a promise, the next message waits for
 * it, and nothing more is read from the client meanwhile, so `await this.writeMessage(...)` in
 * `onMessage` makes a client that does not read its answers stop sending. `onClose` runs once,
 * after the last message. An exception in `open`, `onMessage`, `onPing` or `onPong` is logged
 * and the connection is dropped.
 *
 * Settings: `websocketPingInterval` / `websocketPingTimeout` (ms; a peer that does not answer
 * a ping in time is closed), `websocketMaxMessageSize` (default 10 MiB; a bigger message closes
 * the connection with 1009), `websocketMaxOutgoingBuffer` (default 4 MiB: when more than this
 * waits to be sent, from messages not awaited or pongs a client does not read, the connection
 * is closed with 1008 and a warning is logged on `tornado.general`).
 *
 * @example
 * class EchoSocket extends WebSocketHandler {
 *   async onMessage(message: string | Buffer) { await this.writeMessage(message); }
 * }
 * class ChatSocket extends WebSocketHandler {
 *   open(room: string) { rooms.join(room, this); }
 *   async onMessage(message: string | Buffer) { await rooms.broadcast(this, String(message)); }
 *   onClose() { rooms.leave(this); }
 * }
 * new Application([["/chat/(\\w+)", ChatSocket]], { websocketPingInterval: 25_000 });
 */
export class WebSocketHandler extends RequestHandler implements SessionDelegate {
  /**
   * The close code the client sent, once closed (`null` if it sent none, or vanished).
   *
   * @example
   * onClose() { if (this.closeCode === 1001) log.info("client navigated away"); }
   */
  closeCode: number | null = null;
  /**
   * The close reason the client sent, once closed (`null` if none).
   *
   * @example
   * onClose() { log.info(`closed: ${this.closeReason ?? "no reason"}`); }
   */
  closeReason: string | null = null;
  private session: WebSocketSession | undefined;
  // The server's registry of open WebSockets, which this one leaves once closed.
  private upgradeHost: UpgradeHost | undefined;

  /**
   * Performs the handshake, then calls `open(...pathArgs)`. Not to be overridden: define
   * `open` instead.
   *
   * @example
   * // routes: ["/ws/(\\w+)", EchoSocket] → GET /ws/lobby calls open("lobby")
   */
  async get(...pathArgs: (string | null)[]): Promise<void> {
    const { request } = this;
    // HEAD reaches get() when a handler has no head(): a WebSocket route takes only GET.
    if (request.method !== "GET") throw new HTTPError(405, undefined, { headers: { Allow: "GET" } });
    const headers = request.headers;
    if (headers.get("Upgrade")?.toLowerCase() !== "websocket") return this.refuse(400, 'Can "Upgrade" only to "WebSocket".');
    const connectionTokens = (headers.get("Connection") ?? "").split(",").map((token) => token.trim().toLowerCase());
    if (!connectionTokens.includes("upgrade")) return this.refuse(400, '"Connection" must be "Upgrade".');
    // Version 8 clients sent the origin as Sec-WebSocket-Origin. No origin: not a browser,
    // which is allowed (browsers always send one).
    const origin = headers.get("Origin") ?? headers.get("Sec-WebSocket-Origin");
    if (origin !== undefined && !this.checkOrigin(origin)) return this.refuse(403, "Cross origin websockets not allowed");
    const version = headers.get("Sec-WebSocket-Version") ?? "";
    if (!SUPPORTED_VERSIONS.includes(version)) {
      this.setStatus(426, "Upgrade Required");
      this.setHeader("Sec-WebSocket-Version", SUPPORTED_VERSIONS.join(", "));
      this.finish();
      return;
    }
    if (!headers.get("Host") || !KEY.test(headers.get("Sec-WebSocket-Key") ?? "")) {
      return this.refuse(400, "Missing/Invalid WebSocket headers");
    }
    const offered = (headers.get("Sec-WebSocket-Protocol") ?? "")
      .split(",")
      .map((name) => name.trim())
      .filter((name) => name !== "");
    if (!offered.every((name) => TOKEN.test(name)) || new Set(offered).size !== offered.length) {
      return this.refuse(400, "Invalid Sec-WebSocket-Protocol header");
    }
    // Called exactly once, even with nothing offered, as Tornado.
    const selected = this.selectSubprotocol(offered);
    if (selected !== null && !offered.includes(selected)) {
      throw new Error(`selectSubprotocol() returned ${JSON.stringify(selected)}, which the client did not offer`);
    }
    const compression = this.getCompressionOptions();
    const connection = request.connection;
    if (!(connection instanceof UpgradeConnection)) {
      throw new Error("WebSocketHandler needs a request from HTTPServer (a connection that can switch protocols)");
    }
    const ws = this.acceptUpgrade(connection, selected, compression);
    if (typeof ws === "string") return this.refuse(400, ws);
    this.clearHeader("Content-Type");
    this._switchedProtocols();
    this.finish();
    // The handler stays as long as the WebSocket: what only the handshake needed goes (node's
    // request, the HTTP connection, the response's headers); the request stays readable.
    request._switchedProtocols(connection.detachedConnection());
    this._releaseResponse();
    this.upgradeHost = connection.upgradeHost;
    // The handler is the session's delegate: onMessage, onPing, onPong, logException.
    const session = new WebSocketSession(ws, this, {
      interval: this.pingInterval,
      timeout: this.pingTimeout,
      maxOutgoingBuffer: this.maxOutgoingBuffer,
      socket: connection.socket,
    });
    this.session = session;
    this.upgradeHost.adopt(session, connection.socket);
    try {
      const opened = this.open(...pathArgs);
      if (opened !== undefined && typeof (opened as Promise<void>).then === "function") await opened;
    } catch (e) {
      session.fail(e);
      return;
    }
    session.start();
  }

  /**
   * Called when the WebSocket is open, with the path groups (as `get` would be); may be async,
   * and no message is delivered before it returns.
   *
   * @example
   * async open(room: string) {
   *   this.user = await loadUser(this.getQueryArgument("token"));
   *   rooms.join(room, this);
   * }
   */
  open(..._pathArgs: (string | null)[]): void | Promise<void> {}

  /**
   * Called for each message: a string for a text message, a Buffer for a binary one. Messages
   * come in order; when this returns a promise, the next message waits for it (and nothing
   * more is read from the client meanwhile).
   *
   * @example
   * async onMessage(message: string | Buffer) { await this.writeMessage(message); } // echo, back-pressured
   */
  onMessage(_message: string | Buffer): void | Promise<void> {}

  /**
   * Called once when the WebSocket has closed (either side, or the network), after the last
   * `onMessage`; `closeCode` and `closeReason` hold what the client sent.
   *
   * @example
   * onClose() { rooms.leave(this); log.info(`left with ${this.closeCode}`); }
   */
  onClose(): void {}

  /**
   * Called when the client sends a ping (the pong is sent automatically).
   *
   * @example
   * onPing(data: Buffer) { this.lastSeen = Date.now(); }
   */
  onPing(_data: Buffer): void {}

  /**
   * Called when the client answers a ping (ours, or the keep-alive's).
   *
   * @example
   * onPong(data: Buffer) { this.latency = Date.now() - Number(data.toString()); }
   */
  onPong(_data: Buffer): void {}

  /**
   * Sends a message: a string as text, a Buffer (or Uint8Array) as binary, an object or array
   * as JSON text (through the `jsonEncoder` setting when set). Resolves once the message is
   * flushed to the socket, so `await` in a loop respects back-pressure; rejects with
   * `WebSocketClosedError` if the connection closes first (the rejection never goes
   * unhandled). Throws `WebSocketClosedError` at once when the connection is closed or closing.
   * When more than `maxOutgoingBuffer` bytes already wait to be sent, the message is refused
   * (the promise rejects with `WebSocketClosedError`) and the connection is closed with 1008.
   *
   * @example
   * await this.writeMessage({ type: "welcome", users: room.size });
   * this.writeMessage(Buffer.from(pngBytes)); // binary, not awaited
   */
  writeMessage(message: WebSocketMessage): Promise<void> {
    if (this.session === undefined) throw new WebSocketClosedError("WebSocket is not open");
    // Text and bytes go as they are; only an object needs the settings (for jsonEncoder).
    const data = typeof message === "string" || Buffer.isBuffer(message) ? message : encodeMessage(message, this.settings.jsonEncoder);
    return this.session.write(data);
  }

  /**
   * Starts closing the WebSocket with `code` (default 1000) and `reason` (at most 123 bytes);
   * the client has 5 s to complete the closing handshake, then the connection is cut.
   * `onClose` follows. Calling it again, or before the connection is open, does nothing.
   *
   * @example
   * if (!this.user) this.close(4001, "login first");
   */
  close(code?: number, reason?: string): void {
    this.session?.close(code, reason);
  }

  /**
   * Sends a ping (data at most 125 bytes); the answer arrives in `onPong`. For keep-alive,
   * prefer the `websocketPingInterval` setting. Throws `WebSocketClosedError` when closed.
   *
   * @example
   * this.ping(String(Date.now()));
   */
  ping(data?: string | Buffer): void {
    if (this.session === undefined) throw new WebSocketClosedError("WebSocket is not open");
    this.session.ping(data);
  }

  /**
   * Sends small messages at once (true) or lets them be combined into fewer packets (false):
   * the TCP no-delay flag of the connection, as Tornado's `set_nodelay`. Node's `ws` turns
   * no-delay on for every WebSocket, so `setNodelay(false)` is the call that changes something
   * here (Tornado starts with it off). Throws `WebSocketClosedError` before `open()`; does
   * nothing once the connection is closed.
   *
   * @example
   * override open() { this.setNodelay(false); } // a feed of many small updates: fewer packets
   */
  setNodelay(value: boolean): void {
    if (this.session === undefined) throw new WebSocketClosedError("WebSocket is not open");
    this.session.setNodelay(value);
  }

  /**
   * Chooses a subprotocol among those the client offered (`Sec-WebSocket-Protocol`), or `null`
   * for none (the default); called once per handshake, even when none were offered.
   *
   * @example
   * selectSubprotocol(offered: string[]) { return offered.includes("chat.v2") ? "chat.v2" : null; }
   */
  selectSubprotocol(_subprotocols: string[]): string | null {
    return null;
  }

  /**
   * The subprotocol chosen by `selectSubprotocol`, once open (`null` when none).
   *
   * @example
   * open() { if (this.selectedSubprotocol !== "chat.v2") this.close(4000, "old client"); }
   */
  get selectedSubprotocol(): string | null {
    return this.session?.protocol ?? null;
  }

  /**
   * Compression for this connection: `null` (the default) for none, or options (`{}` for the
   * defaults) to accept permessage-deflate when the client offers it.
   *
   * @example
   * getCompressionOptions() { return { compressionLevel: 5 }; }
   */
  getCompressionOptions(): CompressionOptions | null {
    return null;
  }

  /**
   * Whether to accept a connection from a page at `origin` (the `Origin` header; a client
   * without one is always accepted). The default accepts only the same host and port as the
   * request's `Host`, as Tornado: browsers let any site open a WebSocket to any other, so
   * widen this with care (a cookie-authenticated socket needs it most).
   *
   * @example
   * checkOrigin(origin: string) { return new URL(origin).hostname.endsWith(".example.com"); }
   */
  checkOrigin(origin: string): boolean {
    const netloc = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(origin)?.[1];
    return netloc !== undefined && netloc.toLowerCase() === this.request.host.toLowerCase();
  }

  /**
   * Milliseconds between keep-alive pings (0: none): the `websocketPingInterval` setting.
   *
   * @example
   * get pingInterval() { return 10_000; } // this handler pings more often than the others
   */
  get pingInterval(): number {
    return this.settings.websocketPingInterval ?? 0;
  }

  /**
   * Milliseconds a ping may go unanswered before the connection is closed: the
   * `websocketPingTimeout` setting, by default (and at most) the ping interval.
   *
   * @example
   * get pingTimeout() { return 5_000; }
   */
  get pingTimeout(): number | undefined {
    return this.settings.websocketPingTimeout;
  }

  /**
   * The largest message accepted, in bytes (after decompression): the `websocketMaxMessageSize`
   * setting, 10 MiB by default. A bigger one closes the connection with 1009.
   *
   * @example
   * get maxMessageSize() { return 64 * 1024; }
   */
  get maxMessageSize(): number {
    return this.settings.websocketMaxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  }

  /**
   * How many bytes may wait to be sent (messages not yet flushed, pongs) before the connection
   * is closed with 1008: the `websocketMaxOutgoingBuffer` setting, 4 MiB by default
   * (`Infinity`: no limit). A single message bigger than this still goes when nothing waits.
   *
   * @example
   * get maxOutgoingBuffer() { return 256 * 1024; } // a chat: small messages, slow readers closed early
   */
  get maxOutgoingBuffer(): number {
    return this.settings.websocketMaxOutgoingBuffer ?? DEFAULT_MAX_OUTGOING_BUFFER;
  }

  private refuse(status: number, message: string): void {
    this.setStatus(status);
    this.finish(message);
    genLog.debug(message);
  }

  // The handshake itself goes to `ws` (which validates it again and writes the 101); the
  // handler's own headers (cookies, say) join the response. A string is the reason `ws`
  // refused, which the checks above should have made impossible.
  private acceptUpgrade(connection: UpgradeConnection, selected: string | null, compression: CompressionOptions | null): WebSocket | string {
    const server = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: this.maxMessageSize,
      // The session answers pings, within maxOutgoingBuffer.
      autoPong: false,
      perMessageDeflate: compression === null ? false : deflateOptions(compression),
      handleProtocols: () => selected ?? false,
      // Its events reach the session without listeners (see SessionWebSocket).
      WebSocket: SessionWebSocket,
    });
    let refusal = "Missing/Invalid WebSocket headers";
    server.on("wsClientError", (error: Error) => (refusal = error.message));
    server.on("headers", (lines: string[]) => {
      const flat = this._responseHeaders().toFlat();
      for (let i = 0; i < flat.length; i += 2) {
        if (!HANDSHAKE_HEADERS.has(flat[i]!.toLowerCase())) lines.push(`${flat[i]}: ${flat[i + 1]}`);
      }
    });
    const req: IncomingMessage = connection.req;
    // Versions 7 and 8 frame as 13 does; `ws` knows only 8 and 13.
    if (req.headers["sec-websocket-version"] === "7") req.headers["sec-websocket-version"] = "13";
    let accepted: WebSocket | undefined;
    // Synchronous here: no async verifyClient, and deflate negotiation is synchronous.
    connection.switchProtocols(() => {
      server.handleUpgrade(req, connection.socket, connection.head, (ws) => (accepted = ws));
      return accepted !== undefined;
    });
    return accepted ?? refusal;
  }

  /**
   * The session has closed: record what the client sent, then `onClose`; the server forgets
   * the connection.
   * @internal
   */
  _sessionClosed(code: number | null, reason: string | null, session: WebSocketSession): void {
    try {
      this.closeCode = code;
      this.closeReason = reason;
      this.onClose();
    } finally {
      this.upgradeHost?.release(session);
    }
  }
}

/**
 * Encodes a `writeMessage` argument: strings stay text, bytes binary, objects JSON text.
 *
 * @example
 * encodeMessage({ a: 1 }) // '{"a":1}'
 */
export function encodeMessage(message: WebSocketMessage, encoder: ((value: unknown) => string) | undefined = undefined): string | Buffer {
  if (typeof message === "string" || Buffer.isBuffer(message)) return message;
  if (message instanceof Uint8Array) return Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  if (message !== null && typeof message === "object") return (encoder ?? jsonEncode)(message);
  throw new TypeError(`writeMessage() takes a string, a Buffer or an object, not ${message === null ? "null" : typeof message}`);
}

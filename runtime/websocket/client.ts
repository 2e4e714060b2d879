/** `websocketConnect`: Tornado's WebSocket client, on `ws`. */

import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocket } from "ws";
import { appLog } from "../log.js";
import { WebSocketHandshakeError } from "./errors.js";
import { encodeMessage, type WebSocketMessage } from "./handler.js";
import { DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_MAX_OUTGOING_BUFFER, type CompressionOptions } from "./options.js";
import { deflateOptions, WebSocketSession } from "./session.js";

/**
 * Options for `websocketConnect` (times in ms).
 *
 * @example
 * await websocketConnect("ws://localhost:8888/chat", { subprotocols: ["chat.v2"], pingInterval: 20_000 });
 */
export interface WebSocketConnectOptions {
  /** Extra request headers (`Cookie`, `Authorization`, `Origin`, …). */
  headers?: Record<string, string>;
  /**
   * Subprotocols to offer, in order of preference; see `selectedSubprotocol`. A server that
   * chooses none fails the handshake, as browsers do.
   */
  subprotocols?: string[];
  /** Offer permessage-deflate with these options (`{}` for the defaults); default: no compression. */
  compression?: CompressionOptions | null;
  /** Send a ping this often (0 or absent: never). */
  pingInterval?: number;
  /** Close when a ping is not answered within this long (default: the interval). */
  pingTimeout?: number;
  /** The largest message accepted from the server; bigger closes with 1009. Default 10 MiB. */
  maxMessageSize?: number;
  /**
   * Bytes that may wait to be sent (writes not awaited, pongs the server does not read) before
   * the connection is closed with 1008. Default 4 MiB.
   */
  maxOutgoingBuffer?: number;
  /** How long the connection and handshake may take; default 20 s, as Tornado. */
  connectTimeout?: number;
  /**
   * Receive messages through this callback instead of `readMessage()`: each message in order,
   * then `null` once the connection has closed.
   */
  onMessage?: (message: string | Buffer | null) => void;
}

// Messages read ahead of `readMessage()`; beyond these the socket is paused, so a slow reader
// pushes back on the server instead of queueing without bound.
const READ_AHEAD = 8;

/**
 * A client WebSocket connection, as `websocketConnect` resolves it. Read with `readMessage()`
 * (or the `onMessage` option), write with `writeMessage()`, end with `close()`.
 *
 * @example
 * const conn = await websocketConnect("ws://localhost:8888/echo");
 * await conn.writeMessage("hi");
 * console.log(await conn.readMessage()); // "hi"
 * await conn.close();
 */
export class WebSocketClientConnection {
  /**
   * The close code the server sent, once closed (`null` if it sent none, or vanished).
   *
   * @example
   * await conn.whenClosed(); if (conn.closeCode === 1012) reconnect(); // the server restarted
   */
  closeCode: number | null = null;
  /**
   * The close reason the server sent, once closed (`null` if none).
   *
   * @example
   * await conn.whenClosed(); console.log(conn.closeReason); // "ping timed out"
   */
  closeReason: string | null = null;
  private readonly session: WebSocketSession;
  private readonly messages: (string | Buffer)[] = [];
  private readonly readers: ((message: string | Buffer | null) => void)[] = [];
  private spaceWaiter: (() => void) | undefined;
  private ended = false;

  /**
   * Use `websocketConnect`. (`socket` is the underlying `ws` socket, typed loosely so that the
   * public declarations need no `@types/ws`.)
   * @internal
   */
  constructor(socket: object, options: WebSocketConnectOptions, connection?: Duplex) {
    const callback = options.onMessage;
    this.session = new WebSocketSession(
      socket as WebSocket,
      {
        onMessage: (message) => (callback ? callback(message) : this.enqueue(message)),
        onPing: () => {},
        onPong: () => {},
        _sessionClosed: (code, reason) => {
          this.closeCode = code;
          this.closeReason = reason;
          this.ended = true;
          if (callback) callback(null);
          for (const reader of this.readers.splice(0)) reader(null);
        },
        logException: (error) => appLog.error("Uncaught exception in a WebSocket client callback", error),
      },
      {
        interval: options.pingInterval,
        timeout: options.pingTimeout,
        maxOutgoingBuffer: options.maxOutgoingBuffer ?? DEFAULT_MAX_OUTGOING_BUFFER,
        socket: connection,
      },
    );
    this.session.start();
  }

  /**
   * Sends small messages at once (true) or lets them be combined into fewer packets (false):
   * the TCP no-delay flag, as Tornado's `set_nodelay` (on by default here: Node's `ws` sets it).
   * Does nothing once the connection is closed.
   *
   * @example
   * conn.setNodelay(false);
   */
  setNodelay(value: boolean): void {
    this.session.setNodelay(value);
  }

  /**
   * The next message: a string (text) or Buffer (binary), or `null` once the connection has
   * closed and every message received before has been read. Messages are never dropped.
   * With the `onMessage` option, messages go there instead and this waits for the close only.
   *
   * @example
   * for (let m = await conn.readMessage(); m !== null; m = await conn.readMessage()) handle(m);
   */
  readMessage(): Promise<string | Buffer | null> {
    const message = this.messages.shift();
    if (message !== undefined) {
      if (this.spaceWaiter && this.messages.length < READ_AHEAD) {
        const wake = this.spaceWaiter;
        this.spaceWaiter = undefined;
        wake();
      }
      return Promise.resolve(message);
    }
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => this.readers.push(resolve));
  }

  /**
   * Sends a message: a string as text, a Buffer as binary, an object as JSON text. Resolves
   * once flushed to the socket; throws `WebSocketClosedError` when the connection is closed
   * or closing, and rejects with it when the connection closes before the message was sent.
   *
   * @example
   * await conn.writeMessage({ type: "join", room: "lobby" });
   */
  writeMessage(message: WebSocketMessage): Promise<void> {
    return this.session.write(encodeMessage(message));
  }

  /**
   * Sends a ping (data at most 125 bytes). Throws `WebSocketClosedError` when closed.
   *
   * @example
   * conn.ping("are you there");
   */
  ping(data?: string | Buffer): void {
    this.session.ping(data);
  }

  /**
   * Closes the connection with `code` (default 1000) and `reason`; resolves once it is closed
   * (the server has 5 s to complete the closing handshake). Safe to call more than once.
   *
   * @example
   * await conn.close(1000, "bye");
   */
  close(code?: number, reason?: string): Promise<void> {
    this.session.close(code, reason);
    return this.session.whenClosed;
  }

  /**
   * Resolves once the connection has closed, whichever side closed it.
   *
   * @example
   * await conn.whenClosed(); console.log(conn.closeCode); // 1001 when the server shut down
   */
  whenClosed(): Promise<void> {
    return this.session.whenClosed;
  }

  /**
   * The subprotocol the server chose among `subprotocols`, or `null`.
   *
   * @example
   * if (conn.selectedSubprotocol !== "chat.v2") await conn.close();
   */
  get selectedSubprotocol(): string | null {
    return this.session.protocol;
  }

  /**
   * The `Sec-WebSocket-Extensions` the server agreed to (`""` for none): it names
   * `permessage-deflate` when compression is on.
   *
   * @example
   * conn.extensions // "permessage-deflate; client_max_window_bits=15"
   */
  get extensions(): string {
    return this.session.extensions;
  }

  // A reader waiting takes the message; else it queues, and past READ_AHEAD the session
  // waits (and pauses the socket) until the reader catches up.
  private enqueue(message: string | Buffer): Promise<void> | undefined {
    const reader = this.readers.shift();
    if (reader) {
      reader(message);
      return undefined;
    }
    this.messages.push(message);
    if (this.messages.length < READ_AHEAD) return undefined;
    return new Promise((resolve) => (this.spaceWaiter = resolve));
  }
}

/**
 * Opens a WebSocket to `url` (`ws://` or `wss://`; `http(s)://` works too) and resolves with
 * the connection once the handshake is done. Rejects with `WebSocketHandshakeError` (with the
 * HTTP `status`) when the server refuses the upgrade, and with the network error (e.g.
 * `ECONNREFUSED`) when it cannot connect. Redirects are not followed, as Tornado.
 *
 * @example
 * const conn = await websocketConnect("ws://127.0.0.1:8888/chat/lobby", {
 *   headers: { Cookie: `session=${token}` },
 *   subprotocols: ["chat.v2"],
 *   compression: {},
 * });
 * await conn.writeMessage({ text: "hello" });
 * const reply = await conn.readMessage(); // null once closed
 */
export function websocketConnect(url: string | URL, options: WebSocketConnectOptions = {}): Promise<WebSocketClientConnection> {
  const target = new URL(url);
  if (target.protocol === "http:") target.protocol = "ws:";
  else if (target.protocol === "https:") target.protocol = "wss:";
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(target, options.subprotocols ?? [], {
      headers: options.headers,
      perMessageDeflate: options.compression ? deflateOptions(options.compression) : false,
      maxPayload: options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
      // The session answers pings, within maxOutgoingBuffer.
      autoPong: false,
      handshakeTimeout: options.connectTimeout ?? 20_000,
      followRedirects: false,
    });
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      reject(error);
    };
    ws.on("unexpected-response", (req, res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        if (size < 65536) chunks.push(chunk);
        size += chunk.length;
      });
      const done = () => {
        if (settled) return;
        fail(new WebSocketHandshakeError(res.statusCode ?? 0, Buffer.concat(chunks).subarray(0, 65536).toString()));
        req.destroy();
        ws.terminate();
      };
      res.once("end", done);
      res.once("close", done);
    });
    ws.once("error", fail);
    let connection: Duplex | undefined;
    ws.once("upgrade", (res: IncomingMessage) => (connection = res.socket));
    ws.once("open", () => {
      ws.off("error", fail);
      if (settled) return;
      settled = true;
      resolve(new WebSocketClientConnection(ws, options, connection));
    });
    // Errors after the handshake are the session's; this one catches those after a refusal.
    ws.on("error", () => {});
  });
}

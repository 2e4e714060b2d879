/**
 * One open WebSocket, server or client side: Tornado's rules on top of a `ws` socket. Messages
 * reach the delegate in order, one at a time (a promise from `onMessage` holds the next one);
 * no frame is read before `start()` (the handler's `open()` has returned, as Tornado);
 * pings go out every `pingInterval` and a peer that does not answer within `pingTimeout` is
 * closed; a close that the peer does not complete is cut after 5 s; `_sessionClosed` comes once,
 * after the last message. Bytes waiting to be sent are bounded by `maxOutgoingBuffer`: past it
 * the peer (one that does not read what it is sent) is closed with 1008. Internal: `ws` types
 * never reach the public declarations.
 */

import { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocket, type PerMessageDeflateOptions } from "ws";
import { genLog } from "../log.js";
import { WebSocketClosedError } from "./errors.js";
import { PendingWrites, SENT } from "./pending-writes.js";
import { DEFAULT_MAX_OUTGOING_BUFFER, type CompressionOptions } from "./options.js";

/** What a session reports to (a handler, or a client connection). */
export interface SessionDelegate {
  onMessage(message: string | Buffer): unknown;
  onPing(data: Buffer): void;
  onPong(data: Buffer): void;
  /** Once, after the last message: the code and reason the peer sent (null when none). */
  _sessionClosed(code: number | null, reason: string | null, session: WebSocketSession): void;
  logException(error: unknown): void;
}

/** Keep-alive settings (in ms) and the outgoing buffer's limit. */
export interface SessionOptions {
  /** 0 or undefined: no pings. */
  interval?: number;
  /** Default: the interval (and never longer). 0: pings are sent but never time out. */
  timeout?: number;
  /** Bytes that may wait to be sent before the peer is closed with 1008. Default 4 MiB. */
  maxOutgoingBuffer?: number;
  /** The connection under the `ws` socket (a TCP or TLS socket), for `setNodelay`. */
  socket?: Duplex;
}

// Tornado gives a peer this long to answer our close frame before cutting the connection.
const CLOSE_GRACE_MS = 5000;
// Close codes that never travel on the wire: "no code received" and "connection lost".
const NO_STATUS = 1005;
const ABNORMAL = 1006;
// RFC 6455 §7.4.1: "an endpoint is terminating the connection because it has received a
// message that violates its policy": here, a peer that does not read what it is sent.
const POLICY_VIOLATION = 1008;
const OPEN = 1;

let warnedTimeout = false;

/**
 * `ws`'s permessage-deflate options for ours.
 *
 * @example
 * new WebSocketServer({ noServer: true, perMessageDeflate: deflateOptions({}) });
 */
export function deflateOptions(options: CompressionOptions): PerMessageDeflateOptions {
  return {
    zlibDeflateOptions: { level: options.compressionLevel ?? 6, memLevel: options.memLevel ?? 8 },
    threshold: options.threshold ?? 0,
  };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === "object" && typeof (value as PromiseLike<unknown>).then === "function";
}

function noop(): void {}

// The session of a `ws` socket, for the listeners below: shared functions (called with the
// socket as `this`) instead of closures made for each connection, which an idle connection
// would keep alive.
const SESSION = Symbol("session");
type SessionSocket = WebSocket & { [SESSION]: WebSocketSession };

function onWsMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  (this as SessionSocket)[SESSION].receive(isBinary ? data : data.toString());
}

function onWsPing(this: WebSocket, data: Buffer): void {
  (this as SessionSocket)[SESSION].answerPing(data);
}

function onWsPong(this: WebSocket, data: Buffer): void {
  (this as SessionSocket)[SESSION].receivePong(data);
}

// Protocol errors (bad frames, a message over the size limit) close the socket, with 1002 or
// 1009; the error itself is the peer's, not ours.
function onWsError(error: Error): void {
  genLog.debug(`WebSocket closed on a protocol error: ${error.message}`);
}

function onWsClose(this: WebSocket, code: number, reason: Buffer): void {
  (this as SessionSocket)[SESSION].onSocketClosed(code, reason);
}

/**
 * The `ws` socket a server-side session drives (`WebSocketServer`'s `WebSocket` option): its
 * events go straight to the session instead of through listeners. Five listeners would turn the
 * socket's event table into a hash table of 16 slots, kept for the connection's life; this way
 * an idle WebSocket keeps an empty one.
 *
 * @example
 * new WebSocketServer({ noServer: true, WebSocket: SessionWebSocket });
 */
export class SessionWebSocket extends WebSocket {
  /** Hands `ws`'s events to the session (to listeners before it has one). @example ws.emit("ping", data) */
  override emit(event: string | symbol, ...args: any[]): boolean {
    const session = (this as { [SESSION]?: WebSocketSession })[SESSION];
    if (session === undefined) return super.emit(event, ...args);
    switch (event) {
      case "message":
        session.receive(args[1] ? (args[0] as Buffer) : (args[0] as Buffer).toString());
        return true;
      case "ping":
        session.answerPing(args[0] as Buffer);
        return true;
      case "pong":
        session.receivePong(args[0] as Buffer);
        return true;
      case "error":
        onWsError(args[0] as Error);
        return true;
      case "close":
        session.onSocketClosed(args[0] as number, args[1] as Buffer);
        return true;
      default:
        return super.emit(event, ...args);
    }
  }
}

// WebSocketSession's flags.
const STARTED = 1;
const DELIVERING = 2;
const AWAITING = 4;
const READING = 8;
const OVERFLOWED = 16;
const CLOSING = 32;
const NOTIFIED = 64;
const RECEIVED_PONG = 128;

const TEXT = { binary: false };
const BINARY = { binary: true };

/**
 * A `ws` socket driven as Tornado drives its WebSocket protocol.
 *
 * @example
 * const session = new WebSocketSession(ws, delegate, { interval: 25_000 });
 * await delegate.open();
 * session.start();
 */
export class WebSocketSession {
  // Messages waiting for delivery (made when the first one has to wait).
  private queue: (string | Buffer)[] | undefined;
  // The yes/no state below (started, delivering, …), one bit each in one number: a session
  // lives as long as its connection, and eight fields of their own took 64 bytes.
  private flags = READING;
  private readonly maxOutgoing: number;
  private readonly socket: Duplex | undefined;
  // The data of the most recent ping not answered yet (its pong goes on the next turn).
  private pongData: Buffer | undefined;
  private closed: { code: number | null; reason: string | null } | null = null;
  private pingTimer: NodeJS.Timeout | undefined;
  private abortTimer: NodeJS.Timeout | undefined;
  // Writes not yet flushed (made with the first write: an idle connection has none).
  private pending: PendingWrites | undefined;
  // Made when someone asks (`whenClosed`): an idle connection keeps none.
  private closedWaiter: { promise: Promise<void>; resolve: () => void } | undefined;

  // start() has been called (open() has returned).
  private get started(): boolean {
    return (this.flags & STARTED) !== 0;
  }
  private set started(value: boolean) {
    this.setFlag(STARTED, value);
  }
  // A message is being handed to the delegate.
  private get delivering(): boolean {
    return (this.flags & DELIVERING) !== 0;
  }
  private set delivering(value: boolean) {
    this.setFlag(DELIVERING, value);
  }
  // An onMessage promise is pending: reading waits for it (back-pressure on the peer).
  private get awaiting(): boolean {
    return (this.flags & AWAITING) !== 0;
  }
  private set awaiting(value: boolean) {
    this.setFlag(AWAITING, value);
  }
  // Whether the `ws` socket is reading (it starts so; the constructor pauses it).
  private get reading(): boolean {
    return (this.flags & READING) !== 0;
  }
  private set reading(value: boolean) {
    this.setFlag(READING, value);
  }
  // More than maxOutgoingBuffer bytes were waiting: closing with 1008, and reading no more.
  private get overflowed(): boolean {
    return (this.flags & OVERFLOWED) !== 0;
  }
  private set overflowed(value: boolean) {
    this.setFlag(OVERFLOWED, value);
  }
  private get closing(): boolean {
    return (this.flags & CLOSING) !== 0;
  }
  private set closing(value: boolean) {
    this.setFlag(CLOSING, value);
  }
  // The delegate has been told of the close.
  private get notified(): boolean {
    return (this.flags & NOTIFIED) !== 0;
  }
  private set notified(value: boolean) {
    this.setFlag(NOTIFIED, value);
  }
  // A pong came since the last keep-alive ping.
  private get receivedPong(): boolean {
    return (this.flags & RECEIVED_PONG) !== 0;
  }
  private set receivedPong(value: boolean) {
    this.setFlag(RECEIVED_PONG, value);
  }

  private setFlag(flag: number, value: boolean): void {
    this.flags = value ? this.flags | flag : this.flags & ~flag;
  }

  constructor(
    private readonly ws: WebSocket,
    private readonly delegate: SessionDelegate,
    options: SessionOptions = {},
  ) {
    this.maxOutgoing = options.maxOutgoingBuffer ?? DEFAULT_MAX_OUTGOING_BUFFER;
    this.socket = options.socket;
    (ws as SessionSocket)[SESSION] = this;
    // A SessionWebSocket hands its events over itself; another (a client's) through listeners.
    if (!(ws instanceof SessionWebSocket)) {
      ws.on("message", onWsMessage);
      // The `ws` socket is made with autoPong off: pongs are answered here, within the limit.
      ws.on("ping", onWsPing);
      ws.on("pong", onWsPong);
      ws.on("error", onWsError);
      ws.on("close", onWsClose);
    }
    this.startPinging(options);
    // No frame is read until start(): messages sent during an async open() wait in the
    // peer's buffers (back-pressure), not in ours.
    this.updateReading();
  }

  /** Whether the connection is closed or a close has begun (writes are refused). */
  get isClosing(): boolean {
    return this.closing || this.ws.readyState !== OPEN;
  }

  /** Resolves once the socket is closed and `_sessionClosed` has run. */
  get whenClosed(): Promise<void> {
    if (this.closedWaiter === undefined) {
      let resolve!: () => void;
      const promise = this.notified ? Promise.resolve() : new Promise<void>((resolveClosed) => (resolve = resolveClosed));
      this.closedWaiter = { promise, resolve: resolve ?? noop };
    }
    return this.closedWaiter.promise;
  }

  /** The subprotocol the handshake agreed on, or null. */
  get protocol(): string | null {
    return this.ws.protocol === "" ? null : this.ws.protocol;
  }

  /** The negotiated extensions header value (empty when none). */
  get extensions(): string {
    return this.ws.extensions;
  }

  /** Starts reading and delivering messages; `open()` has returned. */
  start(): void {
    this.started = true;
    this.updateReading();
    this.drain();
  }

  /**
   * Sends a text (string) or binary (Buffer) message; resolves once it is flushed to the
   * socket. Throws `WebSocketClosedError` when closing; the promise rejects with it when the
   * connection closes first. The rejection is marked handled, so a write nobody awaits never
   * crashes the process.
   */
  write(data: string | Buffer): Promise<void> {
    if (this.isClosing) throw new WebSocketClosedError();
    // Checked before the message is queued, so one message bigger than the limit still goes
    // when nothing is waiting; a writer that does not await its writes is stopped here.
    if (this.ws.bufferedAmount > this.maxOutgoing) {
      this.overflow();
      const refused = Promise.reject(new WebSocketClosedError(`WebSocket closed: more than ${this.maxOutgoing} bytes were waiting to be sent`));
      refused.catch(noop);
      return refused;
    }
    const pending = (this.pending ??= new PendingWrites());
    // Nothing waiting: ws.send usually hands the frame to the kernel before it returns. Such a
    // write gets a settled promise shared by all of them (no promise and resolvers per
    // message), and the callback node calls for it later finds a placeholder in the queue.
    if (pending.idle && this.ws.bufferedAmount === 0) {
      pending.add(null, null, null);
      this.ws.send(data, typeof data === "string" ? TEXT : BINARY, pending.callback);
      if (this.ws.bufferedAmount === 0) return SENT;
      return pending.awaitLast(); // it has to wait after all (a full socket buffer, compression)
    }
    let resolve!: () => void;
    let reject!: (error: Error) => void;
    const sent = new Promise<void>((resolveSent, rejectSent) => {
      resolve = resolveSent;
      reject = rejectSent;
    });
    pending.add(sent, resolve, reject);
    this.ws.send(data, typeof data === "string" ? TEXT : BINARY, pending.callback);
    return sent;
  }

  /**
   * Turns Nagle's algorithm off (true) or on (false) for the connection, as Tornado's
   * `IOStream.set_nodelay`: only a TCP socket (TLS included) has the flag; on a closed one, or
   * a Unix socket, it does nothing.
   */
  setNodelay(value: boolean): void {
    if (this.socket instanceof Socket && !this.socket.destroyed) this.socket.setNoDelay(value);
  }

  /** Sends a ping frame (at most 125 bytes of data). */
  ping(data?: string | Buffer): void {
    if (this.isClosing) throw new WebSocketClosedError();
    this.ws.ping(data ?? Buffer.alloc(0));
  }

  /**
   * Starts the closing handshake (1000 when no code is given); a peer that does not answer
   * within 5 s is cut off. Messages that arrive after this are discarded. Calling it again
   * does nothing.
   */
  close(code?: number, reason?: string): void {
    if (this.closing || this.closed !== null) return;
    this.ws.close(code ?? 1000, reason);
    this.closing = true;
    this.stopPinging();
    // The peer's close frame must be read even while a message is being handled.
    this.updateReading();
    this.abortTimer = setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS);
  }

  /** The server shuts down (1001) or restarts (1012): a clean close with that code. */
  goAway(code: number, reason: string): void {
    this.close(code, reason);
  }

  /** Cuts the connection without a closing handshake (Tornado's abort). */
  terminate(): void {
    this.closing = true;
    this.ws.terminate();
  }

  /** A message from the peer (called by the `ws` listener). */
  receive(message: string | Buffer): void {
    // After our close frame only the peer's close matters: reading goes on for it, and
    // messages would otherwise queue without bound behind a busy onMessage.
    if (this.closing) return;
    // The usual case, a message while none waits, is delivered without queueing.
    if (this.started && !this.delivering && (this.queue === undefined || this.queue.length === 0)) {
      this.delivering = true;
      if (this.deliver(message)) this.finishDelivery();
      return;
    }
    (this.queue ??= []).push(message);
    if (this.started && !this.delivering) this.drain();
  }

  /** A pong from the peer (called by the `ws` listener). */
  receivePong(data: Buffer): void {
    this.receivedPong = true;
    this.run(() => this.delegate.onPong(data));
  }

  // ws answers pings itself unless told not to. Here pings read in one go get one pong, for
  // the most recent (RFC 6455 §5.5.3 allows it), so a ping flood costs reading, not a write per
  // ping; and a peer that pings while more than the limit waits to be sent is closed like any
  // other that does not read.
  /** A ping from the peer (called by the `ws` listener). */
  answerPing(data: Buffer): void {
    if (this.overflowed) return;
    if (!this.isClosing) {
      if (this.ws.bufferedAmount > this.maxOutgoing) {
        this.overflow();
        return;
      }
      if (this.pongData === undefined) setImmediate(() => this.sendPong());
      this.pongData = data;
    }
    this.run(() => this.delegate.onPing(data));
  }

  private sendPong(): void {
    const data = this.pongData;
    this.pongData = undefined;
    if (data !== undefined && !this.isClosing && !this.overflowed) this.ws.pong(data);
  }

  // The peer does not read what it is sent (or not fast enough): stop reading from it, so its
  // pings and messages no longer make us write, and close it with 1008. The close frame waits
  // behind the unread data; a peer that never reads it is cut after the close grace.
  private overflow(): void {
    if (this.overflowed || this.closed !== null) return;
    this.overflowed = true;
    this.queue = undefined;
    genLog.warning(
      `WebSocket closed with 1008: more than ${this.maxOutgoing} bytes were waiting to be sent to a peer that does not read them (websocketMaxOutgoingBuffer)`,
    );
    this.close(POLICY_VIOLATION, "too much data waiting to be sent");
    this.updateReading();
  }

  // Reading goes on while the session is started and no onMessage promise is pending, or while
  // closing (for the peer's close frame); never before start(), nor after an overflow.
  private updateReading(): void {
    const read = this.closed === null && !this.overflowed && (this.closing || (this.started && !this.awaiting));
    if (read === this.reading) return;
    this.reading = read;
    if (read) this.ws.resume();
    else this.ws.pause();
  }

  // Delivers queued messages in order; a promise from onMessage holds the rest (and pauses the
  // socket, so a slow handler pushes back on the peer instead of queueing without bound).
  private drain(): void {
    this.delivering = true;
    // this.queue is read again each time: an overflow or a failure in onMessage empties it.
    while (this.queue !== undefined && this.queue.length > 0) {
      if (!this.deliver(this.queue.shift()!)) return;
    }
    this.finishDelivery();
  }

  // Hands one message to the delegate; false when delivery stops here (a promise to wait
  // for, or an exception).
  private deliver(message: string | Buffer): boolean {
    let result: unknown;
    try {
      result = this.delegate.onMessage(message);
    } catch (e) {
      this.fail(e);
      return false;
    }
    if (!isThenable(result)) return true;
    this.awaiting = true;
    this.updateReading();
    result.then(
      () => this.resumeDelivery(),
      (e: unknown) => {
        this.awaiting = false;
        this.fail(e);
      },
    );
    return false;
  }

  private finishDelivery(): void {
    this.delivering = false;
    if (this.closed !== null) this.notifyClosed();
  }

  private resumeDelivery(): void {
    this.awaiting = false;
    this.updateReading();
    this.drain();
  }

  /**
   * An exception in the delegate's callbacks (`open`, `onMessage`, `onPing`, …): logged, and
   * the connection aborted, as Tornado does. `_sessionClosed` still follows.
   */
  fail(error: unknown): void {
    this.log(error);
    this.queue = undefined;
    this.started = true;
    this.delivering = false;
    this.terminate();
    if (this.closed !== null) this.notifyClosed();
  }

  private run(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.fail(e);
    }
  }

  private log(error: unknown): void {
    try {
      this.delegate.logException(error);
    } catch {
      // A logger that throws has nowhere left to report.
    }
  }

  /** The `ws` socket closed (called by its listener). */
  onSocketClosed(code: number, reason: Buffer): void {
    this.closing = true;
    this.stopPinging();
    clearTimeout(this.abortTimer);
    const received = code === NO_STATUS || code === ABNORMAL ? null : code;
    this.closed = { code: received, reason: reason.length > 0 ? reason.toString() : null };
    // Messages received before the close are still delivered, then _sessionClosed.
    if (this.started && !this.delivering) this.notifyClosed();
  }

  private notifyClosed(): void {
    if (this.notified) return;
    this.notified = true;
    const { code, reason } = this.closed!;
    try {
      this.delegate._sessionClosed(code, reason, this);
    } catch (e) {
      this.log(e);
    }
    this.closedWaiter?.resolve();
  }

  private startPinging({ interval = 0, timeout }: SessionOptions): void {
    if (!(interval > 0)) return;
    let wait = timeout ?? interval;
    if (wait > interval) {
      if (!warnedTimeout) {
        warnedTimeout = true;
        genLog.warning(`The WebSocket ping timeout (${wait}ms) cannot be longer than the ping interval (${interval}ms): using ${interval}ms`);
      }
      wait = interval;
    }
    const sendPing = () => {
      if (this.isClosing) return;
      this.receivedPong = false;
      const sentAt = Date.now();
      this.ws.ping();
      this.pingTimer = setTimeout(() => {
        if (wait > 0 && !this.receivedPong) {
          this.close(1000, "ping timed out");
          return;
        }
        this.pingTimer = setTimeout(sendPing, Math.max(0, sentAt + interval - Date.now()));
      }, wait);
    };
    this.pingTimer = setTimeout(sendPing, interval);
  }

  private stopPinging(): void {
    clearTimeout(this.pingTimer);
    this.pingTimer = undefined;
  }
}

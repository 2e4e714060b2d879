/** The errors of the WebSocket module (Tornado's `WebSocketError`, `WebSocketClosedError`). */

/**
 * Base class of the WebSocket errors.
 *
 * @example
 * try { await websocketConnect(url); } catch (e) { if (e instanceof WebSocketError) console.log(e.code); }
 */
export class WebSocketError extends Error {
  /** Stable code to match on. */
  readonly code: string = "ERR_WEBSOCKET";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "WebSocketError";
  }
}

/**
 * The WebSocket is closed, or closing: `writeMessage` and `ping` throw it when called then, and
 * the promise of a `writeMessage` rejects with it when the connection closes before the
 * message was flushed.
 *
 * @example
 * for (const peer of room) {
 *   peer.writeMessage(text).catch((e) => { if (!(e instanceof WebSocketClosedError)) throw e; });
 * }
 */
export class WebSocketClosedError extends WebSocketError {
  override readonly code = "ERR_WEBSOCKET_CLOSED";
  constructor(message = "WebSocket is closed", options?: { cause?: unknown }) {
    super(message, options);
    this.name = "WebSocketClosedError";
  }
}

/**
 * The server answered a `websocketConnect` handshake with something other than
 * `101 Switching Protocols`; `status` is its HTTP status (403 for a refused origin, say).
 *
 * @example
 * try { await websocketConnect(url); } catch (e) { if (e instanceof WebSocketHandshakeError && e.status === 401) login(); }
 */
export class WebSocketHandshakeError extends WebSocketError {
  override readonly code = "ERR_WEBSOCKET_HANDSHAKE";
  constructor(
    /** The HTTP status of the server's answer. */
    readonly status: number,
    /** The body of the server's answer, as text (the first 64 KiB). */
    readonly body: string,
  ) {
    super(`WebSocket handshake refused: HTTP ${status}`);
    this.name = "WebSocketHandshakeError";
  }
}

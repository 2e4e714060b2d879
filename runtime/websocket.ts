/**
 * WebSockets, as Tornado's `tornado.websocket`: `WebSocketHandler` for the server side (routed,
 * prepared and authenticated like any handler), `websocketConnect` for the client side, and
 * `WebSocketClosedError`. The wire protocol is the `ws` package's; graceful shutdown closes
 * open WebSockets with 1001 (1012 when `tornado dev` restarts the app).
 *
 * @example
 * import { Application } from "tornado";
 * import { WebSocketHandler, websocketConnect } from "tornado/websocket";
 * class EchoSocket extends WebSocketHandler {
 *   // Awaiting the write: a client that does not read its echoes stops being read from.
 *   async onMessage(message: string | Buffer) { await this.writeMessage(message); }
 * }
 * const server = await new Application([["/echo", EchoSocket]]).listen(8888);
 * const conn = await websocketConnect("ws://127.0.0.1:8888/echo");
 */
export { WebSocketHandler, type WebSocketMessage } from "./websocket/handler.js";
export { WebSocketClientConnection, websocketConnect, type WebSocketConnectOptions } from "./websocket/client.js";
export { WebSocketClosedError, WebSocketError, WebSocketHandshakeError } from "./websocket/errors.js";
export type { CompressionOptions } from "./websocket/options.js";

/**
 * Node's `http.Server` (or `https.Server`) set up with Tornado's limits: header size and time,
 * idle times, no whole-request cut-off, `Expect: 100-continue` left to the application, and
 * the answers to what node's parser rejects (400, 431, 408) or a request left idle.
 */

import http, { type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { responses } from "../httputil/request.js";
import { genLog } from "../log.js";
import { connectionOf, errorPage } from "./connection.js";
import type { ServerLimits } from "./limits.js";
import type { HTTPServerOptions } from "./options.js";
import { clientAddress } from "./request-head.js";

/**
 * Where node's server hands what it parsed: plain requests, and requests with `Connection: Upgrade`.
 *
 * @example
 * createNodeServer(options, limits, { request: (req, res) => …, upgrade: (req, socket, head) => … });
 */
export interface NodeServerListeners {
  request(req: IncomingMessage, res: ServerResponse): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

/**
 * A node HTTP(S) server enforcing `limits`, handing requests to `listeners`.
 *
 * @example
 * const server = createNodeServer({}, resolveLimits({}), listeners);
 */
export function createNodeServer(options: HTTPServerOptions, limits: ServerLimits, listeners: NodeServerListeners): http.Server | https.Server {
  const serverOptions: http.ServerOptions = {
    maxHeaderSize: limits.maxHeaderSize,
    // Host is checked in dispatch (request-head.ts), with Tornado's rules and error page.
    requireHostHeader: false,
    // Node checks header timeouts on this interval (30 s by default): a quarter of the
    // timeout keeps a slow head from lasting much past it.
    connectionsCheckingInterval: limits.headerTimeout > 0 ? Math.min(30_000, Math.max(50, Math.floor(limits.headerTimeout / 4))) : 30_000,
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse) => listeners.request(req, res);
  const server = options.sslOptions
    ? https.createServer({ ...options.sslOptions, ...serverOptions }, onRequest)
    : http.createServer(serverOptions, onRequest);
  // With a listener, node leaves 100-continue to us: it is sent when the body is read, so a
  // request refused before that (404, 405, 413) never makes the client send its body.
  server.on("checkContinue", onRequest);
  // Requests with `Connection: Upgrade` (WebSockets, but also `Upgrade: h2c` from curl) come
  // here with the bare socket; they are served by the same application.
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => listeners.upgrade(req, socket, head));
  server.on("clientError", onClientError);
  server.keepAliveTimeout = limits.idleConnectionTimeout;
  // Node's requestTimeout cuts every upload at 5 minutes whatever its rate; bodies have
  // minBodyRate and bodyTimeout instead. headersTimeout times the head once it starts.
  server.requestTimeout = 0;
  server.headersTimeout = limits.headerTimeout;
  // Between requests node's socket timer runs with keepAliveTimeout, and the `timeout` event
  // below closes the connection. A request in flight is timed by watchIdleRequests: node's
  // `server.timeout` would re-arm the socket's timer with a new Timeout on every request.
  server.timeout = 0;
  server.on("timeout", (socket: Socket) => onIdleSocket(socket, limits.idleRequestTimeout));
  if (limits.idleRequestTimeout > 0) watchIdleRequests(server, limits.idleRequestTimeout);
  return server;
}

// What the sweep saw of a socket: its response then, the bytes moved so far, and for how many
// sweeps in a row nothing has moved while that response was in flight.
interface SocketActivity {
  res: ServerResponse | null;
  bytes: number;
  idleSweeps: number;
}

type ServedSocket = Socket & { _httpMessage?: ServerResponse | null };

/**
 * Times out requests in flight that stay idle (no byte read or written) for `timeout` ms, as a
 * socket timeout would, but with one sweep over the connections every `timeout / 8` ms instead
 * of a timer re-armed on each request: a request is cut between `timeout` and 1.125 × `timeout`
 * after its last activity. A connection's first request also keeps node's socket timer, set
 * once when it opens, which covers a client that connects and sends nothing.
 */
function watchIdleRequests(server: http.Server | https.Server, timeout: number): void {
  const sockets = new Map<ServedSocket, SocketActivity>();
  const interval = Math.max(10, Math.floor(timeout / 8));
  const sweeps = Math.ceil(timeout / interval);
  let timer: NodeJS.Timeout | undefined;
  const watch = (socket: ServedSocket) => {
    socket.setTimeout(timeout);
    sockets.set(socket, { res: null, bytes: 0, idleSweeps: 0 });
    socket.once("close", () => sockets.delete(socket));
    // The sweeps run while the server has connections (unref'd: they keep no process alive).
    timer ??= setInterval(sweep, interval).unref();
  };
  // Requests are served on the TLS socket of an HTTPS server (its `connection` is the raw one).
  server.on(server instanceof https.Server ? "secureConnection" : "connection", watch);
  const sweep = () => {
    if (sockets.size === 0) {
      clearInterval(timer);
      timer = undefined;
      return;
    }
    for (const [socket, seen] of sockets) {
      const res = socket._httpMessage ?? null;
      const bytes = socket.bytesRead + (socket.bytesWritten ?? 0);
      if (res === null || res !== seen.res || bytes !== seen.bytes) {
        seen.res = res;
        seen.bytes = bytes;
        seen.idleSweeps = 0;
      } else if (++seen.idleSweeps >= sweeps) {
        seen.idleSweeps = 0;
        onIdleSocket(socket, timeout);
      }
    }
  };
}

// Node's socket timeout fired: between requests (keep-alive) the connection simply closes; a
// request in flight that has been idle for idleRequestTimeout is answered for, and closed.
function onIdleSocket(socket: Socket, idleRequestTimeout: number): void {
  const res = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  const connection = connectionOf(res);
  if (connection === undefined || connection.closed) {
    socket.destroy();
    return;
  }
  const req = connection.req;
  genLog.warning(`Closing a request idle for ${idleRequestTimeout}ms (idleRequestTimeout): ${req.method} ${req.url} (${clientAddress(req)})`);
  connection.timeOut();
}

function onClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  const inProgress = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
  if (error.code === "ECONNRESET" || !socket.writable || inProgress?.headersSent) {
    socket.destroy();
    return;
  }
  const status = error.code === "HPE_HEADER_OVERFLOW" ? 431 : error.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
  genLog.info(`Malformed HTTP message: ${error.code ?? ""} ${error.message}`);
  socket.end(rawErrorResponse(status));
}

function rawErrorResponse(status: number): string {
  const body = errorPage(status);
  return (
    `HTTP/1.1 ${status} ${responses[status] ?? "Unknown"}\r\n` +
    `Content-Type: text/html; charset=UTF-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`
  );
}

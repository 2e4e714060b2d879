/**
 * The HTTP server, as Tornado's `tornado.httpserver`: node's HTTP/1.1 parser underneath,
 * Tornado's limits and checks on top, and a graceful `close()`.
 *
 * @example
 * import { HTTPServer } from "tornado/httpserver";
 * const server = new HTTPServer(app, { xheaders: true, maxBodySize: 1 << 20 });
 * await server.listen(8888, "127.0.0.1");
 * process.on("SIGTERM", () => server.close());
 */

import http, { type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import { isIP, type AddressInfo, type Server as NetServer, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import type { BodyLimits } from "./httputil/body.js";
import { HTTPHeaders } from "./httputil/headers.js";
import { HTTPServerRequest, responses } from "./httputil/request.js";
import { appLog, genLog } from "./log.js";
import { NodeHTTPConnection, connectionOf, errorHeaders, errorPage } from "./httpserver/connection.js";
import { bodyLimitFor, resolveLimits, type ServerLimits } from "./httpserver/limits.js";
import { trackServer, untrackServer } from "./httpserver/registry.js";
import { attachToSupervisor, supervisedPort } from "./httpserver/supervised.js";
import { UpgradeConnection, type UpgradeHost, type UpgradedConnection } from "./httpserver/upgrade.js";

/**
 * What an `HTTPServer` hands each request to: an `Application`, or a function.
 *
 * @example
 * new HTTPServer((request) => request.connection!.respond(200, "OK", new HTTPHeaders(), "hi"));
 */
export type RequestDelegate =
  | { handleRequest(request: HTTPServerRequest): void | Promise<void> }
  | ((request: HTTPServerRequest) => void | Promise<void>);

/**
 * `HTTPServer` options (Tornado's, in camelCase; times in milliseconds).
 *
 * @example
 * new HTTPServer(app, { xheaders: true, trustedDownstream: ["10.0.0.1"], maxBodySize: 10 << 20 });
 */
export interface HTTPServerOptions {
  /** Take the client address and scheme from `X-Real-Ip`/`X-Forwarded-For` and `X-Scheme`/`X-Forwarded-Proto` (behind a proxy). */
  xheaders?: boolean;
  /** Proxy addresses to skip in `X-Forwarded-For`. */
  trustedDownstream?: string[];
  /** Force `request.protocol` (e.g. `https` behind a TLS-terminating proxy without xheaders). */
  protocol?: string;
  /** Largest header block accepted; beyond it the answer is 431. Default 64 KiB. */
  maxHeaderSize?: number;
  /** Largest body accepted (uploads, multipart, any type without its own limit below); beyond it the answer is 413. Default 100 MiB. */
  maxBodySize?: number;
  /** Largest `application/x-www-form-urlencoded` body (at most `maxBodySize`); beyond it 413. Default 1 MiB. */
  maxFormBodySize?: number;
  /** Largest `application/json` or `application/…+json` body (at most `maxBodySize`); beyond it 413. Default 1 MiB. */
  maxJsonBodySize?: number;
  /** Most fields in a urlencoded form body; beyond it 400. Default 1000. */
  maxFormFields?: number;
  /** Most parts in a `multipart/form-data` body; beyond it 400. Default 100 (Tornado's). */
  maxMultipartParts?: number;
  /** How long a request head may take to arrive once it starts; then 408 and close. Default 60 s; 0 turns it off. */
  headerTimeout?: number;
  /** How long the whole body may take to arrive once it starts; then 408. Default: no limit (`minBodyRate` still applies). */
  bodyTimeout?: number;
  /** Slowest average rate, in bytes per second, a body may arrive at once `bodyRateGracePeriod` has passed; slower is 408 and close. Default 1024; 0 turns it off. */
  minBodyRate?: number;
  /** How long a body may arrive at any rate before `minBodyRate` applies. Default 10 s. */
  bodyRateGracePeriod?: number;
  /**
   * How long a request may go with nothing sent or received on its connection: a handler that
   * never answers gets a 503 (408 if its body had not all arrived) and the connection closes;
   * a response already started is cut. Streaming and long-polling handlers keep it alive by
   * writing (flush) within it; WebSockets are not affected. Default 300 s; 0 turns it off.
   */
  idleRequestTimeout?: number;
  /** How long an idle keep-alive connection stays open between requests. Default 3600 s. */
  idleConnectionTimeout?: number;
  /** Connections the kernel queues before they are accepted (capped by `net.core.somaxconn`). Default 511. */
  backlog?: number;
  /** Un-gzip request bodies sent with `Content-Encoding: gzip`; the size limits apply to the decompressed body, as it streams. */
  decompressRequest?: boolean;
  /** Close every connection after its response. */
  noKeepAlive?: boolean;
  /** TLS options (`key`, `cert`, …) to serve HTTPS. */
  sslOptions?: https.ServerOptions;
}

/**
 * Options for `HTTPServer.close()`.
 *
 * @example
 * await server.close({ timeout: 5000 });
 */
export interface CloseOptions {
  /** How long requests in flight (and WebSocket closing handshakes) may take before their connections are cut. Default 30 s. */
  timeout?: number;
}

// RFC 3986 host (simplified as Tornado does: brackets and colons anywhere) with an optional port.
const VALID_HOST = /^(?:[[\]:A-Za-z0-9\-._~!$&'()*+;=]|%[0-9A-Fa-f]{2})*$/;
// WebSocket close codes (RFC 6455 §7.4.1, and the IANA registry for 1012).
const GOING_AWAY = 1001;
const SERVICE_RESTART = 1012;

export { errorPage };
export { DEFAULT_LIMITS, type ServerLimits } from "./httpserver/limits.js";

function rawErrorResponse(status: number): string {
  const body = errorPage(status);
  return (
    `HTTP/1.1 ${status} ${responses[status] ?? "Unknown"}\r\n` +
    `Content-Type: text/html; charset=UTF-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`
  );
}

function clientAddress(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? "unknown";
  return address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/**
 * An HTTP/1.1 server for an `Application` (or any `RequestDelegate`), on `node:http` or, with
 * `sslOptions`, `node:https`.
 *
 * It answers malformed requests itself (400, and 431 for headers over `maxHeaderSize`), reads
 * bodies within `maxBodySize` (413 beyond), keeps connections alive, handles
 * `Expect: 100-continue`, and shuts down gracefully with `close()`.
 *
 * @example
 * const server = new HTTPServer(makeApp(), { maxBodySize: 1 << 20 });
 * await server.listen(8888);
 * process.once("SIGTERM", async () => { await server.close(); process.exit(0); });
 */
export class HTTPServer {
  /** Node's server underneath (for `upgrade` listeners and the like). */
  readonly server: http.Server | https.Server;
  /** The limits this server enforces (the options given, defaults for the rest). */
  readonly limits: ServerLimits;
  readonly maxBodySize: number;
  readonly bodyTimeout: number | undefined;
  /** Whether every connection is closed after its response (the `noKeepAlive` option). */
  readonly noKeepAlive: boolean;
  private readonly delegate: RequestDelegate;
  private readonly options: HTTPServerOptions;
  private readonly trusted: Set<string>;
  private readonly bodyLimits: BodyLimits;
  private inflight = 0;
  private closingPromise: Promise<void> | undefined;
  private drained: (() => void) | undefined;
  // Under `tornado dev`: the supervisor's port, and the sockets it handed over.
  private supervised: { port: number; sockets: Set<Socket> } | undefined;
  // Sockets node handed to the `upgrade` event: node's own connection tracking has let go of them.
  private readonly upgradeSockets = new Set<Duplex>();
  // Open WebSockets, closed with 1001 (or 1012 on a dev restart) when the server shuts down.
  private readonly upgraded = new Set<UpgradedConnection>();
  private goAwayCode = GOING_AWAY;
  private upgradedGone: (() => void) | undefined;
  private readonly upgradeHost: UpgradeHost;
  /** True once `close()` has been called. */
  closing = false;

  constructor(delegate: RequestDelegate, options: HTTPServerOptions = {}) {
    this.delegate = delegate;
    this.options = options;
    const limits = (this.limits = resolveLimits(options));
    this.maxBodySize = limits.maxBodySize;
    this.bodyLimits = { maxFields: limits.maxFormFields, maxParts: limits.maxMultipartParts };
    this.bodyTimeout = options.bodyTimeout;
    this.noKeepAlive = options.noKeepAlive ?? false;
    this.trusted = new Set(options.trustedDownstream ?? []);
    const serverOptions: http.ServerOptions = {
      maxHeaderSize: limits.maxHeaderSize,
      // Host is checked here, with Tornado's rules and error page.
      requireHostHeader: false,
      // Node checks header timeouts on this interval (30 s by default): a quarter of the
      // timeout keeps a slow head from lasting much past it.
      connectionsCheckingInterval: limits.headerTimeout > 0 ? Math.min(30_000, Math.max(50, Math.floor(limits.headerTimeout / 4))) : 30_000,
    };
    const onRequest = (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res);
    this.server = options.sslOptions
      ? https.createServer({ ...options.sslOptions, ...serverOptions }, onRequest)
      : http.createServer(serverOptions, onRequest);
    // With a listener, node leaves 100-continue to us: it is sent when the body is read, so a
    // request refused before that (404, 405, 413) never makes the client send its body.
    this.server.on("checkContinue", onRequest);
    // Requests with `Connection: Upgrade` (WebSockets, but also `Upgrade: h2c` from curl) come
    // here with the bare socket; they are served by the same application.
    this.server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
    this.upgradeHost = {
      maxBodySize: this.maxBodySize,
      bodyTimeout: this.bodyTimeout,
      done: () => this.requestDone(),
      adopt: (connection) => this.adoptUpgraded(connection),
    };
    this.server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => this.onClientError(error, socket));
    this.server.keepAliveTimeout = limits.idleConnectionTimeout;
    // Node's requestTimeout cuts every upload at 5 minutes whatever its rate; bodies have
    // minBodyRate and bodyTimeout instead. headersTimeout times the head once it starts.
    this.server.requestTimeout = 0;
    this.server.headersTimeout = limits.headerTimeout;
    // Node's socket inactivity timeout, while a request is in flight: between requests node
    // uses keepAliveTimeout. Either way the `timeout` event below decides.
    this.server.timeout = limits.idleRequestTimeout;
    this.server.on("timeout", (socket: Socket) => this.onIdleSocket(socket));
  }

  /**
   * Starts listening on `port` (0 picks a free one) and `host` (default: all interfaces);
   * resolves once listening. A port in use rejects with a message saying so.
   *
   * @example
   * await server.listen(0, "127.0.0.1");
   * console.log(server.port);
   */
  listen(port = 0, host?: string): Promise<this> {
    const owned = supervisedPort();
    if (owned !== null) return Promise.resolve(this.serveForSupervisor(owned));
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        if (error.code === "EADDRINUSE") {
          error.message = `Port ${port} is already in use${host ? ` on ${host}` : ""}: stop the other server or choose another port`;
        }
        reject(error);
      };
      this.server.once("error", onError);
      this.server.listen({ port, host, backlog: this.limits.backlog }, () => {
        this.server.off("error", onError);
        trackServer(this);
        resolve(this);
      });
    });
  }

  // Under `tornado dev` the supervisor owns the port and hands each connection over.
  private serveForSupervisor(port: number): this {
    const sockets = new Set<Socket>();
    this.supervised = { port, sockets };
    // Turns on node's connection tracking (idle/active lists, header timeouts) without binding.
    this.server.emit("listening");
    attachToSupervisor({
      acceptConnection: (socket) => {
        sockets.add(socket);
        socket.once("close", () => sockets.delete(socket));
        this.server.emit("connection", socket);
      },
      // The supervisor drains this process because a new one now serves: WebSocket clients
      // are told 1012 (Service Restart) so that they reconnect, to the new one.
      close: ({ timeout, idleGrace }) => {
        this.closingPromise ??= this.drainSupervised(timeout, idleGrace, SERVICE_RESTART);
        return this.closingPromise;
      },
    });
    return this;
  }

  private async drainSupervised(timeout: number, idleGrace: number, webSocketCode: number): Promise<void> {
    this.closing = true;
    this.closeWebSockets(webSocketCode);
    const deadline = Date.now() + timeout;
    await new Promise((resolve) => setTimeout(resolve, idleGrace));
    this.server.closeIdleConnections();
    const sockets = this.supervised!.sockets;
    while (sockets.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      this.server.closeIdleConnections();
    }
    if (sockets.size > 0) {
      genLog.warning(`Closing ${sockets.size} connection(s) with requests still in flight after ${timeout}ms`);
      for (const socket of sockets) socket.destroy();
    }
  }

  /**
   * Serves on a socket that is already listening (from `bindUnusedPort()`, or handed over by a
   * supervisor process).
   *
   * @example
   * const { socket } = await bindUnusedPort();
   * await new HTTPServer(app).addSocket(socket);
   */
  addSocket(socket: NetServer | { fd: number }): Promise<this> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(socket, this.limits.backlog, () => {
        this.server.off("error", reject);
        trackServer(this);
        resolve(this);
      });
    });
  }

  /** The port the server listens on. @example server.port // 8888 */
  get port(): number {
    if (this.supervised) return this.supervised.port;
    const address = this.server.address();
    if (address === null || typeof address === "string") throw new Error("The server is not listening on a TCP port");
    return address.port;
  }

  /** The address the server listens on. @example server.address().address // "127.0.0.1" */
  address(): AddressInfo {
    if (this.supervised) return { address: "127.0.0.1", family: "IPv4", port: this.supervised.port };
    const address = this.server.address();
    if (address === null || typeof address === "string") throw new Error("The server is not listening on a TCP port");
    return address;
  }

  /** Requests being served right now. @example server.requestsInFlight // 0 */
  get requestsInFlight(): number {
    return this.inflight;
  }

  /**
   * Stops accepting connections, closes idle ones, lets requests in flight finish (their
   * connections then close), closes open WebSockets with 1001 (Going Away), and after
   * `timeout` ms cuts whatever is left. Resolves when every connection is closed and every
   * WebSocket handler's `onClose` has run. Calling it again returns the same promise.
   *
   * @example
   * process.once("SIGTERM", () => server.close({ timeout: 10_000 }));
   */
  close(options: CloseOptions = {}): Promise<void> {
    const timeout = options.timeout ?? 30_000;
    untrackServer(this);
    this.closingPromise ??= this.supervised ? this.drainSupervised(timeout, 0, GOING_AWAY) : this.shutDown(timeout);
    return this.closingPromise;
  }

  private async shutDown(timeout: number): Promise<void> {
    this.closing = true;
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    this.closeWebSockets(GOING_AWAY);
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeout)));
    if (this.inflight > 0) {
      const finished = await Promise.race([new Promise<boolean>((resolve) => (this.drained = () => resolve(true))), expired]);
      if (!finished) {
        genLog.warning(`Closing ${this.inflight} connection(s) with requests still in flight after ${timeout}ms`);
        this.server.closeAllConnections();
        this.destroyUpgradeSockets();
      }
    }
    this.server.closeIdleConnections();
    // A connection whose request head is still arriving is neither idle nor in flight, and node
    // stops its header timeout on close(): cut it at the deadline too, or close() never resolves.
    const allClosed = await Promise.race([stopped.then(() => true), expired]);
    if (!allClosed) {
      if (this.upgraded.size > 0) genLog.warning(`Closing ${this.upgraded.size} WebSocket(s) still open after ${timeout}ms`);
      this.server.closeAllConnections();
      this.destroyUpgradeSockets();
    }
    await stopped;
    // Each closed WebSocket's onClose runs once its last message is handled: wait for those
    // too (within the deadline), so that after close() every handler has seen its close.
    if (this.upgraded.size > 0) await Promise.race([new Promise<void>((resolve) => (this.upgradedGone = resolve)), expired]);
    clearTimeout(timer);
  }

  // A WebSocket that opens while the server closes gets the same code at once.
  private adoptUpgraded(connection: UpgradedConnection): () => void {
    this.upgraded.add(connection);
    if (this.closing) connection.goAway(this.goAwayCode, goAwayReason(this.goAwayCode));
    return () => {
      this.upgraded.delete(connection);
      if (this.upgraded.size === 0) this.upgradedGone?.();
    };
  }

  private closeWebSockets(code: number): void {
    this.goAwayCode = code;
    for (const connection of this.upgraded) connection.goAway(code, goAwayReason(code));
  }

  private destroyUpgradeSockets(): void {
    for (const connection of this.upgraded) connection.terminate();
    for (const socket of this.upgradeSockets) socket.destroy();
  }

  /** @internal */
  requestDone(): void {
    this.inflight--;
    if (this.inflight === 0 && this.drained) {
      this.server.closeIdleConnections();
      this.drained();
    }
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.inflight++;
    this.serve(req, new NodeHTTPConnection(this, req, res));
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.inflight++;
    // Node removed its own listeners from the socket: without one, a reset would throw.
    socket.on("error", ignoreSocketError);
    // From Node 26 `socket` is node's wrapper around the connection while a body is arriving.
    req.socket.setTimeout(0);
    const sockets = this.upgradeSockets;
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    // A body sent with an upgrade request (curl's `Upgrade: h2c` POST) gets its content type's limit too.
    const maxBodySize = bodyLimitFor(req.headers["content-type"], this.limits);
    const host = maxBodySize === this.maxBodySize ? this.upgradeHost : { ...this.upgradeHost, maxBodySize };
    const connection = new UpgradeConnection(req, socket, head, host);
    if (this.closing) {
      connection.respond(503, "Service Unavailable", errorHeaders(), errorPage(503));
      return;
    }
    this.serve(req, connection);
  }

  private serve(req: IncomingMessage, connection: NodeHTTPConnection | UpgradeConnection): void {
    const headers = HTTPHeaders.fromFlat(req.rawHeaders);
    const version = `HTTP/${req.httpVersion}`;
    const problem = this.checkRequest(headers, version);
    if (problem !== null) {
      genLog.info(`Malformed HTTP message from ${clientAddress(req)}: ${problem}`);
      connection.closeAfterResponse();
      connection.respond(400, "Bad Request", errorHeaders(), errorPage(400));
      return;
    }
    let remoteIp = clientAddress(req);
    let protocol = this.options.protocol ?? ((req.socket as TLSSocket).encrypted ? "https" : "http");
    if (this.options.xheaders) [remoteIp, protocol] = this.applyXheaders(headers, remoteIp, protocol);
    if (
      this.options.decompressRequest &&
      connection instanceof NodeHTTPConnection &&
      headers.get("Content-Encoding")?.toLowerCase() === "gzip"
    ) {
      connection.gunzip = true;
      headers.delete("Content-Encoding");
      headers.add("X-Consumed-Content-Encoding", "gzip");
    }
    const request = new HTTPServerRequest({
      method: req.method,
      uri: req.url,
      version,
      headers,
      remoteIp,
      protocol,
      connection,
      raw: req,
      bodyLimits: this.bodyLimits,
    });
    try {
      const done = typeof this.delegate === "function" ? this.delegate(request) : this.delegate.handleRequest(request);
      if (done) done.catch((e: unknown) => this.delegateFailed(connection, e));
    } catch (e) {
      this.delegateFailed(connection, e);
    }
  }

  private delegateFailed(connection: NodeHTTPConnection | UpgradeConnection, error: unknown): void {
    appLog.error("Uncaught exception while handling a request", error);
    if (!connection.headersSent) connection.respond(500, "Internal Server Error", errorHeaders(), errorPage(500));
    else connection.abort();
  }

  // Tornado's checks that node's parser does not make (RFC 9112 §2.3, §3.2, §6.1).
  private checkRequest(headers: HTTPHeaders, version: string): string | null {
    // llhttp also takes HTTP/0.9 and HTTP/2.0 request lines; Tornado answers those 400.
    if (version !== "HTTP/1.1" && version !== "HTTP/1.0") return `Unexpected HTTP version ${version}`;
    const te = headers.get("Transfer-Encoding");
    if (te !== undefined && te.toLowerCase() !== "chunked") return `Unsupported Transfer-Encoding ${te}`;
    const hosts = headers.getList("Host");
    if (hosts.length === 0) return version === "HTTP/1.0" ? null : "Missing Host header";
    if (hosts.length > 1 || hosts[0]!.includes(",")) return "Multiple host headers not allowed";
    if (!VALID_HOST.test(hosts[0]!)) return `Invalid Host header: ${JSON.stringify(hosts[0])}`;
    return null;
  }

  private applyXheaders(headers: HTTPHeaders, remoteIp: string, protocol: string): [string, string] {
    let ip = remoteIp;
    const forwarded = headers.get("X-Forwarded-For");
    if (forwarded !== undefined) {
      const hops = forwarded.split(",").map((hop) => hop.trim());
      // The last hop that is not one of our own proxies is the client.
      ip = hops[0]!;
      for (let i = hops.length - 1; i >= 0; i--) {
        ip = hops[i]!;
        if (!this.trusted.has(ip)) break;
      }
    }
    ip = headers.get("X-Real-Ip") ?? ip;
    const scheme = headers.get("X-Scheme") ?? headers.get("X-Forwarded-Proto");
    const lastScheme = scheme?.split(",").pop()?.trim();
    return [isIP(ip) ? ip : remoteIp, lastScheme === "http" || lastScheme === "https" ? lastScheme : protocol];
  }

  // Node's socket timeout fired: between requests (keep-alive) the connection simply closes; a
  // request in flight that has been idle for idleRequestTimeout is answered for, and closed.
  private onIdleSocket(socket: Socket): void {
    const res = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    const connection = connectionOf(res);
    if (connection === undefined || connection.closed) {
      socket.destroy();
      return;
    }
    const req = connection.req;
    genLog.warning(`Closing a request idle for ${this.limits.idleRequestTimeout}ms (idleRequestTimeout): ${req.method} ${req.url} (${clientAddress(req)})`);
    connection.timeOut();
  }

  private onClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
    const inProgress = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
    if (error.code === "ECONNRESET" || !socket.writable || inProgress?.headersSent) {
      socket.destroy();
      return;
    }
    const status = error.code === "HPE_HEADER_OVERFLOW" ? 431 : error.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
    genLog.info(`Malformed HTTP message: ${error.code ?? ""} ${error.message}`);
    socket.end(rawErrorResponse(status));
  }
}

function goAwayReason(code: number): string {
  return code === SERVICE_RESTART ? "Server restarting" : "Server shutting down";
}

function ignoreSocketError(): void {}

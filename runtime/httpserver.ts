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
import type { Duplex, Readable } from "node:stream";
import type { TLSSocket } from "node:tls";
import { createGunzip } from "node:zlib";
import { HTTPInputError } from "./httputil/body.js";
import { HTTPHeaders } from "./httputil/headers.js";
import { HTTPServerRequest, responses, type HTTPConnection } from "./httputil/request.js";
import { StreamClosedError } from "./iostream.js";
import { appLog, genLog } from "./log.js";
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
  /** Largest body accepted; beyond it the answer is 413. Default 100 MiB. */
  maxBodySize?: number;
  /** How long an idle keep-alive connection stays open. Default 3600 s. */
  idleConnectionTimeout?: number;
  /** How long the whole body may take to arrive once it starts; then 408. Default: no limit. */
  bodyTimeout?: number;
  /** Un-gzip request bodies sent with `Content-Encoding: gzip` (the limit applies after). */
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
const EMPTY = Buffer.alloc(0);
const kConnection = Symbol("tornado.connection");
// WebSocket close codes (RFC 6455 §7.4.1, and the IANA registry for 1012).
const GOING_AWAY = 1001;
const SERVICE_RESTART = 1012;

/**
 * The standard error page for a status, as Tornado writes it.
 *
 * @example
 * errorPage(404) // "<html><title>404: Not Found</title><body>404: Not Found</body></html>"
 */
export function errorPage(status: number, reason = responses[status] ?? "Unknown"): string {
  return `<html><title>${status}: ${reason}</title><body>${status}: ${reason}</body></html>`;
}

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
  readonly maxBodySize: number;
  readonly bodyTimeout: number | undefined;
  /** Whether every connection is closed after its response (the `noKeepAlive` option). */
  readonly noKeepAlive: boolean;
  private readonly delegate: RequestDelegate;
  private readonly options: HTTPServerOptions;
  private readonly trusted: Set<string>;
  private inflight = 0;
  private closingPromise: Promise<void> | undefined;
  private drained: (() => void) | undefined;
  // Under `tornado dev`: the supervisor's port, and the sockets it handed over.
  private supervised: { port: number; sockets: Set<Socket> } | undefined;
  // Sockets node handed to the `upgrade` event: node's own connection tracking has let go of them.
  private readonly upgradeSockets = new Set<Socket>();
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
    this.maxBodySize = options.maxBodySize ?? 100 * 1024 * 1024;
    this.bodyTimeout = options.bodyTimeout;
    this.noKeepAlive = options.noKeepAlive ?? false;
    this.trusted = new Set(options.trustedDownstream ?? []);
    const serverOptions: http.ServerOptions = {
      maxHeaderSize: options.maxHeaderSize ?? 64 * 1024,
      // Host is checked here, with Tornado's rules and error page.
      requireHostHeader: false,
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
    this.server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket as Socket, head));
    this.upgradeHost = {
      maxBodySize: this.maxBodySize,
      bodyTimeout: this.bodyTimeout,
      done: () => this.requestDone(),
      adopt: (connection) => this.adoptUpgraded(connection),
    };
    this.server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => this.onClientError(error, socket));
    this.server.keepAliveTimeout = options.idleConnectionTimeout ?? 3600 * 1000;
    // Node's default cuts requests at 5 minutes; bodies have their own `bodyTimeout`.
    this.server.requestTimeout = 0;
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
      this.server.listen(port, host, () => {
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
      this.server.listen(socket, () => {
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

  private onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    this.inflight++;
    // Node removed its own listeners from the socket: without one, a reset would throw.
    socket.on("error", ignoreSocketError);
    socket.setTimeout(0);
    const sockets = this.upgradeSockets;
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    const connection = new UpgradeConnection(req, socket, head, this.upgradeHost);
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
    const request = new HTTPServerRequest({ method: req.method, uri: req.url, version, headers, remoteIp, protocol, connection, raw: req });
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

  // Tornado's checks that node's parser does not make (RFC 9112 §3.2, §6.1).
  private checkRequest(headers: HTTPHeaders, version: string): string | null {
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

function errorHeaders(): HTTPHeaders {
  return HTTPHeaders.fromFlat(["Content-Type", "text/html; charset=UTF-8"], false);
}

function onResponseClose(this: ServerResponse): void {
  (this as ServerResponse & { [kConnection]: NodeHTTPConnection })[kConnection].handleClose();
}

/** `HTTPConnection` over node's request and response objects. */
class NodeHTTPConnection implements HTTPConnection {
  gunzip = false;
  private mustClose = false;
  private detached = false;
  private ended = false;
  private closeCallbacks: (() => void)[] | null = null;
  private body: Promise<Buffer> | undefined;

  constructor(
    private readonly server: HTTPServer,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
  ) {}

  // Node marks the response destroyed when its socket closes (and once it has been sent).
  // Once detached, the response is someone else's: nothing more is written here.
  get closed(): boolean {
    return this.detached || this.res.destroyed;
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
      if (name.length === 14 && name.toLowerCase() === "content-length") return raw[i + 1] !== "0";
      if (name.length === 17 && name.toLowerCase() === "transfer-encoding") return true;
    }
    return false;
  }

  // The close listener is added only when someone asks: most requests never need it.
  onClose(callback: () => void): void {
    if (this.ended) return;
    if (this.closeCallbacks === null) {
      this.closeCallbacks = [];
      (this.res as ServerResponse & { [kConnection]: NodeHTTPConnection })[kConnection] = this;
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
    // A body we never read (the request was refused first) is not drained: the connection closes.
    const unreadBody = this.body === undefined && this.bodyExpected;
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

  private fail(error: Error): Promise<never> {
    this.mustClose = true;
    return Promise.reject(error);
  }

  private receiveBody(): Promise<Buffer> {
    const { req, res, server } = this;
    const max = server.maxBodySize;
    const declared = req.headers["content-length"];
    if (declared !== undefined && Number(declared) > max) return this.fail(new HTTPInputError("Content-Length too long", 413));
    if (req.headers.expect?.toLowerCase() === "100-continue" && !res.headersSent) res.writeContinue();
    return new Promise<Buffer>((resolve, reject) => {
      let source: Readable = req;
      if (this.gunzip) {
        const gunzip = createGunzip();
        req.pipe(gunzip);
        source = gunzip;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let timer: NodeJS.Timeout | undefined;
      const cleanup = () => {
        clearTimeout(timer);
        source.off("data", onData);
        source.off("end", onEnd);
        source.off("error", onError);
        req.off("close", onClose);
      };
      const fail = (error: Error) => {
        cleanup();
        this.mustClose = true;
        if (source !== req) req.unpipe();
        req.pause();
        reject(error);
      };
      const onData = (chunk: Buffer) => {
        size += chunk.length;
        if (size > max) fail(new HTTPInputError(this.gunzip ? "decompressed body too large" : "body too large", 413));
        else chunks.push(chunk);
      };
      const onEnd = () => {
        cleanup();
        resolve(chunks.length === 1 ? chunks[0]! : chunks.length === 0 ? EMPTY : Buffer.concat(chunks, size));
      };
      const onError = (error: Error) => {
        fail(source !== req ? new HTTPInputError(`Invalid gzip body: ${error.message}`) : new StreamClosedError("Connection closed while reading the body", { cause: error }));
      };
      const onClose = () => {
        if (!req.complete) fail(new StreamClosedError("Connection closed while reading the body"));
      };
      source.on("data", onData);
      source.on("end", onEnd);
      source.on("error", onError);
      req.on("close", onClose);
      if (server.bodyTimeout !== undefined) {
        timer = setTimeout(() => fail(new HTTPInputError("Timeout reading body", 408)), server.bodyTimeout);
      }
    });
  }
}

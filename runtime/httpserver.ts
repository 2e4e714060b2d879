/**
 * The HTTP server, as Tornado's `tornado.httpserver`: node's HTTP/1.1 parser underneath,
 * Tornado's limits and checks on top, and a graceful `close()`. This module is the server's
 * life (listen, count requests in flight, close); what it hands each part to lives in
 * httpserver/: node-server.ts (node's server and its timeouts), dispatch.ts (a parsed request
 * to the application), connection.ts and upgrade.ts (one request's connection), upgrades.ts
 * (open WebSockets at shutdown), supervised.ts (`tornado dev`), limits.ts, options.ts.
 *
 * @example
 * import { HTTPServer } from "tornado/httpserver";
 * const server = new HTTPServer(app, { xheaders: true, maxBodySize: 1 << 20 });
 * await server.listen(8888, "127.0.0.1");
 * process.on("SIGTERM", () => server.close());
 */

import type http from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type https from "node:https";
import type { AddressInfo, Server as NetServer, Socket } from "node:net";
import type { Duplex } from "node:stream";
import { genLog } from "./log.js";
import { NodeHTTPConnection, errorHeaders, errorPage } from "./httpserver/connection.js";
import { RequestDispatcher } from "./httpserver/dispatch.js";
import { resolveLimits, type ServerLimits } from "./httpserver/limits.js";
import { createNodeServer } from "./httpserver/node-server.js";
import type { CloseOptions, HTTPServerOptions, RequestDelegate } from "./httpserver/options.js";
import { trackServer, untrackServer } from "./httpserver/registry.js";
import { drainSupervisedSockets, serveSupervised, supervisedPort } from "./httpserver/supervised.js";
import { GOING_AWAY, SERVICE_RESTART, UpgradeTracker } from "./httpserver/upgrades.js";

export { errorPage };
export { isDraining, onShutdown, shutDownGracefully, type ShutdownOptions } from "./httpserver/registry.js";
export { DEFAULT_LIMITS, type ServerLimits } from "./httpserver/limits.js";
export type { CloseOptions, HTTPServerOptions, RequestDelegate } from "./httpserver/options.js";

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
  /** The largest body accepted (`limits.maxBodySize`). */
  readonly maxBodySize: number;
  /** The `bodyTimeout` option: how long a whole body may take to arrive (none if undefined). */
  readonly bodyTimeout: number | undefined;
  /** Whether every connection is closed after its response (the `noKeepAlive` option). */
  readonly noKeepAlive: boolean;
  private readonly dispatcher: RequestDispatcher;
  private readonly upgrades: UpgradeTracker;
  private inflight = 0;
  private closingPromise: Promise<void> | undefined;
  private drained: (() => void) | undefined;
  // Under `tornado dev`: the supervisor's port, and the sockets it handed over.
  private supervised: { port: number; sockets: Set<Socket> } | undefined;
  /** True once `close()` has been called. */
  closing = false;

  constructor(private readonly delegate: RequestDelegate, options: HTTPServerOptions = {}) {
    const limits = (this.limits = resolveLimits(options));
    this.maxBodySize = limits.maxBodySize;
    this.bodyTimeout = options.bodyTimeout;
    this.noKeepAlive = options.noKeepAlive ?? false;
    this.dispatcher = new RequestDispatcher(delegate, options, limits);
    this.upgrades = new UpgradeTracker(limits, this.bodyTimeout, () => this.requestDone());
    this.server = createNodeServer(options, limits, {
      request: (req, res) => this.onRequest(req, res),
      upgrade: (req, socket, head) => this.onUpgrade(req, socket, head),
    });
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
        this.listening();
        resolve(this);
      });
    });
  }

  // Under `tornado dev` the supervisor owns the port and hands each connection over.
  private serveForSupervisor(port: number): this {
    // The supervisor drains this process because a new one now serves: WebSocket clients
    // are told 1012 (Service Restart) so that they reconnect, to the new one.
    const sockets = serveSupervised(this.server, ({ timeout, idleGrace }) => {
      this.closingPromise ??= this.drainSupervised(timeout, idleGrace, SERVICE_RESTART);
      return this.closingPromise;
    });
    this.supervised = { port, sockets };
    if (typeof this.delegate !== "function") this.delegate.serverListening?.(this);
    return this;
  }

  private listening(): void {
    trackServer(this);
    if (typeof this.delegate !== "function") this.delegate.serverListening?.(this);
  }

  private async drainSupervised(timeout: number, idleGrace: number, webSocketCode: number): Promise<void> {
    this.closing = true;
    if (typeof this.delegate !== "function") this.delegate.serverClosing?.(this);
    this.upgrades.goAway(webSocketCode);
    await drainSupervisedSockets(this.server, this.supervised!.sockets, timeout, idleGrace);
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
        this.listening();
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

  /** WebSockets open on this server right now. @example server.openWebSockets // 0 */
  get openWebSockets(): number {
    return this.upgrades.size;
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
    if (this.closingPromise === undefined && typeof this.delegate !== "function") this.delegate.serverClosing?.(this);
    this.closingPromise ??= this.supervised ? this.drainSupervised(timeout, 0, GOING_AWAY) : this.shutDown(timeout);
    return this.closingPromise;
  }

  private async shutDown(timeout: number): Promise<void> {
    this.closing = true;
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    this.upgrades.goAway(GOING_AWAY);
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeout)));
    if (this.inflight > 0) {
      const finished = await Promise.race([new Promise<boolean>((resolve) => (this.drained = () => resolve(true))), expired]);
      if (!finished) {
        genLog.warning(`Closing ${this.inflight} connection(s) with requests still in flight after ${timeout}ms`);
        this.server.closeAllConnections();
        this.upgrades.terminate();
      }
    }
    this.server.closeIdleConnections();
    // A connection whose request head is still arriving is neither idle nor in flight, and node
    // stops its header timeout on close(): cut it at the deadline too, or close() never resolves.
    const allClosed = await Promise.race([stopped.then(() => true), expired]);
    if (!allClosed) {
      if (this.upgrades.size > 0) genLog.warning(`Closing ${this.upgrades.size} WebSocket(s) still open after ${timeout}ms`);
      this.server.closeAllConnections();
      this.upgrades.terminate();
    }
    await stopped;
    // Each closed WebSocket's onClose runs once its last message is handled: wait for those
    // too (within the deadline), so that after close() every handler has seen its close.
    await Promise.race([this.upgrades.whenAllClosed(), expired]);
    clearTimeout(timer);
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
    this.dispatcher.serve(req, new NodeHTTPConnection(this, req, res));
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.inflight++;
    const connection = this.upgrades.open(req, socket, head);
    if (this.closing) {
      connection.respond(503, "Service Unavailable", errorHeaders(), errorPage(503));
      return;
    }
    this.dispatcher.serve(req, connection);
  }
}

/**
 * A TCP server, as Tornado's `tornado.tcpserver`: subclass `TCPServer`, override
 * `handleStream(stream, address)`, and every accepted connection (TLS ones too, with `ssl`)
 * arrives there as an `IOStream`.
 *
 * @example
 * import { TCPServer } from "tornado/tcpserver";
 * import type { IOStream } from "tornado/iostream";
 * class EchoServer extends TCPServer {
 *   override async handleStream(stream: IOStream) {
 *     for (;;) await stream.write(await stream.readUntil("\n"));
 *   }
 * }
 * const port = await new EchoServer().listen(8888);
 */

import { chmod } from "node:fs/promises";
import { createServer, isIP, type AddressInfo, type Server as NetServer, type Socket } from "node:net";
import { createSecureContext, createServer as createTlsServer, type TlsOptions } from "node:tls";
import {
  freeUnixSocketPath,
  isReusePortRefusal,
  reusePortError,
  reusePortUnsupported,
  type ListenOptions,
  type UnixListenOptions,
} from "./httpserver/listen.js";
import { trackServer, untrackServer } from "./httpserver/registry.js";
import { IOStream } from "./iostream/stream.js";
import { StreamClosedError } from "./iostream/errors.js";
import { appLog, genLog } from "./log.js";

/**
 * `TCPServer` options (Tornado's, in camelCase).
 *
 * @example
 * new EchoServer({ ssl: { key, cert }, maxBufferSize: 1 << 20 });
 */
export interface TCPServerOptions {
  /** Serve TLS with these `node:tls` options (`key`, `cert`, `ca`, `requestCert`, …). */
  ssl?: TlsOptions;
  /** Each stream's `maxBufferSize` (default 100 MiB). */
  maxBufferSize?: number;
  /** Each stream's `readChunkSize` (default 64 KiB). */
  readChunkSize?: number;
}

/**
 * Options for `TCPServer.close()`.
 *
 * @example
 * await server.close({ timeout: 5000 });
 */
export interface TCPServerCloseOptions {
  /** How long open connections may take to end by themselves before they are closed. Default 30 s. */
  timeout?: number;
}

// Errors of a client that gave up during the TLS handshake: not worth a warning.
const QUIET_HANDSHAKE_ERRORS = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED"]);

/**
 * A non-blocking TCP server: override `handleStream`, then `listen`.
 *
 * Contract:
 * - `handleStream(stream, address)` is called once per accepted connection (for TLS, once the
 *   handshake is done). It may be async; accepting never waits for it. When it throws or
 *   rejects, the error is logged on `tornado.application` ("Error in connection callback") and
 *   the stream is closed; a `StreamClosedError` (the client left) is not logged.
 * - When it returns, the stream stays open: close it when done, or hand it to something else.
 * - `stop()` stops listening; connections keep going. `close({ timeout })` also lets open
 *   connections end by themselves for `timeout` ms, then closes them.
 *
 * @example
 * class LineCounter extends TCPServer {
 *   override async handleStream(stream: IOStream, address: AddressInfo) {
 *     let lines = 0;
 *     stream.setCloseCallback(() => console.log(`${address.address} sent ${lines} lines`));
 *     for (;;) { await stream.readUntil("\n", { maxBytes: 4096 }); lines++; }
 *   }
 * }
 * const server = new LineCounter();
 * const port = await server.listen(0, "127.0.0.1");
 * process.once("SIGTERM", () => server.close({ timeout: 10_000 }));
 */
export class TCPServer {
  /**
   * True once `close()` has been called: handlers may check it between messages to finish early.
   *
   * @example
   * while (!this.closing) await stream.write(await stream.readUntil("\n"));
   * stream.close();
   */
  closing = false;
  private readonly options: TCPServerOptions;
  private readonly listeners = new Set<NetServer>();
  private readonly streams = new Set<IOStream>();
  private readonly handlers = new Set<Promise<void>>();
  private closingPromise: Promise<void> | undefined;
  private quiet: (() => void) | undefined;

  constructor(options: TCPServerOptions = {}) {
    this.options = options;
    // A bad key or certificate fails here rather than at the first connection (as Tornado checks early).
    if (options.ssl) createSecureContext(options.ssl);
  }

  /**
   * Called with each new connection's stream and the client's address; override it. May be
   * async (see the class contract for errors and the stream's lifetime).
   *
   * @example
   * override async handleStream(stream: IOStream, address: AddressInfo) {
   *   await stream.write(`hello ${address.address}\n`);
   *   stream.close();
   * }
   */
  handleStream(_stream: IOStream, _address: AddressInfo): void | Promise<void> {
    throw new Error("TCPServer.handleStream is not implemented: subclass TCPServer and override handleStream(stream, address)");
  }

  /**
   * Starts accepting connections on `port` (0 picks a free one) and `host` (default: every
   * interface); resolves with the port bound. May be called again to listen on more ports.
   * A port in use rejects with a message saying so. With `{ reusePort: true }` other servers
   * (and processes) may listen on the same port and the kernel spreads connections among them
   * (`SO_REUSEPORT`, Tornado's `reuse_port`); on Node before 22.12 or a platform without it,
   * `listen` rejects with `ERR_REUSE_PORT_UNSUPPORTED` rather than binding without it.
   *
   * @example
   * const port = await server.listen(0, "127.0.0.1");
   * await new EchoServer().listen(8888, "0.0.0.0", { reusePort: true }); // one per process
   */
  listen(port = 0, host?: string, options: ListenOptions = {}): Promise<number> {
    const { reusePort = false } = options;
    const unsupported = reusePort ? reusePortUnsupported() : null;
    if (unsupported !== null) return Promise.reject(reusePortError(unsupported));
    const listener = this.createListener();
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        if (reusePort && isReusePortRefusal(error)) return reject(reusePortError(`reusePort is not supported on ${process.platform}`, error));
        if (error.code === "EADDRINUSE") {
          error.message = `Port ${port} is already in use${host ? ` on ${host}` : ""}: stop the other server or choose another port`;
        }
        reject(error);
      };
      listener.once("error", onError);
      // `reusePort` is not in the ListenOptions of @types/node 20.
      listener.listen({ port, host, ...(reusePort ? { reusePort } : {}) }, () => {
        listener.off("error", onError);
        resolve(this.started(listener));
      });
    });
  }

  /**
   * Starts accepting connections on a Unix socket at `path`, as Tornado's `bind_unix_socket`:
   * a socket file a dead server left behind is removed first, a path that is not a socket is
   * refused (`ERR_NOT_A_SOCKET`) and so is one a live server answers on (`EADDRINUSE`). The
   * file gets `mode` (default 0o600); `stop()` and `close()` remove it. `handleStream` gets the
   * address `{ address: "", port: 0 }` for these connections. Not available on Windows, where
   * it rejects with `ERR_UNIX_SOCKET_UNSUPPORTED`.
   *
   * @example
   * await new EchoServer().listenUnix("/run/echo.sock", { mode: 0o660 });
   * // elsewhere: const stream = new IOStream(net.connect("/run/echo.sock"));
   */
  async listenUnix(path: string, options: UnixListenOptions = {}): Promise<void> {
    if (process.platform === "win32") {
      throw Object.assign(new Error("listenUnix is not supported on Windows: listen on a port instead"), {
        code: "ERR_UNIX_SOCKET_UNSUPPORTED",
      });
    }
    const { mode = 0o600 } = options;
    await freeUnixSocketPath(path);
    const listener = this.createListener();
    await new Promise<void>((resolve, reject) => {
      listener.once("error", reject);
      listener.listen({ path }, () => {
        listener.off("error", reject);
        resolve();
      });
    });
    if (!path.startsWith("\0")) {
      await chmod(path, mode).catch((error: unknown) => {
        listener.close();
        throw error;
      });
    }
    this.started(listener);
  }

  /**
   * Starts accepting connections on sockets that are already listening (from
   * `bindUnusedPort()`, or inherited from a parent process as `{ fd }`); resolves with the
   * ports. Tornado's `add_sockets`.
   *
   * @example
   * const { socket } = await bindUnusedPort();
   * const [port] = await server.addSockets([socket]);
   */
  async addSockets(sockets: (NetServer | { fd: number })[]): Promise<number[]> {
    return Promise.all(sockets.map((socket) => this.addSocket(socket)));
  }

  /**
   * Singular `addSockets`: resolves with the socket's port.
   *
   * @example
   * const port = await server.addSocket({ fd: 3 });
   */
  addSocket(socket: NetServer | { fd: number }): Promise<number> {
    const listener = this.createListener();
    return new Promise((resolve, reject) => {
      listener.once("error", reject);
      listener.listen(socket, () => {
        listener.off("error", reject);
        resolve(this.started(listener));
      });
    });
  }

  /**
   * Stops listening for new connections; open connections carry on (Tornado's `stop`).
   *
   * @example
   * server.stop();
   */
  stop(): void {
    for (const listener of this.listeners) listener.close();
    this.listeners.clear();
  }

  /**
   * Stops listening, waits up to `timeout` ms (default 30 s) for open connections to end (a
   * handler closing its stream, or the client leaving), then closes those still open.
   * Resolves once every connection is closed and every `handleStream` has settled (or, for
   * handlers stuck on something else, once their streams were closed at the deadline).
   * Calling it again returns the same promise.
   *
   * @example
   * process.once("SIGTERM", async () => { await server.close({ timeout: 10_000 }); process.exit(0); });
   */
  close(options: TCPServerCloseOptions = {}): Promise<void> {
    untrackServer(this);
    this.closingPromise ??= this.shutDown(options.timeout ?? 30_000);
    return this.closingPromise;
  }

  private async shutDown(timeout: number): Promise<void> {
    this.closing = true;
    this.stop();
    let timer: NodeJS.Timeout | undefined;
    const quiet = new Promise<boolean>((resolve) => {
      this.quiet = () => resolve(true);
      timer = setTimeout(() => resolve(false), timeout);
    });
    this.checkQuiet();
    const finished = await quiet;
    clearTimeout(timer);
    this.quiet = undefined;
    if (finished) return;
    if (this.streams.size > 0) genLog.warning(`Closing ${this.streams.size} TCP connection(s) still open after ${timeout}ms`);
    for (const stream of this.streams) stream.close();
    // Lets handlers awaiting those streams see StreamClosedError and run their cleanup.
    await new Promise((resolve) => setImmediate(resolve));
  }

  private checkQuiet(): void {
    if (this.quiet && this.streams.size === 0 && this.handlers.size === 0) this.quiet();
  }

  private createListener(): NetServer {
    const onConnection = (socket: Socket) => this.acceptConnection(socket);
    if (!this.options.ssl) return createServer(onConnection);
    const listener = createTlsServer(this.options.ssl, onConnection);
    listener.on("tlsClientError", (error: NodeJS.ErrnoException, socket: Socket) => {
      if (error.code === undefined || !QUIET_HANDSHAKE_ERRORS.has(error.code)) {
        genLog.warning(`TLS handshake error from ${clientAddress(socket).address}: ${error.message}`);
      }
    });
    return listener;
  }

  private started(listener: NetServer): number {
    this.listeners.add(listener);
    // Accept errors (EMFILE, …) after listening would otherwise crash the process.
    listener.on("error", (error) => genLog.error("Error on a TCPServer listener", error));
    trackServer(this);
    const address = listener.address();
    return typeof address === "object" && address !== null ? address.port : 0;
  }

  private acceptConnection(socket: Socket): void {
    const stream = new IOStream(socket, { maxBufferSize: this.options.maxBufferSize, readChunkSize: this.options.readChunkSize });
    this.streams.add(stream);
    socket.once("close", () => {
      this.streams.delete(stream);
      this.checkQuiet();
    });
    let result: void | Promise<void>;
    try {
      result = this.handleStream(stream, clientAddress(socket));
    } catch (error) {
      this.handlerFailed(stream, error);
      return;
    }
    if (result instanceof Promise) {
      const running: Promise<void> = Promise.resolve(result)
        .catch((error: unknown) => this.handlerFailed(stream, error))
        .finally(() => {
          this.handlers.delete(running);
          this.checkQuiet();
        });
      this.handlers.add(running);
    }
  }

  private handlerFailed(stream: IOStream, error: unknown): void {
    if (!(error instanceof StreamClosedError)) appLog.error("Error in connection callback", error);
    stream.close();
  }
}

function clientAddress(socket: Socket): AddressInfo {
  // A Unix socket client has no address (Tornado gives it "").
  if (socket.remoteAddress === undefined && socket.remotePort === undefined) return { address: "", port: 0, family: "unix" };
  let address = socket.remoteAddress ?? "unknown";
  // An IPv4 client of a dual-stack listener, as the address it connected from.
  if (address.startsWith("::ffff:") && isIP(address.slice(7)) === 4) address = address.slice(7);
  return { address, port: socket.remotePort ?? 0, family: isIP(address) === 6 ? "IPv6" : "IPv4" };
}

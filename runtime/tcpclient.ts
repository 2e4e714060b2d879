/**
 * A TCP client, as Tornado's `tornado.tcpclient`: `TCPClient.connect(host, port, options)`
 * resolves with an `IOStream` on the new connection (TLS with `ssl`), trying every address of
 * the host (IPv6 and IPv4, "happy eyeballs") within an optional `timeout`.
 *
 * @example
 * import { TCPClient } from "tornado/tcpclient";
 * const stream = await new TCPClient().connect("127.0.0.1", 8888, { timeout: 5000 });
 * await stream.write("hello\n");
 * console.log(String(await stream.readUntil("\n")));
 * stream.close();
 */

import { connect as connectTcp, type Socket } from "node:net";
import { connect as connectTls, type ConnectionOptions } from "node:tls";
import { StreamClosedError } from "./iostream/errors.js";
import { IOStream } from "./iostream/stream.js";
import { TimeoutError } from "./gen.js";

/**
 * Options of `TCPClient.connect` (Tornado's, in camelCase; times in milliseconds).
 *
 * @example
 * await client.connect("db.internal", 5432, { timeout: 3000, sourceIp: "10.0.0.5" } satisfies ConnectOptions);
 */
export interface ConnectOptions {
  /** Give up after this long (name lookup, connection and TLS handshake together): rejects with `ConnectTimeoutError`. Default: no limit. */
  timeout?: number;
  /** Local address to connect from. */
  sourceIp?: string;
  /** Local port to connect from. */
  sourcePort?: number;
  /** Only IPv4 (4) or IPv6 (6) addresses of the host; default both. */
  family?: 4 | 6;
  /** Connect with TLS: `true` for the defaults (certificate checked against the system CAs and `host`), or `node:tls` options (`ca`, `rejectUnauthorized`, `servername`, …). */
  ssl?: boolean | ConnectionOptions;
  /** The stream's `maxBufferSize` (default 100 MiB). */
  maxBufferSize?: number;
}

/**
 * `TCPClient.connect` did not connect within its `timeout`: a `TimeoutError` (from
 * `tornado/gen`, as Tornado raises), with `code === "ERR_TIMEOUT"` like every timeout here.
 *
 * @example
 * try { await client.connect(host, port, { timeout: 1000 }); } catch (e) {
 *   if ((e as { code?: string }).code === "ERR_TIMEOUT") console.log("no answer within 1 s");
 * }
 */
export class ConnectTimeoutError extends TimeoutError {
  constructor(message = "Timeout") {
    super(message);
    this.name = "ConnectTimeoutError";
  }
}

// Errors that happen before any connection is attempted: Tornado lets the resolver's error through.
const LOOKUP_ERRORS = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_FAIL", "EAI_NONAME", "EAI_NODATA"]);

function ignore(): void {}

/**
 * Opens TCP connections and wraps each in an `IOStream`.
 *
 * Contract of `connect`: resolves with a connected stream (for TLS, once the handshake is
 * done). A refused or unreachable connection rejects with `StreamClosedError` whose
 * `realError` is the socket error (as Tornado); a host that does not resolve rejects with the
 * lookup error itself (`ENOTFOUND`); a failed TLS handshake with the TLS error itself; no
 * connection within `timeout` with `ConnectTimeoutError` (and the attempt is abandoned).
 *
 * @example
 * const client = new TCPClient();
 * try {
 *   const stream = await client.connect("example.com", 443, { ssl: true, timeout: 5000 });
 * } catch (e) {
 *   if (e instanceof StreamClosedError) console.log("refused:", e.realError);
 * }
 */
export class TCPClient {
  /**
   * Connects to `host`:`port`; see the class contract.
   *
   * @example
   * const stream = await new TCPClient().connect("localhost", 6379, { timeout: 2000 });
   * await stream.write("PING\r\n");
   * await stream.readUntil("\r\n"); // "+PONG\r\n"
   */
  connect(host: string, port: number, options: ConnectOptions = {}): Promise<IOStream> {
    const base = {
      host,
      port,
      localAddress: options.sourceIp,
      localPort: options.sourcePort,
      family: options.family,
      autoSelectFamily: options.family === undefined,
    };
    const tlsOptions = options.ssl === true ? {} : options.ssl || null;
    return new Promise((resolve, reject) => {
      const socket: Socket = tlsOptions ? connectTls({ ...base, ...tlsOptions }) : connectTcp(base);
      const readyEvent = tlsOptions ? "secureConnect" : "connect";
      let tcpConnected = false;
      let timer: NodeJS.Timeout | undefined;
      const onTcpConnect = () => (tcpConnected = true);
      const settle = () => {
        clearTimeout(timer);
        socket.off(readyEvent, onReady);
        socket.off("connect", onTcpConnect);
        socket.off("error", onError);
      };
      const onReady = () => {
        settle();
        resolve(new IOStream(socket, { maxBufferSize: options.maxBufferSize }));
      };
      const onError = (error: NodeJS.ErrnoException) => {
        settle();
        socket.destroy();
        const lookupFailed = error.syscall === "getaddrinfo" || (error.code !== undefined && LOOKUP_ERRORS.has(error.code));
        const handshakeFailed = tlsOptions !== null && tcpConnected;
        reject(lookupFailed || handshakeFailed ? error : new StreamClosedError(`Could not connect to ${host}:${port}`, { cause: error }));
      };
      socket.on(readyEvent, onReady);
      socket.on("connect", onTcpConnect);
      socket.on("error", onError);
      if (options.timeout !== undefined) {
        timer = setTimeout(() => {
          settle();
          socket.on("error", ignore);
          socket.destroy();
          reject(new ConnectTimeoutError(`Timed out connecting to ${host}:${port} after ${options.timeout}ms`));
        }, options.timeout);
      }
    });
  }
}

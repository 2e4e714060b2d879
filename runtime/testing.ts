/**
 * Test helpers for vitest (or any runner), as Tornado's `tornado.testing`: a real server on an
 * ephemeral port with `fetch` and WebSocket clients, a free port, and log assertions.
 *
 * @example
 * import { createTestServer, expectLog } from "tornado/testing";
 * const t = await createTestServer(makeApp());
 * const res = await t.fetch("/users/42");
 * expect(res.status).toBe(200);
 * const ws = await t.websocket("/echo");
 * await ws.writeMessage("hi");
 * expect(await ws.readMessage()).toBe("hi");
 * await t.close();
 */

import { createServer, type Server as NetServer } from "node:net";
import { HTTPServer, type HTTPServerOptions, type RequestDelegate } from "./httpserver.js";
import { getLogger, interceptLogs, type LogLevel, type LogRecord, type Logger } from "./log.js";
import { websocketConnect, type WebSocketClientConnection, type WebSocketConnectOptions } from "./websocket/client.js";

export { standardDecorators, type TransformPlugin } from "./testing/decorators.js";

/**
 * A running server for tests; `fetch` and `url` take paths relative to it.
 *
 * @example
 * const t: TestServer = await createTestServer(app);
 */
export interface TestServer {
  readonly server: HTTPServer;
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string;
  /** The absolute URL of `path`. @example t.url("/ws") */
  url(path: string): string;
  /** `fetch()` against the server: a real request over a real socket. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /**
   * Opens a WebSocket to `path` on the server (see `websocketConnect`); rejects with
   * `WebSocketHandshakeError` when the handshake is refused.
   */
  websocket(path: string, options?: WebSocketConnectOptions): Promise<WebSocketClientConnection>;
  /** Shuts the server down gracefully (see `HTTPServer.close`): open WebSockets get 1001. */
  close(): Promise<void>;
}

/**
 * Starts `app` on a free port of 127.0.0.1 and returns a client for it: `fetch` for HTTP,
 * `websocket` for WebSockets, `close` to shut down.
 *
 * @example
 * const t = await createTestServer(makeApp(), { maxBodySize: 1024 });
 * const res = await t.fetch("/items", { method: "POST", body: JSON.stringify({ name: "x" }) });
 * const chat = await t.websocket("/chat/lobby", { subprotocols: ["chat.v2"] });
 * await t.close();
 */
export async function createTestServer(app: RequestDelegate, options: HTTPServerOptions = {}): Promise<TestServer> {
  const server = await new HTTPServer(app, options).listen(0, "127.0.0.1");
  const protocol = options.sslOptions ? "https" : "http";
  const baseUrl = `${protocol}://127.0.0.1:${server.port}`;
  const url = (path: string) => new URL(path, baseUrl).href;
  return {
    server,
    port: server.port,
    baseUrl,
    url,
    fetch: (path, init) => fetch(url(path), init),
    websocket: (path, options) => websocketConnect(url(path), options),
    close: () => server.close({ timeout: 5000 }),
  };
}

/**
 * Binds a listening socket on a free port, for a server you start yourself.
 *
 * @example
 * const { port, socket } = await bindUnusedPort();
 * await new HTTPServer(app).addSocket(socket);
 */
export function bindUnusedPort(host = "127.0.0.1"): Promise<{ port: number; socket: NetServer }> {
  return new Promise((resolve, reject) => {
    const socket = createServer();
    socket.once("error", reject);
    socket.listen(0, host, () => {
      const address = socket.address();
      if (address === null || typeof address === "string") reject(new Error("no TCP port bound"));
      else resolve({ port: address.port, socket });
    });
  });
}

/**
 * Options for `expectLog`.
 *
 * @example
 * await expectLog("tornado.access", /404/, run, { required: false });
 */
export interface ExpectLogOptions {
  /** Fail when no matching record was logged (default true). */
  required?: boolean;
  /** Only records at this level match. */
  level?: LogLevel;
}

/**
 * Runs `fn` and asserts that `logger` logged a record whose message matches `pattern` (a
 * regular expression, or a substring); matching records are kept off the output. Resolves to
 * what `fn` returns.
 *
 * @example
 * await expectLog("tornado.access", /404 GET \/nope/, () => t.fetch("/nope"));
 * await expectLog("tornado.application", "Uncaught exception", () => t.fetch("/boom"));
 */
export async function expectLog<T>(
  logger: string | Logger,
  pattern: RegExp | string,
  fn: () => T | Promise<T>,
  options: ExpectLogOptions = {},
): Promise<T> {
  const name = typeof logger === "string" ? logger : logger.name;
  getLogger(name);
  const matches = (record: LogRecord) =>
    record.logger === name &&
    (options.level === undefined || record.level === options.level) &&
    (typeof pattern === "string" ? record.message.includes(pattern) : pattern.test(record.message));
  let matched = 0;
  const stop = interceptLogs((record) => {
    if (!matches(record)) return false;
    matched++;
    return true;
  });
  try {
    const result = await fn();
    if ((options.required ?? true) && matched === 0) {
      throw new Error(`expectLog: nothing logged on ${name} matched ${String(pattern)}`);
    }
    return result;
  } finally {
    stop();
  }
}

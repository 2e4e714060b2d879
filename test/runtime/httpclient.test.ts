import { spawn, spawnSync, execFileSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import { createServer as createTcpServer, connect, type Server as TcpServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  Application,
  AsyncHTTPClient,
  HTTPClientError,
  HTTPHeaders,
  HTTPRequest,
  HTTPResponse,
  HTTPStreamClosedError,
  HTTPTimeoutError,
  RequestHandler,
  VERSION,
  accessLog,
  createTestServer,
  type AsyncHTTPClientOptions,
  type TestServer,
} from "../../runtime/index.js";
import { deferred, type Deferred } from "../helpers/deferred.js";

// ---------------------------------------------------------------------------------------------
// The application the client talks to. Handlers reach the per-test state through settings.

class State {
  /** Requests being served by /slow right now, and the most at once. */
  inFlight = 0;
  maxInFlight = 0;
  /** The `id` query argument of each /slow request, in the order they arrived. */
  arrivals: string[] = [];
  /** Resolves each time a /slow request arrives. */
  arrived: Deferred = deferred();
  /** /slow waits on this. */
  release = deferred();
}

function state(handler: RequestHandler): State {
  return handler.settings.state as State;
}

class EchoHandler extends RequestHandler {
  private echo() {
    this.write({
      method: this.request.method,
      uri: this.request.uri,
      headers: Object.fromEntries([...this.request.headers].map(([k]) => [k.toLowerCase(), this.request.headers.get(k)])),
      body: this.request.body.toString("utf8"),
    });
  }
  get() {
    this.echo();
  }
  post() {
    this.echo();
  }
  put() {
    this.echo();
  }
  delete() {
    this.echo();
  }
}

class StatusHandler extends RequestHandler {
  get(code: string) {
    this.setStatus(Number(code));
    this.write(`status ${code}`);
  }
}

/** `/redirect?to=…&status=…`: a redirect of the given status; for GET, POST, PUT and HEAD. */
class RedirectingHandler extends RequestHandler {
  private go() {
    this.redirect(this.getArgument("to"), false, Number(this.getArgument("status", "302")));
  }
  get() {
    this.go();
  }
  post() {
    this.go();
  }
  put() {
    this.go();
  }
  head() {
    this.go();
  }
}

/** `/chain/N`: redirects to /chain/N-1, and /chain/0 answers. */
class ChainHandler extends RequestHandler {
  get(n: string) {
    if (n === "0") this.write("end of chain");
    else this.redirect(`/chain/${Number(n) - 1}`);
  }
}

class SlowHandler extends RequestHandler {
  async get() {
    const s = state(this);
    s.inFlight++;
    s.maxInFlight = Math.max(s.maxInFlight, s.inFlight);
    s.arrivals.push(this.getArgument("id", ""));
    s.arrived.resolve();
    s.arrived = deferred();
    try {
      await s.release.promise;
      this.write(`slow ${this.getArgument("id", "")}`);
    } finally {
      s.inFlight--;
    }
  }
}

class ConnectionHandler extends RequestHandler {
  get() {
    this.write({ remote: `${this.request.remoteIp}:${this.request.raw?.socket.remotePort}` });
  }
}

function makeApp(s: State): Application {
  return new Application(
    [
      ["/echo", EchoHandler],
      ["/status/(\\d+)", StatusHandler],
      ["/redirect", RedirectingHandler],
      ["/chain/(\\d+)", ChainHandler],
      ["/slow", SlowHandler],
      ["/connection", ConnectionHandler],
    ],
    { state: s },
  );
}

// ---------------------------------------------------------------------------------------------
// Per-test servers, clients and cleanup.

let s: State;
let t: TestServer;
let client: AsyncHTTPClient;
const clients: AsyncHTTPClient[] = [];
const rawServers: (http.Server | TcpServer)[] = [];
const sockets = new Set<Socket>();

beforeAll(() => accessLog.setLevel("silent"));
afterAll(() => accessLog.setLevel(undefined));

beforeEach(async () => {
  s = new State();
  t = await createTestServer(makeApp(s));
  client = newClient();
});

afterEach(async () => {
  s.release.resolve();
  for (const c of clients.splice(0)) c.close();
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  await Promise.all(
    rawServers.splice(0).map((server) => {
      if ("closeAllConnections" in server) server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    }),
  );
  await t.close();
});

function newClient(options: AsyncHTTPClientOptions = {}): AsyncHTTPClient {
  const c = new AsyncHTTPClient(options);
  clients.push(c);
  return c;
}

/** A node:http server with full control of the bytes, on a free port of 127.0.0.1. */
async function rawServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = http.createServer(handler);
  server.on("connection", (socket) => sockets.add(socket));
  rawServers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** A TCP server that accepts connections and never sends a byte. */
async function silentServer(): Promise<number> {
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
  });
  rawServers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as { port: number }).port;
}

async function rejection(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error("expected the promise to reject");
}

interface Echo {
  method: string;
  uri: string;
  headers: Record<string, string>;
  body: string;
}

// ---------------------------------------------------------------------------------------------

describe("AsyncHTTPClient.fetch(url)", () => {
  it("resolves to an HTTPResponse with code, reason, headers, body, effectiveUrl, requestTime and request", async () => {
    const response = await client.fetch(t.url("/echo?x=1"));
    expect(response).toBeInstanceOf(HTTPResponse);
    expect(response.code).toBe(200);
    expect(response.reason).toBe("OK");
    expect(response.headers).toBeInstanceOf(HTTPHeaders);
    expect(response.headers.get("content-type")).toBe("application/json; charset=UTF-8");
    expect(Buffer.isBuffer(response.body)).toBe(true);
    expect(response.json<Echo>().uri).toBe("/echo?x=1");
    expect(JSON.parse(response.text())).toEqual(response.json());
    expect(response.effectiveUrl).toBe(t.url("/echo?x=1"));
    expect(response.requestTime).toBeGreaterThan(0);
    expect(response.request).toBeInstanceOf(HTTPRequest);
    expect(response.request.url).toBe(t.url("/echo?x=1"));
    expect(response.error).toBeUndefined();
  });

  it("sends Host, User-Agent Tornado/<version> and Accept-Encoding: gzip", async () => {
    const { headers } = (await client.fetch(t.url("/echo"))).json<Echo>();
    expect(headers.host).toBe(`127.0.0.1:${t.port}`);
    expect(headers["user-agent"]).toBe(`Tornado/${VERSION}`);
    expect(headers["accept-encoding"]).toBe("gzip");
  });

  it("sends headers given as an object or as HTTPHeaders; userAgent replaces the User-Agent", async () => {
    const fromObject = (await client.fetch(t.url("/echo"), { headers: { "X-Trace": "abc", "User-Agent": "mine" } })).json<Echo>();
    expect(fromObject.headers["x-trace"]).toBe("abc");
    expect(fromObject.headers["user-agent"]).toBe("mine");
    const headers = new HTTPHeaders();
    headers.add("X-Many", "1");
    headers.add("X-Many", "2");
    const fromHeaders = (await client.fetch(t.url("/echo"), { headers, userAgent: "agent/2" })).json<Echo>();
    expect(fromHeaders.headers["x-many"]).toBe("1,2");
    expect(fromHeaders.headers["user-agent"]).toBe("agent/2");
  });

  it("sends If-Modified-Since for ifModifiedSince", async () => {
    const { headers } = (await client.fetch(t.url("/echo"), { ifModifiedSince: new Date(Date.UTC(2013, 0, 27, 18, 43, 20)) })).json<Echo>();
    expect(headers["if-modified-since"]).toBe("Sun, 27 Jan 2013 18:43:20 GMT");
  });

  it("reuses a kept-alive connection for the next request to the same host", async () => {
    const first = (await client.fetch(t.url("/connection"))).json<{ remote: string }>();
    const second = (await client.fetch(t.url("/connection"))).json<{ remote: string }>();
    expect(second.remote).toBe(first.remote);
  });

  it("accepts an HTTPRequest, and refuses request options next to one", async () => {
    const request = new HTTPRequest(t.url("/echo"), { method: "PUT", body: "put body" });
    const response = await client.fetch(request);
    expect(response.request).toBe(request);
    expect(response.json<Echo>()).toMatchObject({ method: "PUT", body: "put body" });
    const error = await rejection(client.fetch(request, { method: "GET" } as never));
    expect(error).toBeInstanceOf(TypeError);
  });

  it("rejects a URL that is not absolute http(s)", async () => {
    expect(await rejection(client.fetch("/relative"))).toBeInstanceOf(TypeError);
    const ftp = await rejection(client.fetch("ftp://127.0.0.1/file"));
    expect(ftp).toBeInstanceOf(TypeError);
    expect(ftp.message).toBe("Unsupported url scheme: ftp://127.0.0.1/file");
  });

  it("rejects after close()", async () => {
    const c = newClient();
    c.close();
    const error = await rejection(c.fetch(t.url("/echo")));
    expect(error.message).toMatch(/closed AsyncHTTPClient/);
  });
});

describe("AsyncHTTPClient.fetch: method and body", () => {
  it("sends a string body as UTF-8 with Content-Length, and a form Content-Type by default for POST", async () => {
    const echo = (await client.fetch(t.url("/echo"), { method: "POST", body: "name=café" })).json<Echo>();
    expect(echo.method).toBe("POST");
    expect(echo.body).toBe("name=café");
    expect(echo.headers["content-length"]).toBe(String(Buffer.byteLength("name=café")));
    expect(echo.headers["content-type"]).toBe("application/x-www-form-urlencoded");
  });

  it("sends a Buffer body and keeps a Content-Type given", async () => {
    const echo = (
      await client.fetch(t.url("/echo"), { method: "POST", body: Buffer.from('{"a":1}'), headers: { "Content-Type": "application/json" } })
    ).json<Echo>();
    expect(echo.body).toBe('{"a":1}');
    expect(echo.headers["content-type"]).toBe("application/json");
  });

  it("refuses a body on GET and no body on POST, as Tornado does", async () => {
    const get = await rejection(client.fetch(t.url("/echo"), { body: "x" }));
    expect(get).toBeInstanceOf(TypeError);
    expect(get.message).toMatch(/body is not allowed for method GET/);
    const post = await rejection(client.fetch(t.url("/echo"), { method: "POST" }));
    expect(post).toBeInstanceOf(TypeError);
    expect(post.message).toMatch(/body is required for method POST/);
    const empty = await client.fetch(t.url("/echo"), { method: "POST", body: "" });
    expect(empty.json<Echo>().headers["content-length"]).toBe("0");
  });

  it("refuses an unknown method unless allowNonstandardMethods, which also allows a body on GET", async () => {
    expect(await rejection(client.fetch(t.url("/echo"), { method: "PROPFIND" }))).toBeInstanceOf(TypeError);
    const seen: { method: string; body: string }[] = [];
    const url = await rawServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        seen.push({ method: req.method!, body });
        res.end("ok");
      });
    });
    await client.fetch(url, { method: "PROPFIND", allowNonstandardMethods: true });
    await client.fetch(url, { body: "get body", allowNonstandardMethods: true });
    expect(seen).toEqual([
      { method: "PROPFIND", body: "" },
      { method: "GET", body: "get body" },
    ]);
  });
});

describe("AsyncHTTPClient.fetch: raiseError", () => {
  it("rejects a non-2xx response with HTTPClientError carrying the code and the response", async () => {
    const error = await rejection(client.fetch(t.url("/status/404")));
    expect(error).toBeInstanceOf(HTTPClientError);
    expect(error.code).toBe(404);
    expect(error.message).toBe("HTTP 404: Not Found");
    expect(error.response).toBeInstanceOf(HTTPResponse);
    expect(error.response.code).toBe(404);
    expect(error.response.text()).toBe("status 404");
  });

  it("with raiseError false, resolves with the response and its error", async () => {
    const response = await client.fetch(t.url("/status/503"), { raiseError: false });
    expect(response.code).toBe(503);
    expect(response.reason).toBe("Service Unavailable");
    expect(response.text()).toBe("status 503");
    expect(response.error).toBeInstanceOf(HTTPClientError);
    expect(() => response.rethrow()).toThrow("HTTP 503: Service Unavailable");
  });

  it("with raiseError false, still rejects when no response came (599)", async () => {
    const { port, close } = await refusedPort();
    close();
    const error = await rejection(client.fetch(`http://127.0.0.1:${port}/`, { raiseError: false }));
    expect(error).toBeInstanceOf(HTTPClientError);
    expect(error.code).toBe(599);
    expect(error.cause.code).toBe("ECONNREFUSED");
    expect(error.response).toBeUndefined();
  });
});

/** A port with nothing listening on it (bound, then closed). */
async function refusedPort(): Promise<{ port: number; close: () => void }> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return { port, close: () => server.close() };
}

describe("AsyncHTTPClient.fetch: redirects", () => {
  it("follows redirects and reports the final URL as effectiveUrl", async () => {
    const response = await client.fetch(t.url("/chain/3"));
    expect(response.text()).toBe("end of chain");
    expect(response.effectiveUrl).toBe(t.url("/chain/0"));
    expect(response.request.url).toBe(t.url("/chain/3"));
  });

  it("stops after maxRedirects (default 5) and returns the last redirect, an error by default", async () => {
    expect((await client.fetch(t.url("/chain/5"))).text()).toBe("end of chain");
    const error = await rejection(client.fetch(t.url("/chain/6")));
    expect(error).toBeInstanceOf(HTTPClientError);
    expect(error.code).toBe(302);
    expect(error.response.headers.get("Location")).toBe("/chain/0");
    const limited = await client.fetch(t.url("/chain/3"), { maxRedirects: 2, raiseError: false });
    expect(limited.code).toBe(302);
    expect(limited.effectiveUrl).toBe(t.url("/chain/1"));
  });

  it("does not follow with followRedirects false: the 3xx is the answer", async () => {
    const error = await rejection(client.fetch(t.url("/chain/1"), { followRedirects: false }));
    expect(error.code).toBe(302);
    expect(error.response.headers.get("Location")).toBe("/chain/0");
  });

  it("turns POST into a GET without body on 303, 302 and 301", async () => {
    for (const status of [303, 302, 301]) {
      const to = encodeURIComponent("/echo");
      const echo = (
        await client.fetch(t.url(`/redirect?to=${to}&status=${status}`), {
          method: "POST",
          body: "a=1",
          headers: { "Content-Type": "text/plain" },
        })
      ).json<Echo>();
      expect(echo.method).toBe("GET");
      expect(echo.body).toBe("");
      expect(echo.headers["content-type"]).toBeUndefined();
      expect(echo.headers["content-length"]).toBeUndefined();
    }
  });

  it("turns PUT into GET on 303 but keeps the method and body on 307 and 308", async () => {
    const to = encodeURIComponent("/echo");
    const after303 = (await client.fetch(t.url(`/redirect?to=${to}&status=303`), { method: "PUT", body: "x" })).json<Echo>();
    expect(after303.method).toBe("GET");
    for (const status of [307, 308]) {
      const echo = (await client.fetch(t.url(`/redirect?to=${to}&status=${status}`), { method: "POST", body: "kept" })).json<Echo>();
      expect(echo).toMatchObject({ method: "POST", body: "kept" });
    }
  });

  it("keeps Authorization and Cookie on the same host, and drops them on another host", async () => {
    const c = newClient({ hostnameMapping: { "one.test": "127.0.0.1", "two.test": "127.0.0.1" } });
    const options = { authUsername: "ann", authPassword: "pw", headers: { Cookie: "sid=1" } };
    const same = (await c.fetch(`http://one.test:${t.port}/redirect?to=/echo`, options)).json<Echo>();
    expect(same.headers.authorization).toBe("Basic " + Buffer.from("ann:pw").toString("base64"));
    expect(same.headers.cookie).toBe("sid=1");
    expect(same.headers.host).toBe(`one.test:${t.port}`);
    const to = encodeURIComponent(`http://two.test:${t.port}/echo`);
    const other = await c.fetch(`http://one.test:${t.port}/redirect?to=${to}`, options);
    expect(other.effectiveUrl).toBe(`http://two.test:${t.port}/echo`);
    const echo = other.json<Echo>();
    expect(echo.headers.host).toBe(`two.test:${t.port}`);
    expect(echo.headers.authorization).toBeUndefined();
    expect(echo.headers.cookie).toBeUndefined();
  });

  it("does not call headerCallback for a redirect it follows", async () => {
    const lines: string[] = [];
    await client.fetch(t.url("/chain/1"), { headerCallback: (line) => lines.push(line) });
    expect(lines.filter((line) => line.startsWith("HTTP/"))).toEqual(["HTTP/1.1 200 OK\r\n"]);
  });
});

describe("AsyncHTTPClient.fetch: decompressResponse", () => {
  let seenAcceptEncoding: (string | undefined)[];
  let url: string;
  beforeEach(async () => {
    seenAcceptEncoding = [];
    url = await rawServer((req, res) => {
      seenAcceptEncoding.push(req.headers["accept-encoding"]);
      res.writeHead(200, { "Content-Encoding": "gzip", "Content-Type": "text/plain" });
      res.end(req.method === "HEAD" ? undefined : gzipSync("hello, ".repeat(1000)));
    });
  });

  it("asks for gzip and gunzips, moving Content-Encoding to X-Consumed-Content-Encoding", async () => {
    const response = await client.fetch(url);
    expect(seenAcceptEncoding).toEqual(["gzip"]);
    expect(response.text()).toBe("hello, ".repeat(1000));
    expect(response.headers.get("Content-Encoding")).toBeUndefined();
    expect(response.headers.get("X-Consumed-Content-Encoding")).toBe("gzip");
  });

  it("accepts an empty gzip body (HEAD)", async () => {
    const response = await client.fetch(url, { method: "HEAD" });
    expect(response.code).toBe(200);
    expect(response.body.length).toBe(0);
  });

  it("with decompressResponse false, sends no Accept-Encoding and returns the bytes as sent", async () => {
    const response = await client.fetch(url, { decompressResponse: false });
    expect(seenAcceptEncoding).toEqual([undefined]);
    expect(response.headers.get("Content-Encoding")).toBe("gzip");
    expect(response.body.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
  });
});

describe("AsyncHTTPClient.fetch: streamingCallback and headerCallback", () => {
  /** A server that sends three chunks, 30 ms apart. */
  async function chunkedServer(): Promise<string> {
    return rawServer(async (_req, res) => {
      res.writeHead(200, { "Content-Type": "text/plain", "X-Custom": "yes" });
      for (const part of ["one,", "two,", "three"]) {
        res.write(part);
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
      res.end();
    });
  }

  it("hands each chunk to streamingCallback as it arrives, and leaves body empty", async () => {
    const url = await chunkedServer();
    const chunks: string[] = [];
    const response = await client.fetch(url, { streamingCallback: (chunk) => void chunks.push(chunk.toString()) });
    expect(chunks.join("")).toBe("one,two,three");
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    expect(response.body.length).toBe(0);
  });

  it("waits for a promise returned by streamingCallback before the next chunk", async () => {
    const url = await chunkedServer();
    const events: string[] = [];
    await client.fetch(url, {
      streamingCallback: async (chunk) => {
        events.push(`start ${chunk}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
        events.push(`end ${chunk}`);
      },
    });
    for (let i = 0; i < events.length; i += 2) {
      expect(events[i]!.startsWith("start ")).toBe(true);
      expect(events[i + 1]).toBe(`end ${events[i]!.slice(6)}`);
    }
  });

  it("rejects with what streamingCallback threw", async () => {
    const url = await chunkedServer();
    const boom = new Error("no more");
    const error = await rejection(
      client.fetch(url, {
        streamingCallback: () => {
          throw boom;
        },
      }),
    );
    expect(error).toBe(boom);
  });

  it("gives headerCallback the status line, each header line and a final CRLF, before the body", async () => {
    const url = await chunkedServer();
    const events: string[] = [];
    await client.fetch(url, {
      headerCallback: (line) => events.push(line),
      streamingCallback: () => void events.push("<chunk>"),
    });
    expect(events[0]).toBe("HTTP/1.1 200 OK\r\n");
    expect(events).toContain("Content-Type: text/plain\r\n");
    expect(events).toContain("X-Custom: yes\r\n");
    const end = events.indexOf("\r\n");
    expect(end).toBeGreaterThan(0);
    expect(events.slice(1, end).every((line) => /^[^:\r\n]+: .*\r\n$/.test(line))).toBe(true);
    expect(events.slice(end + 1).every((e) => e === "<chunk>")).toBe(true);
  });
});

describe("AsyncHTTPClient.fetch: timeouts", () => {
  it("fails with 599 Timeout during request when the server never answers (requestTimeout)", async () => {
    const port = await silentServer();
    const started = performance.now();
    const error = await rejection(client.fetch(`http://127.0.0.1:${port}/`, { requestTimeout: 300 }));
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(HTTPTimeoutError);
    expect(error).toBeInstanceOf(HTTPClientError);
    expect(error.code).toBe(599);
    expect(error.message).toBe("Timeout during request");
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(5000);
  });

  it("fails with Timeout during request when the body stops coming", async () => {
    const url = await rawServer((_req, res) => {
      res.writeHead(200, { "Content-Length": "100" });
      res.write("only part of it");
    });
    const error = await rejection(client.fetch(url, { requestTimeout: 300 }));
    expect(error.message).toBe("Timeout during request");
  });

  it("fails with Timeout while connecting when the TLS handshake never completes (connectTimeout)", async () => {
    const port = await silentServer();
    const error = await rejection(client.fetch(`https://127.0.0.1:${port}/`, { connectTimeout: 300 }));
    expect(error).toBeInstanceOf(HTTPTimeoutError);
    expect(error.code).toBe(599);
    expect(error.message).toBe("Timeout while connecting");
  });

  it("bounds the connect phase by requestTimeout too, as Tornado does", async () => {
    const port = await silentServer();
    const error = await rejection(client.fetch(`https://127.0.0.1:${port}/`, { requestTimeout: 300 }));
    expect(error.message).toBe("Timeout while connecting");
  });

  it("with 0 for both timeouts, waits as long as it takes", async () => {
    const url = await rawServer((_req, res) => setTimeout(() => res.end("late"), 400));
    const response = await client.fetch(url, { requestTimeout: 0, connectTimeout: 0 });
    expect(response.text()).toBe("late");
  });
});

const pythonAvailable = spawnSync("python3", ["-c", "pass"]).status === 0;

describe.skipIf(!pythonAvailable)("AsyncHTTPClient.fetch: connectTimeout on a full listen backlog", () => {
  let listener: ChildProcess;
  let port: number;
  const fillers: Socket[] = [];

  beforeAll(async () => {
    // A socket that listens with a backlog of 0 and never accepts: once one connection waits
    // in its queue, the kernel drops further SYNs and a connect() hangs. (node always accepts.)
    listener = spawn(
      "python3",
      ["-c", "import socket,sys\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\nsys.stdin.read()"],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    port = Number(await new Promise<string>((resolve) => listener.stdout!.once("data", (d) => resolve(String(d).trim()))));
    const filler = connect(port, "127.0.0.1");
    fillers.push(filler);
    await new Promise((resolve) => filler.once("connect", resolve));
  });

  afterAll(() => {
    for (const filler of fillers) filler.destroy();
    listener.stdin!.end();
    listener.kill();
  });

  it("fails with 599 Timeout while connecting", async () => {
    const started = performance.now();
    const error = await rejection(client.fetch(`http://127.0.0.1:${port}/`, { connectTimeout: 300 }));
    expect(error).toBeInstanceOf(HTTPTimeoutError);
    expect(error.message).toBe("Timeout while connecting");
    expect(performance.now() - started).toBeLessThan(5000);
  });
});

describe("AsyncHTTPClient: maxClients", () => {
  it("has at most maxClients requests in flight; the others wait and all complete", async () => {
    const c = newClient({ maxClients: 2 });
    const fetches = [1, 2, 3, 4, 5].map((id) => c.fetch(t.url(`/slow?id=${id}`)));
    while (s.arrivals.length < 2) await s.arrived.promise;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(s.arrivals.sort()).toEqual(["1", "2"]);
    s.release.resolve();
    const responses = await Promise.all(fetches);
    expect(responses.map((r) => r.text())).toEqual(["slow 1", "slow 2", "slow 3", "slow 4", "slow 5"]);
    expect(s.maxInFlight).toBe(2);
    expect(s.arrivals).toHaveLength(5);
  });

  it("starts queued requests first come, first served", async () => {
    const c = newClient({ maxClients: 1 });
    const fetches = [1, 2, 3, 4, 5].map((id) => c.fetch(t.url(`/slow?id=${id}`)));
    await s.arrived.promise;
    s.release.resolve();
    await Promise.all(fetches);
    expect(s.arrivals).toEqual(["1", "2", "3", "4", "5"]);
    expect(s.maxInFlight).toBe(1);
  });

  it("fails a request with Timeout in request queue when its time runs out before a slot frees", async () => {
    const c = newClient({ maxClients: 1 });
    const first = c.fetch(t.url("/slow?id=first"));
    await s.arrived.promise;
    const error = await rejection(c.fetch(t.url("/slow?id=queued"), { requestTimeout: 300 }));
    expect(error).toBeInstanceOf(HTTPTimeoutError);
    expect(error.message).toBe("Timeout in request queue");
    s.release.resolve();
    expect((await first).text()).toBe("slow first");
    expect(s.arrivals).toEqual(["first"]);
  });

  it("counts a request's timeout from when it was queued", async () => {
    const c = newClient({ maxClients: 1 });
    const first = c.fetch(t.url("/slow?id=first"));
    await s.arrived.promise;
    // Queued for ~1 s of its 1.5 s; the server then holds it: it fails ~0.5 s after it started
    // (1.5 s if its time counted from the start).
    const queued = c.fetch(t.url("/slow?id=second"), { requestTimeout: 1500, connectTimeout: 1500 });
    setTimeout(() => {
      s.release.resolve();
      s.release = deferred();
    }, 1000);
    expect((await first).text()).toBe("slow first");
    const started = performance.now();
    const error = await rejection(queued);
    expect(error.message).toBe("Timeout during request");
    expect(performance.now() - started).toBeLessThan(1200);
    s.release.resolve();
  });
});

describe("AsyncHTTPClient.fetch: signal", () => {
  it("aborts a request in flight: rejects with the signal's reason and closes the connection", async () => {
    const serverSawClose = deferred();
    const url = await rawServer((req) => req.socket.once("close", () => serverSawClose.resolve()));
    const controller = new AbortController();
    const pending = client.fetch(url, { signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 100));
    controller.abort();
    const error = await rejection(pending);
    expect(error.name).toBe("AbortError");
    await serverSawClose.promise;
  });

  it("aborts a queued request without it ever reaching the server", async () => {
    const c = newClient({ maxClients: 1 });
    const first = c.fetch(t.url("/slow?id=first"));
    await s.arrived.promise;
    const controller = new AbortController();
    const queued = c.fetch(t.url("/slow?id=aborted"), { signal: controller.signal });
    controller.abort(new Error("changed my mind"));
    expect((await rejection(queued)).message).toBe("changed my mind");
    s.release.resolve();
    await first;
    expect(s.arrivals).toEqual(["first"]);
  });

  it("rejects at once with a signal already aborted", async () => {
    const error = await rejection(client.fetch(t.url("/echo"), { signal: AbortSignal.abort() }));
    expect(error.name).toBe("AbortError");
  });
});

describe("AsyncHTTPClient.fetch: basic authentication", () => {
  it("sends authUsername and authPassword as Basic credentials", async () => {
    const echo = (await client.fetch(t.url("/echo"), { authUsername: "ann", authPassword: "s3cr:t" })).json<Echo>();
    expect(echo.headers.authorization).toBe("Basic " + Buffer.from("ann:s3cr:t").toString("base64"));
  });

  it("prefers credentials in the URL", async () => {
    const url = t.url("/echo").replace("http://", "http://bob:p%40ss@");
    const echo = (await client.fetch(url, { authUsername: "ann", authPassword: "x" })).json<Echo>();
    expect(echo.headers.authorization).toBe("Basic " + Buffer.from("bob:p@ss").toString("base64"));
    expect(echo.headers.host).toBe(`127.0.0.1:${t.port}`);
  });

  it("refuses an authMode other than basic", async () => {
    expect(await rejection(client.fetch(t.url("/echo"), { authUsername: "a", authMode: "digest" as "basic" }))).toBeInstanceOf(TypeError);
  });
});

describe("AsyncHTTPClient: errors without a response", () => {
  it("rejects with HTTPStreamClosedError when the server closes mid-body", async () => {
    const url = await rawServer((_req, res) => {
      res.writeHead(200, { "Content-Length": "100" });
      res.write("part", () => res.socket?.destroy());
    });
    const error = await rejection(client.fetch(url));
    expect(error).toBeInstanceOf(HTTPStreamClosedError);
    expect(error.code).toBe(599);
    expect(error.message).toBe("Connection closed");
  });

  /** Answers the first request on each connection, and drops the connection on the second. */
  async function dropsReusedConnections(): Promise<{ url: string; connections: () => number }> {
    let connections = 0;
    const server = createTcpServer((socket) => {
      connections++;
      sockets.add(socket);
      let requests = 0;
      socket.on("data", (data) => {
        if (!data.includes("\r\n\r\n")) return;
        if (++requests === 1) socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        else socket.destroy();
      });
    });
    rawServers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`, connections: () => connections };
  }

  it("retries an idempotent request once on a new connection when the kept-alive one was closed under it", async () => {
    const { url, connections } = await dropsReusedConnections();
    expect((await client.fetch(url)).text()).toBe("ok");
    expect((await client.fetch(url)).text()).toBe("ok");
    expect(connections()).toBe(2);
  });

  it("does not retry a POST: it fails with Connection closed", async () => {
    const { url } = await dropsReusedConnections();
    await client.fetch(url, { method: "POST", body: "1" });
    const error = await rejection(client.fetch(url, { method: "POST", body: "2" }));
    expect(error).toBeInstanceOf(HTTPStreamClosedError);
    expect(error.message).toBe("Connection closed");
  });

  it("rejects with 599 when the body is over maxBodySize", async () => {
    const c = newClient({ maxBodySize: 1000 });
    const url = await rawServer((_req, res) => res.end("x".repeat(5000)));
    const error = await rejection(c.fetch(url));
    expect(error.code).toBe(599);
    expect(error.message).toMatch(/maxBodySize/);
  });
});

describe("AsyncHTTPClient: defaults and the shared instance", () => {
  it("applies defaults where the request says nothing; the request's own values win", async () => {
    const c = newClient({ defaults: { userAgent: "default-agent", headers: { "X-Team": "core", "X-Env": "test" } } });
    const plain = (await c.fetch(t.url("/echo"))).json<Echo>();
    expect(plain.headers["user-agent"]).toBe("default-agent");
    expect(plain.headers["x-team"]).toBe("core");
    const own = (await c.fetch(t.url("/echo"), { userAgent: "own", headers: { "X-Env": "prod" } })).json<Echo>();
    expect(own.headers["user-agent"]).toBe("own");
    expect(own.headers["x-env"]).toBe("prod");
    expect(own.headers["x-team"]).toBe("core");
  });

  it("gives one shared client from instance(); configure() replaces it", async () => {
    const shared = AsyncHTTPClient.instance();
    expect(AsyncHTTPClient.instance()).toBe(shared);
    AsyncHTTPClient.configure({ maxClients: 3, defaults: { userAgent: "configured" } });
    const configured = AsyncHTTPClient.instance();
    expect(configured).not.toBe(shared);
    expect(configured.maxClients).toBe(3);
    expect((await configured.fetch(t.url("/echo"))).json<Echo>().headers["user-agent"]).toBe("configured");
    configured.close();
    expect(AsyncHTTPClient.instance()).not.toBe(configured);
    AsyncHTTPClient.configure({});
  });
});

const opensslAvailable = spawnSync("openssl", ["version"]).status === 0;
if (!opensslAvailable && !process.env.CI) {
  console.warn("Skipping the HTTPS tests of httpclient.test.ts: the openssl CLI was not found on PATH");
}

describe.skipIf(!opensslAvailable && !process.env.CI)("AsyncHTTPClient.fetch: https and validateCert", () => {
  let dir: string;
  let url: string;
  let server: https.Server;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tornado-client-tls-"));
    execFileSync(
      "openssl",
      [
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "k.pem", "-out", "c.pem", "-days", "1",
        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
      ],
      { cwd: dir, stdio: "pipe" },
    );
    server = https.createServer({ key: readFileSync(join(dir, "k.pem")), cert: readFileSync(join(dir, "c.pem")) }, (_req, res) =>
      res.end("secret"),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `https://127.0.0.1:${(server.address() as { port: number }).port}/`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses a self-signed certificate by default (599)", async () => {
    const error = await rejection(client.fetch(url));
    expect(error).toBeInstanceOf(HTTPClientError);
    expect(error.code).toBe(599);
    expect(error.message).toMatch(/self[- ]signed/);
  });

  it("fetches with validateCert false", async () => {
    expect((await client.fetch(url, { validateCert: false })).text()).toBe("secret");
  });

  it("fetches when caCerts names the certificate as trusted", async () => {
    expect((await client.fetch(url, { caCerts: join(dir, "c.pem") })).text()).toBe("secret");
  });
});

describe("HTTPClient (blocking, in a script)", () => {
  const fixture = new URL("./fixtures/blocking-client.ts", import.meta.url).pathname;

  /** Runs the fixture script in a child process (it blocks its own thread, not ours). */
  function runScript(mode: string, url: string): Promise<{ result: any; stderr: string; status: number | null }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), fixture, mode, url], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("error", reject);
      child.on("close", (status) => {
        try {
          resolve({ result: JSON.parse(stdout.trim().split("\n").at(-1)!), stderr, status });
        } catch {
          reject(new Error(`no JSON from the script (exit ${status}):\n${stdout}\n${stderr}`));
        }
      });
    });
  }

  it("returns the response itself, calling headerCallback and streamingCallback on the calling thread", async () => {
    const { result, stderr, status } = await runScript("fetch", t.url("/chain/1"));
    expect(status).toBe(0);
    expect(stderr).toBe("");
    expect(result.code).toBe(200);
    expect(result.streamedBody).toBe(0);
    expect(result.chunks.join("")).toBe("end of chain");
    expect(result.headerLines[0]).toBe("HTTP/1.1 200 OK\r\n");
    expect(result.headerLines.at(-1)).toBe("\r\n");
    expect(result.body).toBe("end of chain");
    expect(result.contentType).toBe("text/html; charset=UTF-8");
    expect(result.effectiveUrl).toBe(t.url("/chain/0"));
    expect(result.sameRequest).toBe(true);
  });

  it("throws what a callback threw, and stays usable", async () => {
    const { result } = await runScript("fetch", t.url("/chain/0"));
    expect(result.callbackError).toBe("stop here");
    expect(result.after).toBe(200);
  });

  it("throws HTTPClientError with the response for a non-2xx answer", async () => {
    const { result } = await runScript("fetch-error", t.url("/status/404"));
    expect(result).toEqual({
      isHTTPClientError: true,
      name: "HTTPClientError",
      code: 404,
      message: "HTTP 404: Not Found",
      responseBody: "status 404",
    });
  });

  it("throws HTTPTimeoutError (599) when the server does not answer in time", async () => {
    const port = await silentServer();
    const { result } = await runScript("fetch-error", `http://127.0.0.1:${port}/`);
    expect(result).toMatchObject({ isHTTPClientError: true, name: "HTTPTimeoutError", code: 599, message: "Timeout during request", responseBody: null });
  });

  it("warns on tornado.general that it blocks the event loop when an HTTPServer is listening in the process", async () => {
    const { result, stderr } = await runScript("with-server", t.url("/echo"));
    expect(result.code).toBe(200);
    expect(stderr).toMatch(/\[W \d{6} [\d:]{8} tornado\.general\] HTTPClient\.fetch\(.*\/echo\) blocks the event loop/);
    expect(stderr).toMatch(/Use AsyncHTTPClient in a server/);
  });
});

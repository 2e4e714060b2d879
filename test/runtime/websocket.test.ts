import { fork, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createServer, type Server as NetServer } from "node:net";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket as WsClient } from "ws";
import {
  Application,
  HTTPError,
  HTTPServer,
  RequestHandler,
  WebSocketClosedError,
  WebSocketHandler,
  WebSocketHandshakeError,
  createTestServer,
  expectLog,
  websocketConnect,
  type ApplicationSettings,
  type CompressionOptions,
  type RouteSpec,
  type TestServer,
  type WebSocketClientConnection,
} from "../../runtime/index.js";
import { createSignedValue } from "../../runtime/web.js";
import { deferred } from "../helpers/deferred.js";
import { RawConnection, destroyRawConnections } from "../helpers/raw.js";

// ---------------------------------------------------------------------------------------------
// Harness: every server, client and socket a test opens is closed in afterEach.


const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `predicate()` holds (polling), or fails after `timeout` ms. */
async function until(predicate: () => boolean, timeout = 5000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeout}ms: ${predicate}`);
    await sleep(10);
  }
}

const servers: TestServer[] = [];
const clients: WebSocketClientConnection[] = [];
const wsClients: WsClient[] = [];
const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) void client.close().catch(() => {});
  for (const client of wsClients.splice(0)) client.terminate();
  destroyRawConnections();
  for (const cleanup of cleanups.splice(0)) await cleanup();
  await Promise.all(servers.splice(0).map((t) => t.close()));
});

async function serve(routes: RouteSpec[], settings: ApplicationSettings = {}): Promise<TestServer> {
  const t = await createTestServer(new Application(routes, settings));
  servers.push(t);
  return t;
}

async function connect(t: TestServer, path: string, options: Parameters<TestServer["websocket"]>[1] = {}): Promise<WebSocketClientConnection> {
  const client = await t.websocket(path, options);
  clients.push(client);
  return client;
}

/** A `ws` client (the reference implementation), resolved once open. */
function wsConnect(url: string, options: ConstructorParameters<typeof WsClient>[2] = {}, protocols: string[] = []): Promise<WsClient> {
  const ws = new WsClient(url, protocols, options);
  wsClients.push(ws);
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

function wsUrl(t: TestServer, path: string): string {
  return `ws://127.0.0.1:${t.port}${path}`;
}

const KEY = randomBytes(16).toString("base64");
const ACCEPT = createHash("sha1").update(`${KEY}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");

/** A handshake request written by hand; `headers` override or add (null removes). */
function handshake(path: string, headers: Record<string, string | null> = {}, method = "GET", port = 0): string {
  const all: Record<string, string | null> = {
    Host: `127.0.0.1:${port}`,
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Key": KEY,
    "Sec-WebSocket-Version": "13",
    ...headers,
  };
  const lines = Object.entries(all)
    .filter((entry): entry is [string, string] => entry[1] !== null)
    .map(([name, value]) => `${name}: ${value}\r\n`);
  return `${method} ${path} HTTP/1.1\r\n${lines.join("")}\r\n`;
}

async function rawHandshake(t: TestServer, path: string, headers: Record<string, string | null> = {}, method = "GET") {
  const conn = await RawConnection.open(t.port);
  await conn.write(handshake(path, headers, method, t.port));
  return { conn, response: await conn.readResponse() };
}

// ---------------------------------------------------------------------------------------------
// Handlers

class EchoSocket extends WebSocketHandler {
  override onMessage(message: string | Buffer): void {
    void this.writeMessage(message);
  }
}

/** Echoes text as JSON with its type, to tell text, binary and JSON apart. */
class DescribeSocket extends WebSocketHandler {
  override onMessage(message: string | Buffer): void {
    if (typeof message === "string" && message.startsWith("{")) void this.writeMessage({ json: JSON.parse(message) });
    else void this.writeMessage(message);
  }
}

describe("WebSocketHandler: routing and the handshake", () => {
  it("is routed like any handler: initialize, prepare, then open with the decoded path groups", async () => {
    const calls: string[] = [];
    class RoomSocket extends WebSocketHandler {
      private label = "";
      override initialize(args: { label: string }) {
        this.label = args.label;
        calls.push("initialize");
      }
      override prepare() {
        calls.push("prepare");
      }
      override open(room: string, member: string) {
        calls.push(`open ${room} ${member}`);
        void this.writeMessage(`${this.label}:${room}:${member}`);
      }
    }
    const t = await serve([["/rooms/([^/]+)/(\\w+)", RoomSocket, { label: "L" }]]);
    const client = await expectLog("tornado.access", /^101 GET \/rooms\/caf%C3%A9\/ann \(127\.0\.0\.1\)/, () => connect(t, "/rooms/caf%C3%A9/ann"), {
      required: false,
    });
    expect(await client.readMessage()).toBe("L:café:ann");
    expect(calls).toEqual(["initialize", "prepare", "open café ann"]);
  });

  it("refuses in prepare() like any handler: a getCurrentUser() check answers 401 and open never runs", async () => {
    let opened = false;
    class PrivateSocket extends WebSocketHandler {
      override getCurrentUser(): string | null {
        return this.getQueryArgument("token", null) === "s3cret" ? "ann" : null;
      }
      override prepare() {
        if (this.getCurrentUser() === null) throw new HTTPError(401);
      }
      override open() {
        opened = true;
        void this.writeMessage(`hello ${this.getCurrentUser()}`);
      }
    }
    const t = await serve([["/private", PrivateSocket]]);
    const refused = await expectLog("tornado.access", /401 GET \/private/, () => connect(t, "/private").catch((e: unknown) => e));
    expect(refused).toBeInstanceOf(WebSocketHandshakeError);
    expect((refused as WebSocketHandshakeError).status).toBe(401);
    expect((refused as WebSocketHandshakeError).code).toBe("ERR_WEBSOCKET_HANDSHAKE");
    expect(opened).toBe(false);
    const client = await connect(t, "/private?token=s3cret");
    expect(await client.readMessage()).toBe("hello ann");
  });

  it("answers a plain GET with 400 'Can \"Upgrade\" only to \"WebSocket\".'", async () => {
    const t = await serve([["/ws", EchoSocket]]);
    const res = await expectLog("tornado.access", /400 GET \/ws/, () => t.fetch("/ws"));
    expect(res.status).toBe(400);
    expect(await res.text()).toBe('Can "Upgrade" only to "WebSocket".');
  });

  it("answers 400 when Connection does not say Upgrade", async () => {
    const t = await serve([["/ws", EchoSocket]]);
    const { response } = await expectLog("tornado.access", /400 GET \/ws/, () => rawHandshake(t, "/ws", { Connection: "keep-alive" }));
    expect(response.status).toBe(400);
    expect(response.text()).toBe('"Connection" must be "Upgrade".');
  });

  it("answers an unsupported Sec-WebSocket-Version with 426 and the versions it speaks, then closes", async () => {
    const t = await serve([["/ws", EchoSocket]]);
    const { conn, response } = await expectLog("tornado.access", /426 GET \/ws/, () => rawHandshake(t, "/ws", { "Sec-WebSocket-Version": "12" }));
    expect(response.status).toBe(426);
    expect(response.reason).toBe("Upgrade Required");
    expect(response.header("Sec-WebSocket-Version")).toBe("7, 8, 13");
    expect(response.header("Connection")).toBe("close");
    expect(await conn.waitForClose()).toBe(true);
  });

  it("accepts versions 7 and 8 as well as 13, with the right Sec-WebSocket-Accept", async () => {
    const t = await serve([["/ws", EchoSocket]]);
    for (const version of ["7", "8", "13"]) {
      const { response } = await rawHandshake(t, "/ws", { "Sec-WebSocket-Version": version });
      expect(response.status).toBe(101);
      expect(response.header("Upgrade")).toBe("websocket");
      expect(response.header("Sec-WebSocket-Accept")).toBe(ACCEPT);
      expect(response.header("Server")).toMatch(/^TornadoServer\//);
    }
  });

  it("answers 400 to a handshake without a valid Sec-WebSocket-Key", async () => {
    const t = await serve([["/ws", EchoSocket]]);
    for (const key of [null, "short"]) {
      const { response } = await expectLog("tornado.access", /400 GET \/ws/, () => rawHandshake(t, "/ws", { "Sec-WebSocket-Key": key }));
      expect(response.status).toBe(400);
      expect(response.text()).toBe("Missing/Invalid WebSocket headers");
    }
  });

  it("answers POST with 405, with or without the upgrade headers", async () => {
    const t = await serve([["/ws", EchoSocket]]);
    const { response } = await expectLog("tornado.access", /405 POST \/ws/, () => rawHandshake(t, "/ws", { "Content-Length": "0" }, "POST"));
    expect(response.status).toBe(405);
    const res = await expectLog("tornado.access", /405 POST \/ws/, () => t.fetch("/ws", { method: "POST", body: "x" }));
    expect(res.status).toBe(405);
  });

  it("answers 404 to an upgrade on a path no route matches", async () => {
    const t = await serve([["/ws", EchoSocket]]);
    const refused = await expectLog("tornado.access", /404 GET \/nope/, () => connect(t, "/nope").catch((e: unknown) => e));
    expect((refused as WebSocketHandshakeError).status).toBe(404);
  });

  it("sends the handler's own headers (set in prepare) with the 101", async () => {
    class CookieSocket extends WebSocketHandler {
      override prepare() {
        this.setHeader("Set-Cookie", "seen=1; Path=/");
        this.setHeader("X-Room", "lobby");
      }
    }
    const t = await serve([["/ws", CookieSocket]]);
    const { response } = await rawHandshake(t, "/ws");
    expect(response.status).toBe(101);
    expect(response.header("Set-Cookie")).toBe("seen=1; Path=/");
    expect(response.header("X-Room")).toBe("lobby");
    expect(response.header("Content-Type")).toBeUndefined();
  });

  it("serves a plain handler normally when a request asks to upgrade to something else (curl's h2c)", async () => {
    class Echo extends RequestHandler {
      get() {
        this.write({ method: "GET", upgrade: this.request.headers.get("Upgrade") });
      }
      post() {
        this.write(this.request.body);
      }
    }
    const t = await serve([["/api", Echo]]);
    const upgrade = { Upgrade: "h2c", Connection: "Upgrade, HTTP2-Settings", "HTTP2-Settings": "AAMAAABkAARAAAAAAAIAAAAA", "Sec-WebSocket-Key": null, "Sec-WebSocket-Version": null };
    const get = await rawHandshake(t, "/api", upgrade);
    expect(get.response.status).toBe(200);
    expect(JSON.parse(get.response.text())).toEqual({ method: "GET", upgrade: "h2c" });
    expect(get.response.header("Connection")).toBe("close");
    expect(await get.conn.waitForClose()).toBe(true);

    const post = await RawConnection.open(t.port);
    await post.write(handshake("/api", { ...upgrade, "Content-Length": "11" }, "POST", t.port) + "hello world");
    const posted = await post.readResponse();
    expect(posted.status).toBe(200);
    expect(posted.text()).toBe("hello world");

    const chunked = await RawConnection.open(t.port);
    await chunked.write(handshake("/api", { ...upgrade, "Transfer-Encoding": "chunked" }, "POST", t.port) + "5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\n");
    const res = await chunked.readResponse();
    expect(res.status).toBe(200);
    expect(res.text()).toBe("hello world");
  });
});

describe("WebSocketHandler: the request once open", () => {
  // An open WebSocket lets go of what only the handshake needed (node's request, the HTTP
  // connection, the response's headers); what a handler reads stays readable.
  class Profile extends WebSocketHandler {
    override getCurrentUser(): string | null {
      return this.getSignedCookie("user");
    }
    private describeRequest(when: string) {
      const { request } = this;
      return {
        when,
        method: request.method,
        uri: request.uri,
        path: request.path,
        query: request.query,
        remoteIp: request.remoteIp,
        host: request.host,
        fullUrl: request.fullUrl(),
        agent: request.headers.get("User-Agent"),
        tag: request.headers.get("X-Tag"),
        theme: this.getCookie("theme"),
        user: this.currentUser,
        page: this.getQueryArgument("page", null),
        pathArgs: this.pathArgs,
        connectionClosed: request.connection?.closed,
        raw: request.raw === undefined ? "let go" : "kept",
      };
    }
    override open() {
      void this.writeMessage(this.describeRequest("open"));
    }
    override onMessage(message: string | Buffer) {
      if (message === "set-header") {
        // The response is over: a header set now changes nothing on the wire, and throws nothing.
        this.setHeader("X-Late", "1");
        void this.writeMessage("header set");
        return;
      }
      void this.writeMessage(this.describeRequest(String(message)));
    }
  }
  const secret = "a secret for these tests only";

  it("keeps headers, cookies, path groups, arguments and the current user readable in open() and onMessage()", async () => {
    const t = await serve([["/profile/(\\w+)", Profile]], { cookieSecret: secret });
    const user = createSignedValue(secret, "user", "ann");
    const ws = new WsClient(wsUrl(t, "/profile/lobby?page=2"), {
      headers: { "User-Agent": "profile-test/1.0", "X-Tag": "a, b", Cookie: `theme=dark; user="${user}"` },
    });
    wsClients.push(ws);
    // Listening from the start: open()'s message may come with the 101.
    const messages: unknown[] = [];
    ws.on("message", (data) => messages.push(JSON.parse(String(data))));
    await until(() => messages.length === 1);
    ws.send("first message");
    await until(() => messages.length === 2);
    ws.send("second message");
    await until(() => messages.length === 3);
    const expected = {
      method: "GET",
      uri: "/profile/lobby?page=2",
      path: "/profile/lobby",
      query: "page=2",
      remoteIp: "127.0.0.1",
      host: `127.0.0.1:${t.port}`,
      fullUrl: `http://127.0.0.1:${t.port}/profile/lobby?page=2`,
      agent: "profile-test/1.0",
      tag: "a, b",
      theme: "dark",
      user: "ann",
      page: "2",
      pathArgs: ["lobby"],
      connectionClosed: false,
      raw: "let go",
    };
    expect(messages).toEqual([
      { when: "open", ...expected },
      { when: "first message", ...expected },
      { when: "second message", ...expected },
    ]);
  });

  it("lets a handler set a header after the handshake without effect, and keeps serving", async () => {
    const t = await serve([["/profile/(\\w+)", Profile]], { cookieSecret: secret });
    const ws = new WsClient(wsUrl(t, "/profile/x"));
    wsClients.push(ws);
    const messages: string[] = [];
    ws.on("message", (data) => messages.push(String(data)));
    await until(() => messages.length === 1);
    ws.send("set-header");
    await until(() => messages.length === 2);
    expect(messages[1]).toBe("header set");
    ws.send("again");
    await until(() => messages.length === 3);
    expect(JSON.parse(messages[2]!)).toMatchObject({ when: "again", user: null, page: null, pathArgs: ["x"], raw: "let go" });
  });
});

describe("WebSocketHandler.checkOrigin(origin)", () => {
  it("accepts the same host, and a client that sends no Origin", async () => {
    const t = await serve([["/ws", EchoSocket]]);
    const same = await connect(t, "/ws", { headers: { Origin: `http://127.0.0.1:${t.port}` } });
    await same.writeMessage("same");
    expect(await same.readMessage()).toBe("same");
    const { response } = await rawHandshake(t, "/ws", { Origin: null });
    expect(response.status).toBe(101);
  });

  it("refuses another origin with 403 (and another port of the same host too)", async () => {
    const t = await serve([["/ws", EchoSocket]]);
    for (const origin of ["http://evil.example", `http://127.0.0.1:${t.port + 1}`, "null"]) {
      const refused = await expectLog("tornado.access", /403 GET \/ws/, () => connect(t, "/ws", { headers: { Origin: origin } }).catch((e: unknown) => e));
      expect((refused as WebSocketHandshakeError).status).toBe(403);
      expect((refused as WebSocketHandshakeError).body).toBe("Cross origin websockets not allowed");
    }
    // Version 8 clients send Sec-WebSocket-Origin.
    const { response } = await expectLog("tornado.access", /403/, () =>
      rawHandshake(t, "/ws", { "Sec-WebSocket-Version": "8", "Sec-WebSocket-Origin": "http://evil.example" }),
    );
    expect(response.status).toBe(403);
  });

  it("can be overridden to accept other origins", async () => {
    class OpenSocket extends EchoSocket {
      override checkOrigin(origin: string) {
        return new URL(origin).hostname.endsWith(".example.com");
      }
    }
    const t = await serve([["/ws", OpenSocket]]);
    const client = await connect(t, "/ws", { headers: { Origin: "https://app.example.com" } });
    await client.writeMessage("ok");
    expect(await client.readMessage()).toBe("ok");
  });
});

describe("WebSocketHandler messages", () => {
  it("echoes text as text, a Buffer as binary, and an object as JSON text", async () => {
    const t = await serve([["/ws", DescribeSocket]]);
    const client = await connect(t, "/ws");
    await client.writeMessage("hello é");
    expect(await client.readMessage()).toBe("hello é");
    await client.writeMessage(Buffer.from([0, 1, 255]));
    expect(await client.readMessage()).toEqual(Buffer.from([0, 1, 255]));
    await client.writeMessage({ n: 1, tag: "</script>" });
    const json = await client.readMessage();
    expect(typeof json).toBe("string");
    expect(JSON.parse(json as string)).toEqual({ json: { n: 1, tag: "</script>" } });
    expect(json).toContain("<\\/script>");
  });

  it("interoperates with the ws package's client (text and binary frames)", async () => {
    const t = await serve([["/ws", EchoSocket]]);
    const ws = await wsConnect(wsUrl(t, "/ws"));
    const received: [string, boolean][] = [];
    const two = deferred();
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      received.push([isBinary ? data.toString("hex") : data.toString(), isBinary]);
      if (received.length === 2) two.resolve();
    });
    ws.send("text");
    ws.send(Buffer.from([7, 8]));
    await two.promise;
    expect(received).toEqual([
      ["text", false],
      ["0708", true],
    ]);
  });

  it("delivers messages in order, one at a time: the next waits for an async onMessage", async () => {
    let running = 0;
    let maxRunning = 0;
    const seen: string[] = [];
    class SlowSocket extends WebSocketHandler {
      override async onMessage(message: string | Buffer) {
        running++;
        maxRunning = Math.max(maxRunning, running);
        // Early messages take longest: without the wait they would finish out of order.
        await sleep(Math.max(0, 20 - seen.length * 2));
        seen.push(String(message));
        running--;
        await this.writeMessage(`done ${message}`);
      }
    }
    const t = await serve([["/ws", SlowSocket]]);
    const client = await connect(t, "/ws");
    const sent = Array.from({ length: 12 }, (_, i) => String(i));
    await Promise.all(sent.map((m) => client.writeMessage(m)));
    const replies: unknown[] = [];
    for (let i = 0; i < sent.length; i++) replies.push(await client.readMessage());
    expect(seen).toEqual(sent);
    expect(replies).toEqual(sent.map((m) => `done ${m}`));
    expect(maxRunning).toBe(1);
  });

  it("delivers nothing before an async open() has returned", async () => {
    class LateOpen extends WebSocketHandler {
      private ready = false;
      override async open() {
        await sleep(50);
        this.ready = true;
      }
      override onMessage(message: string | Buffer) {
        void this.writeMessage(`${this.ready ? "ready" : "early"}:${message}`);
      }
    }
    const t = await serve([["/ws", LateOpen]]);
    const client = await connect(t, "/ws");
    await client.writeMessage("first");
    expect(await client.readMessage()).toBe("ready:first");
  });

  it("selects a subprotocol with selectSubprotocol(offered), called once even when none is offered", async () => {
    const offers: string[][] = [];
    class ChatSocket extends WebSocketHandler {
      override selectSubprotocol(offered: string[]) {
        offers.push(offered);
        return offered.includes("chat.v2") ? "chat.v2" : null;
      }
      override open() {
        void this.writeMessage(`selected ${this.selectedSubprotocol}`);
      }
    }
    const t = await serve([["/ws", ChatSocket]]);
    const v2 = await connect(t, "/ws", { subprotocols: ["chat.v1", "chat.v2"] });
    expect(v2.selectedSubprotocol).toBe("chat.v2");
    expect(await v2.readMessage()).toBe("selected chat.v2");
    const none = await connect(t, "/ws");
    expect(none.selectedSubprotocol).toBeNull();
    expect(await none.readMessage()).toBe("selected null");
    // Nothing chosen: no Sec-WebSocket-Protocol in the 101 (a browser, or ws, then gives up).
    const { response } = await rawHandshake(t, "/ws", { "Sec-WebSocket-Protocol": "chat.v0, chat.v1" });
    expect(response.status).toBe(101);
    expect(response.header("Sec-WebSocket-Protocol")).toBeUndefined();
    const ws = await wsConnect(wsUrl(t, "/ws"), {}, ["chat.v0", "chat.v2"]);
    expect(ws.protocol).toBe("chat.v2");
    expect(offers).toEqual([["chat.v1", "chat.v2"], [], ["chat.v0", "chat.v1"], ["chat.v0", "chat.v2"]]);
  });

  it("negotiates permessage-deflate only when getCompressionOptions() returns options", async () => {
    class Compressed extends EchoSocket {
      override getCompressionOptions(): CompressionOptions {
        return {};
      }
    }
    const t = await serve([
      ["/plain", EchoSocket],
      ["/deflate", Compressed],
    ]);
    const offer = { "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits" };
    expect((await rawHandshake(t, "/plain", offer)).response.header("Sec-WebSocket-Extensions")).toBeUndefined();
    expect((await rawHandshake(t, "/deflate", offer)).response.header("Sec-WebSocket-Extensions")).toMatch(/^permessage-deflate/);

    const plain = await connect(t, "/plain", { compression: {} });
    expect(plain.extensions).toBe("");
    const deflated = await connect(t, "/deflate", { compression: {} });
    expect(deflated.extensions).toMatch(/^permessage-deflate/);
    const big = "tornado ".repeat(10_000);
    await deflated.writeMessage(big);
    expect(await deflated.readMessage()).toBe(big);
    // A client that does not offer it gets none.
    const uncompressed = await connect(t, "/deflate");
    expect(uncompressed.extensions).toBe("");
    await uncompressed.writeMessage("x");
    expect(await uncompressed.readMessage()).toBe("x");
  });

  it("closes a message over websocketMaxMessageSize with 1009, and keeps serving others", async () => {
    const closed = deferred<number | null>();
    class Limited extends EchoSocket {
      override onClose() {
        closed.resolve(this.closeCode);
      }
    }
    const t = await serve([["/ws", Limited]], { websocketMaxMessageSize: 1024 });
    const client = await connect(t, "/ws");
    await client.writeMessage("x".repeat(1024));
    expect(await client.readMessage()).toBe("x".repeat(1024));
    await client.writeMessage("x".repeat(1025)).catch(() => {});
    expect(await client.readMessage()).toBeNull();
    expect(client.closeCode).toBe(1009);
    await closed.promise;
    const next = await connect(t, "/ws");
    await next.writeMessage("still here");
    expect(await next.readMessage()).toBe("still here");
  });

  it("resolves writeMessage once flushed, holding back while the client does not read", async () => {
    const flushed = { count: 0 };
    const allFlushed = deferred();
    const total = 96;
    class Flood extends WebSocketHandler {
      override onMessage() {
        const chunk = Buffer.alloc(1024 * 1024, 1);
        for (let i = 0; i < total; i++) {
          void this.writeMessage(chunk).then(() => {
            if (++flushed.count === total) allFlushed.resolve();
          });
        }
      }
    }
    // 96 MiB not awaited: far over the default websocketMaxOutgoingBuffer, raised here.
    const t = await serve([["/ws", Flood]], { websocketMaxOutgoingBuffer: 128 * 1024 * 1024 });
    const client = await connect(t, "/ws");
    await client.writeMessage("go");
    // Wait until the count stops moving: what the kernel and the client's read-ahead hold.
    let last = -1;
    while (flushed.count !== last) {
      last = flushed.count;
      await sleep(200);
    }
    expect(flushed.count).toBeLessThan(total);
    for (let i = 0; i < total; i++) expect(((await client.readMessage()) as Buffer).length).toBe(1024 * 1024);
    await allFlushed.promise;
    expect(flushed.count).toBe(total);
  });

  it("throws WebSocketClosedError when writing after the close, on both sides", async () => {
    const serverError = deferred<unknown>();
    class Late extends WebSocketHandler {
      override onClose() {
        try {
          void this.writeMessage("too late");
          serverError.resolve(null);
        } catch (e) {
          serverError.resolve(e);
        }
      }
    }
    const t = await serve([["/ws", Late]]);
    const client = await connect(t, "/ws");
    await client.close();
    const error = await serverError.promise;
    expect(error).toBeInstanceOf(WebSocketClosedError);
    expect((error as WebSocketClosedError).code).toBe("ERR_WEBSOCKET_CLOSED");
    expect(() => client.writeMessage("x")).toThrow(WebSocketClosedError);
    expect(() => client.ping()).toThrow(WebSocketClosedError);
  });

  it("rejects a pending writeMessage with WebSocketClosedError when the connection drops", async () => {
    const rejected = deferred<unknown>();
    class Writer extends WebSocketHandler {
      override onMessage() {
        const chunk = Buffer.alloc(1024 * 1024);
        for (let i = 0; i < 64; i++) this.writeMessage(chunk).catch((e: unknown) => rejected.resolve(e));
      }
    }
    const t = await serve([["/ws", Writer]], { websocketMaxOutgoingBuffer: 128 * 1024 * 1024 });
    const ws = await wsConnect(wsUrl(t, "/ws"));
    ws.pause();
    ws.send("go");
    await sleep(100);
    ws.terminate();
    expect(await rejected.promise).toBeInstanceOf(WebSocketClosedError);
  });

  it("resolves each writeMessage once flushed, in order, for a burst of writes not awaited (with and without compression)", async () => {
    for (const compression of [null, {}] as (CompressionOptions | null)[]) {
      const settled: string[] = [];
      const all = deferred<void>();
      class Burst extends WebSocketHandler {
        override getCompressionOptions() {
          return compression;
        }
        override onMessage() {
          const writes: Promise<void>[] = [];
          for (let i = 0; i < 500; i++) {
            writes.push(this.writeMessage(i % 2 === 0 ? `text ${i}` : Buffer.from(`binary ${i}`)).then(() => void settled.push(`ok ${i}`)));
          }
          void Promise.all(writes).then(() => all.resolve());
        }
      }
      const t = await serve([["/ws", Burst]]);
      const ws = await wsConnect(wsUrl(t, "/ws"), { perMessageDeflate: compression !== null });
      const received: string[] = [];
      ws.on("message", (data: Buffer) => received.push(data.toString()));
      ws.send("go");
      await all.promise;
      expect(settled).toEqual(Array.from({ length: 500 }, (_, i) => `ok ${i}`));
      await until(() => received.length === 500);
      expect(received).toEqual(Array.from({ length: 500 }, (_, i) => (i % 2 === 0 ? `text ${i}` : `binary ${i}`)));
    }
  });

  it("rejects every write still waiting when the connection drops, the ones nobody awaits without an unhandled rejection", async () => {
    const outcomes: string[] = [];
    const done = deferred<void>();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    cleanups.push(() => process.off("unhandledRejection", onUnhandled));
    class Writer extends WebSocketHandler {
      override onMessage() {
        const chunk = Buffer.alloc(256 * 1024);
        const watched: Promise<void>[] = [];
        for (let i = 0; i < 64; i++) {
          const write = this.writeMessage(chunk);
          // Every other write is left alone: its rejection must not go unhandled.
          if (i % 2 === 0) watched.push(write.then(() => void outcomes.push("ok"), (e: unknown) => void outcomes.push(e instanceof WebSocketClosedError ? "closed" : String(e))));
        }
        void Promise.all(watched).then(() => done.resolve());
      }
    }
    const t = await serve([["/ws", Writer]], { websocketMaxOutgoingBuffer: 128 * 1024 * 1024 });
    const ws = await wsConnect(wsUrl(t, "/ws"));
    ws.pause();
    ws.send("go");
    await sleep(100);
    ws.terminate();
    await done.promise;
    await sleep(50);
    expect(outcomes).toHaveLength(32);
    // The first writes may have reached the socket before it dropped; every later one fails.
    const firstFailure = outcomes.indexOf("closed");
    expect(firstFailure).toBeGreaterThanOrEqual(0);
    expect(outcomes.slice(firstFailure).every((o) => o === "closed")).toBe(true);
    expect(unhandled).toEqual([]);
  });

  it("passes the close code and reason each way, and calls onClose once", async () => {
    const closes: [number | null, string | null][] = [];
    class Closer extends WebSocketHandler {
      override onMessage(message: string | Buffer) {
        if (message === "close me") {
          this.close(4000, "as you wish");
          this.close(4002, "twice does nothing");
        }
      }
      override onClose() {
        closes.push([this.closeCode, this.closeReason]);
      }
    }
    const t = await serve([["/ws", Closer]]);
    const a = await connect(t, "/ws");
    await a.writeMessage("close me");
    expect(await a.readMessage()).toBeNull();
    expect([a.closeCode, a.closeReason]).toEqual([4000, "as you wish"]);
    await until(() => closes.length === 1);

    const b = await connect(t, "/ws");
    await b.close(4001, "bye");
    await until(() => closes.length === 2);
    // close() without a code sends 1000.
    const c = await connect(t, "/ws");
    await c.close();
    await until(() => closes.length === 3);
    await sleep(50);
    expect(closes).toEqual([
      [4000, "as you wish"],
      [4001, "bye"],
      [1000, null],
    ]);
  });

  it("logs an exception in onMessage on tornado.application and drops the connection", async () => {
    const closed = deferred();
    class Broken extends WebSocketHandler {
      override onMessage(): void {
        throw new Error("handler bug");
      }
      override onClose() {
        closed.resolve();
      }
    }
    const t = await serve([["/ws", Broken]]);
    const client = await connect(t, "/ws");
    await expectLog("tornado.application", /Uncaught exception GET \/ws/, async () => {
      await client.writeMessage("boom");
      expect(await client.readMessage()).toBeNull();
      await closed.promise;
    });
    expect(client.closeCode).toBeNull();
  });

  it("calls onPing for the client's pings, and onPong for the answers to ping()", async () => {
    class Pinger extends WebSocketHandler {
      override open() {
        this.ping("from server");
      }
      override onPong(data: Buffer) {
        void this.writeMessage(`pong ${data}`);
      }
      override onPing(data: Buffer) {
        void this.writeMessage(`ping ${data}`);
      }
    }
    const t = await serve([["/ws", Pinger]]);
    const client = await connect(t, "/ws");
    expect(await client.readMessage()).toBe("pong from server");
    client.ping("from client");
    expect(await client.readMessage()).toBe("ping from client");
  });
});

describe("WebSocket keep-alive (websocketPingInterval, websocketPingTimeout)", () => {
  it("closes a client that stops answering pings with 1000 'ping timed out', and keeps one that answers", async () => {
    const t = await serve([["/ws", EchoSocket]], { websocketPingInterval: 100, websocketPingTimeout: 100 });
    const mute = await wsConnect(wsUrl(t, "/ws"), { autoPong: false });
    const alive = await connect(t, "/ws");
    let pings = 0;
    mute.on("ping", () => pings++);
    const [code, reason] = await new Promise<[number, string]>((resolve) => mute.once("close", (c: number, r: Buffer) => resolve([c, r.toString()])));
    expect(code).toBe(1000);
    expect(reason).toBe("ping timed out");
    expect(pings).toBeGreaterThanOrEqual(1);
    await alive.writeMessage("still open");
    expect(await alive.readMessage()).toBe("still open");
    expect(alive.closeCode).toBeNull();
  });

  it("pings from the client side too, with pingInterval", async () => {
    const pinged = deferred();
    class Watch extends WebSocketHandler {
      override onPing() {
        pinged.resolve();
      }
    }
    const t = await serve([["/ws", Watch]]);
    await connect(t, "/ws", { pingInterval: 50 });
    await pinged.promise;
  });
});

describe("websocketConnect(url, options)", () => {
  it("keeps messages that arrive before readMessage(), then reads null once closed", async () => {
    class Burst extends WebSocketHandler {
      override async open() {
        for (const m of ["a", "b", "c"]) await this.writeMessage(m);
        this.close(1000, "done");
      }
    }
    const t = await serve([["/ws", Burst]]);
    const client = await connect(t, "/ws");
    await client.whenClosed();
    expect([await client.readMessage(), await client.readMessage(), await client.readMessage()]).toEqual(["a", "b", "c"]);
    expect(await client.readMessage()).toBeNull();
    expect(await client.readMessage()).toBeNull();
    expect([client.closeCode, client.closeReason]).toEqual([1000, "done"]);
  });

  it("delivers to an onMessage callback instead, then null", async () => {
    class Burst extends WebSocketHandler {
      override async open() {
        await this.writeMessage("one");
        await this.writeMessage(Buffer.from("two"));
        this.close();
      }
    }
    const t = await serve([["/ws", Burst]]);
    const got: (string | Buffer | null)[] = [];
    const done = deferred();
    await websocketConnect(t.url("/ws"), {
      onMessage: (m) => {
        got.push(m);
        if (m === null) done.resolve();
      },
    });
    await done.promise;
    expect(got).toEqual(["one", Buffer.from("two"), null]);
  });

  it("rejects with the network error when nothing listens", async () => {
    const t = await serve([]);
    const port = t.port;
    await t.close();
    await expect(websocketConnect(`ws://127.0.0.1:${port}/`)).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });

  it("refuses a message over maxMessageSize from the server with 1009", async () => {
    class Big extends WebSocketHandler {
      override open() {
        void this.writeMessage("y".repeat(2000));
      }
    }
    const t = await serve([["/ws", Big]]);
    const client = await connect(t, "/ws", { maxMessageSize: 1000 });
    expect(await client.readMessage()).toBeNull();
    await client.whenClosed();
  });
});

describe("graceful shutdown with WebSockets", () => {
  it("HTTPServer.close() closes open WebSockets with 1001 and resolves once they are closed", async () => {
    const serverSide = deferred<number | null>();
    class Watch extends EchoSocket {
      override onClose() {
        serverSide.resolve(this.closeCode);
      }
    }
    const t = await createTestServer(new Application([["/ws", Watch]]));
    const client = await t.websocket("/ws");
    clients.push(client);
    const ws = await wsConnect(wsUrl(t, "/ws"));
    const wsClosed = new Promise<number>((resolve) => ws.once("close", (code: number) => resolve(code)));
    await t.close();
    expect(await client.readMessage()).toBeNull();
    expect([client.closeCode, client.closeReason]).toEqual([1001, "Server shutting down"]);
    expect(await wsClosed).toBe(1001);
    expect(await serverSide.promise).toBe(1001);
    expect(t.server.requestsInFlight).toBe(0);
  });

  it("cuts a WebSocket that never completes the closing handshake at the timeout", async () => {
    const server = await new HTTPServer(new Application([["/ws", EchoSocket]])).listen(0, "127.0.0.1");
    const conn = await RawConnection.open(server.port);
    await conn.write(handshake("/ws", {}, "GET", server.port));
    expect((await conn.readResponse()).status).toBe(101);
    const started = Date.now();
    await expectLog("tornado.general", /Closing 1 WebSocket\(s\) still open after 200ms/, () => server.close({ timeout: 200 }));
    expect(Date.now() - started).toBeLessThan(3000);
    // The close frame (0x88) with 1001 arrived before the cut.
    expect([...conn.pending.subarray(0, 4)]).toEqual([0x88, 22, 0x03, 0xe9]);
    expect(await conn.waitForClose()).toBe(true);
  });

  it("refuses a new WebSocket with 503 while closing", async () => {
    class Slow extends RequestHandler {
      async get() {
        await sleep(300);
      }
    }
    const t = await createTestServer(new Application([["/ws", EchoSocket], ["/slow", Slow]]));
    const conn = await RawConnection.open(t.port);
    // The handshake is under way when the close starts: from Node 26 on, close() also cuts a
    // connection that has sent nothing yet (as idle), so the request line goes first.
    const request = handshake("/ws", {}, "GET", t.port);
    const split = request.indexOf("\r\n") + 2;
    await conn.write(request.slice(0, split));
    const slow = t.fetch("/slow");
    await sleep(50);
    const closing = t.close();
    await conn.write(request.slice(split));
    const response = await conn.readResponse();
    expect(response.status).toBe(503);
    await slow;
    await closing;
  });

  it("closes 1,000 WebSockets at once after each received its message", async () => {
    const handlers = new Set<WebSocketHandler>();
    const allOpen = deferred();
    const count = 1000;
    class Member extends WebSocketHandler {
      override open() {
        handlers.add(this);
        if (handlers.size === count) allOpen.resolve();
      }
      override onClose() {
        handlers.delete(this);
      }
    }
    const t = await createTestServer(new Application([["/ws", Member]]));
    const many: WebSocketClientConnection[] = [];
    // In waves, so that the listen backlog never overflows.
    for (let i = 0; i < count; i += 250) {
      many.push(...(await Promise.all(Array.from({ length: Math.min(250, count - i) }, () => t.websocket("/ws")))));
    }
    await allOpen.promise;
    let n = 0;
    await Promise.all([...handlers].map((h) => h.writeMessage(`you are ${n++}`)));
    const messages = await Promise.all(many.map((c) => c.readMessage()));
    expect(new Set(messages).size).toBe(count);
    expect(messages.every((m) => typeof m === "string" && m.startsWith("you are "))).toBe(true);
    await t.close();
    const closed = await Promise.all(many.map(async (c) => (await c.whenClosed(), c.closeCode)));
    expect(closed.every((code) => code === 1001)).toBe(true);
    expect(handlers.size).toBe(0);
  });
});

describe("WebSockets under the tornado dev supervisor", () => {
  it("closes WebSockets with 1012 (Service Restart) when the supervisor drains the app", async () => {
    const fixture = fileURLToPath(new URL("./fixtures/supervised-websocket.ts", import.meta.url));
    let child: ChildProcess | undefined;
    const listener: NetServer = createServer({ pauseOnConnect: true }, (socket) => child!.send({ type: "tornado:connection" }, socket));
    // Not awaited: a listener that handed sockets to a child asks the child for their count
    // before it calls back, and the child is gone by then.
    cleanups.push(() => listener.close());
    await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
    const port = (listener.address() as { port: number }).port;
    child = fork(fixture, [], {
      execArgv: ["--import", import.meta.resolve("tsx")],
      env: { ...process.env, TORNADO_SUPERVISOR_PORT: String(port) },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    cleanups.push(() => child!.kill("SIGKILL"));
    const exited = new Promise<number | null>((resolve) => child!.once("exit", (code) => resolve(code)));
    await new Promise<void>((resolve) =>
      child!.on("message", (message: { type?: string }) => {
        if (message?.type === "tornado:listening") resolve();
      }),
    );
    const client = await websocketConnect(`ws://127.0.0.1:${port}/echo`);
    clients.push(client);
    await client.writeMessage("before");
    expect(await client.readMessage()).toBe("before");
    child.send({ type: "tornado:drain", timeout: 5000 });
    expect(await client.readMessage()).toBeNull();
    expect([client.closeCode, client.closeReason]).toEqual([1012, "Server restarting"]);
    expect(await exited).toBe(0);
  });
});

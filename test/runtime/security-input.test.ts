// The server's limits on what a client sends (issue 12, input side): body sizes per content
// type, field and part counts, lazy form parsing, decompression, timeouts, the request line and
// the listen backlog. Every test goes through a real socket.

import { execFileSync } from "node:child_process";
import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import {
  Application,
  DEFAULT_LIMITS,
  HTTPServer,
  RequestHandler,
  WebSocketHandler,
  createTestServer,
  expectLog,
  type HTTPServerOptions,
  type TestServer,
} from "../../runtime/index.js";
import { RawConnection, destroyRawConnections, rawRequest } from "../helpers/raw.js";

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class FormHandler extends RequestHandler {
  post() {
    this.write({ a: this.getArgument("a", null), count: this.getArguments("a").length });
  }
}

/** Answers without reading any argument: its body is never parsed. */
class IgnoreHandler extends RequestHandler {
  post() {
    this.write(`ignored ${this.request.body.length} bytes`);
  }
}

class JsonHandler extends RequestHandler {
  post() {
    this.write({ keys: Object.keys(this.jsonBody<object>()).length });
  }
}

class RawHandler extends RequestHandler {
  post() {
    this.write({ size: this.request.body.length });
  }
}

/** Never answers. */
class HangHandler extends RequestHandler {
  get() {
    return new Promise<void>(() => {});
  }
}

/** Starts a response, then never finishes it. */
class StalledStreamHandler extends RequestHandler {
  async get() {
    this.write("partial");
    await this.flush();
    await new Promise<void>(() => {});
  }
}

class HealthHandler extends RequestHandler {
  get() {
    this.write("ok");
  }
}

/** Streams for 1.5 s, longer than the idle timeout used in the tests, flushing every 100 ms. */
class TickerHandler extends RequestHandler {
  async get() {
    for (let i = 0; i < 15; i++) {
      this.write(`${i};`);
      await this.flush();
      await sleep(100);
    }
  }
}

class EchoSocket extends WebSocketHandler {
  override onMessage(message: string | Buffer): void {
    void this.writeMessage(message);
  }
}

function makeApp(): Application {
  return new Application([
    ["/form", FormHandler],
    ["/ignore", IgnoreHandler],
    ["/json", JsonHandler],
    ["/raw", RawHandler],
    ["/hang", HangHandler],
    ["/stalled", StalledStreamHandler],
    ["/ticker", TickerHandler],
    ["/health", HealthHandler],
    ["/ws", EchoSocket],
  ]);
}

let t: TestServer | undefined;
const servers: HTTPServer[] = [];

afterEach(async () => {
  destroyRawConnections();
  await t?.close();
  t = undefined;
  await Promise.all(servers.splice(0).map((server) => server.close({ timeout: 1000 })));
});

async function serve(options: HTTPServerOptions = {}): Promise<TestServer> {
  t = await createTestServer(makeApp(), options);
  return t;
}

function post(path: string, body: string | Buffer, headers: string): Buffer {
  const data = typeof body === "string" ? Buffer.from(body, "latin1") : body;
  const head = `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${data.length}\r\n${headers}\r\n`;
  return Buffer.concat([Buffer.from(head, "latin1"), data]);
}

const FORM = "Content-Type: application/x-www-form-urlencoded\r\n";
const UPGRADE_H2C = "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n";
const JSON_TYPE = "Content-Type: application/json\r\n";

/** `count` fields `a=1&a=1&…`. */
function fields(count: number): string {
  return new Array<string>(count).fill("a=1").join("&");
}

/**
 * Runs `fn` expecting the access log line for `status` and, when `detail` is given, the
 * handler's warning (`413 POST /form (127.0.0.1): …detail…`).
 */
function expectStatusLogged<T>(status: number, fn: () => Promise<T>, detail?: RegExp): Promise<T> {
  const warning = new RegExp(`^${status} .*${detail?.source ?? ""}`);
  return expectLog("tornado.access", new RegExp(`^${status} `), () =>
    expectLog("tornado.general", warning, fn, { required: detail !== undefined }),
  );
}

describe("HTTPServer limits: defaults", () => {
  it("has a default for every limit, and hands the times to node:http (the idle-request time it keeps itself)", () => {
    const server = new HTTPServer(makeApp());
    expect(server.limits).toEqual({
      maxHeaderSize: 64 * 1024,
      maxBodySize: 100 * MiB,
      maxFormBodySize: MiB,
      maxJsonBodySize: MiB,
      maxFormFields: 1000,
      maxMultipartParts: 100,
      headerTimeout: 60_000,
      minBodyRate: 1024,
      bodyRateGracePeriod: 10_000,
      idleRequestTimeout: 300_000,
      idleConnectionTimeout: 3_600_000,
      backlog: 511,
    });
    expect(DEFAULT_LIMITS).toEqual(server.limits);
    const node = server.server;
    expect([node.headersTimeout, node.timeout, node.keepAliveTimeout, node.requestTimeout]).toEqual([60_000, 0, 3_600_000, 0]);
  });

  it("refuses a limit that is not a number of 0 or more", () => {
    expect(() => new HTTPServer(makeApp(), { maxFormFields: -1 })).toThrow(/maxFormFields must be a number of 0 or more/);
  });
});

describe("HTTPServer form bodies", () => {
  it("accepts a urlencoded body of exactly maxFormBodySize (1 MiB) and answers 413 one byte over", async () => {
    const server = await serve();
    const atLimit = "a=" + "x".repeat(MiB - 2);
    const ok = await rawRequest(server.port, post("/form", atLimit, FORM), { expectClose: false });
    expect(ok.response.status).toBe(200);
    expect(JSON.parse(ok.response.text()).a).toHaveLength(MiB - 2);
    const over = await expectStatusLogged(413, () => rawRequest(server.port, post("/form", atLimit + "x", FORM)));
    expect(over.response.status).toBe(413);
    expect(over.closed).toBe(true);
  });

  it("keeps maxBodySize for other content types: a 2 MiB upload is read", async () => {
    const server = await serve();
    const res = await server.fetch("/raw", { method: "POST", body: Buffer.alloc(2 * MiB, 1), headers: { "Content-Type": "application/octet-stream" } });
    expect(await res.json()).toEqual({ size: 2 * MiB });
  });

  it("answers 400 for more than maxFormFields (1000) fields, and reads 1000", async () => {
    const server = await serve();
    const ok = await server.fetch("/form", { method: "POST", body: fields(1000), headers: { "Content-Type": "application/x-www-form-urlencoded" } });
    expect(await ok.json()).toEqual({ a: "1", count: 1000 });
    const res = await expectStatusLogged(
      400,
      () => server.fetch("/form", { method: "POST", body: fields(1001), headers: { "Content-Type": "application/x-www-form-urlencoded" } }),
      /more than 1000 fields/,
    );
    expect(res.status).toBe(400);
  });

  it("refuses too many fields even when the handler does not read them", async () => {
    const server = await serve({ maxFormFields: 5 });
    const res = await expectStatusLogged(
      400,
      () => server.fetch("/ignore", { method: "POST", body: fields(6), headers: { "Content-Type": "application/x-www-form-urlencoded" } }),
      /more than 5 fields/,
    );
    expect(res.status).toBe(400);
  });

  it("reads maxMultipartParts parts and answers 400 for one more", async () => {
    const server = await serve({ maxMultipartParts: 3 });
    const three = new FormData();
    for (let i = 0; i < 3; i++) three.append("a", String(i));
    expect(await (await server.fetch("/form", { method: "POST", body: three })).json()).toEqual({ a: "2", count: 3 });
    const form = new FormData();
    for (let i = 0; i < 4; i++) form.append(`f${i}`, "v");
    const res = await expectStatusLogged(400, () => server.fetch("/ignore", { method: "POST", body: form }), /too many parts/);
    expect(res.status).toBe(400);
  });

  it("parses a form body only when the handler reads it", async () => {
    const server = await serve();
    // Framed correctly, but its part has no name: only parsing finds that out.
    const body = "--b\r\nContent-Disposition: form-data\r\n\r\nvalue\r\n--b--\r\n";
    const headers = { "Content-Type": "multipart/form-data; boundary=b" };
    const ignored = await server.fetch("/ignore", { method: "POST", body, headers });
    expect(ignored.status).toBe(200);
    expect(await ignored.text()).toBe(`ignored ${body.length} bytes`);
    const read = await expectStatusLogged(400, () => server.fetch("/form", { method: "POST", body, headers }), /Invalid body: multipart\/form-data missing name/);
    expect(read.status).toBe(400);
  });

  it("reads an argument sent 200,000 times (no call-stack overflow)", async () => {
    const server = await serve({ maxFormFields: 200_000, maxFormBodySize: 4 * MiB });
    const res = await server.fetch("/form?a=0", { method: "POST", body: fields(200_000), headers: { "Content-Type": "application/x-www-form-urlencoded" } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ a: "1", count: 200_001 });
  });
});

describe("HTTPServer JSON bodies", () => {
  it("accepts a JSON body of exactly maxJsonBodySize (1 MiB) and answers 413 one byte over", async () => {
    const server = await serve();
    const atLimit = JSON.stringify({ k: "x".repeat(MiB - 8) });
    expect(atLimit.length).toBe(MiB);
    const ok = await rawRequest(server.port, post("/json", atLimit, JSON_TYPE), { expectClose: false });
    expect(ok.response.status).toBe(200);
    const over = await expectStatusLogged(413, () => rawRequest(server.port, post("/json", atLimit + " ", JSON_TYPE)));
    expect(over.response.status).toBe(413);
    expect(over.closed).toBe(true);
  });

  it("applies maxJsonBodySize to application/…+json and to chunked bodies", async () => {
    const server = await serve({ maxJsonBodySize: 1000 });
    const body = JSON.stringify({ k: "x".repeat(1000) });
    const typed = await expectStatusLogged(413, () =>
      server.fetch("/json", { method: "POST", body, headers: { "Content-Type": "application/vnd.api+json" } }),
    );
    expect(typed.status).toBe(413);
    const conn = await RawConnection.open(server.port);
    const head = `POST /json HTTP/1.1\r\nHost: 127.0.0.1\r\n${JSON_TYPE}Transfer-Encoding: chunked\r\n\r\n`;
    const chunked = await expectStatusLogged(413, async () => {
      await conn.write(`${head}${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`);
      return conn.readResponse();
    });
    expect(chunked.status).toBe(413);
  });
});

describe("HTTPServer upgrade requests with a body", () => {
  it("applies the form limits to a form sent with `Upgrade: h2c`", async () => {
    const server = await serve({ maxFormBodySize: 100 });
    const upgrade = "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n";
    const ok = await rawRequest(server.port, post("/form", fields(25), `${FORM}${upgrade}`));
    expect(JSON.parse(ok.response.text())).toEqual({ a: "1", count: 25 });
    const over = await expectStatusLogged(413, () => rawRequest(server.port, post("/form", fields(26), `${FORM}${upgrade}`)), /Content-Length too long/);
    expect(over.response.status).toBe(413);
  });

  // Up to Node 24 node leaves such a body on the socket; Node 26 parses it into the request
  // stream, and hands over a wrapper stream instead of the socket while the body is arriving.
  it("reads a body that arrives after the head: by Content-Length, chunked, or an empty chunked one", async () => {
    const server = await serve({ maxFormBodySize: 100 });
    const head = `POST /form HTTP/1.1\r\nHost: 127.0.0.1\r\n${FORM}${UPGRADE_H2C}`;
    const sent = async (...parts: string[]) => {
      const conn = await RawConnection.open(server.port);
      for (const part of parts) {
        await conn.write(part);
        await sleep(50);
      }
      const response = await conn.readResponse();
      return { status: response.status, body: response.text(), closed: await conn.waitForClose() };
    };
    const body = fields(25);
    const answer = { status: 200, body: JSON.stringify({ a: "1", count: 25 }), closed: true };
    expect(await sent(`${head}Content-Length: ${body.length}\r\n\r\n`, body.slice(0, 10), body.slice(10))).toEqual(answer);
    const chunked = `${head}Transfer-Encoding: chunked\r\n\r\n`;
    expect(await sent(chunked, `a\r\n${body.slice(0, 10)}\r\n`, `${(body.length - 10).toString(16)}\r\n${body.slice(10)}\r\n0\r\n\r\n`)).toEqual(answer);
    // Up to Node 24 a head alone looks like this empty body does on Node 26: one read decides.
    const empty = { status: 200, body: JSON.stringify({ a: null, count: 0 }), closed: true };
    expect(await sent(`${chunked}0\r\n\r\n`)).toEqual(empty);
    expect(await sent(chunked, "0\r\n\r\n")).toEqual(empty);
  });

  it("answers 413 once a chunked form body sent after the head passes maxFormBodySize (100 bytes accepted, 101 not)", async () => {
    const server = await serve({ maxFormBodySize: 100 });
    const head = `POST /raw HTTP/1.1\r\nHost: 127.0.0.1\r\n${FORM}${UPGRADE_H2C}Transfer-Encoding: chunked\r\n\r\n`;
    const send = async (size: number) => {
      const conn = await RawConnection.open(server.port);
      await conn.write(head);
      await sleep(50);
      await conn.write(`${size.toString(16)}\r\n${"x".repeat(size)}\r\n0\r\n\r\n`);
      return conn.readResponse();
    };
    const atLimit = await send(100);
    expect([atLimit.status, atLimit.text()]).toEqual([200, JSON.stringify({ size: 100 })]);
    const over = await expectStatusLogged(413, () => send(101), /body too large/);
    expect(over.status).toBe(413);
  });

  it("answers 408 when the body stalls past bodyTimeout", async () => {
    const server = await serve({ bodyTimeout: 300 });
    const head = `POST /raw HTTP/1.1\r\nHost: 127.0.0.1\r\n${UPGRADE_H2C}Content-Length: 10\r\n\r\n`;
    const stalled = await RawConnection.open(server.port);
    await stalled.write(head);
    await sleep(50);
    await stalled.write("abc");
    const timedOut = await expectStatusLogged(408, () => stalled.readResponse(), /Timeout reading body/);
    expect(timedOut.status).toBe(408);
    expect(await stalled.waitForClose()).toBe(true);
  });

  it("forgets a request whose client left mid-body, with no bodyTimeout to end it", async () => {
    const server = await serve();
    const head = `POST /raw HTTP/1.1\r\nHost: 127.0.0.1\r\n${UPGRADE_H2C}Content-Length: 10\r\n\r\n`;
    const left = await RawConnection.open(server.port);
    await left.write(head);
    await sleep(50);
    await left.write("abc");
    for (let i = 0; i < 100 && server.server.requestsInFlight === 0; i++) await sleep(5);
    expect(server.server.requestsInFlight).toBe(1);
    left.destroy();
    for (let i = 0; i < 400 && server.server.requestsInFlight > 0; i++) await sleep(5);
    expect(server.server.requestsInFlight).toBe(0);
  });
});

describe("HTTPServer decompressRequest", () => {
  it("answers 413 once a gzip form body inflates past maxFormBodySize, and closes", async () => {
    const server = await serve({ decompressRequest: true });
    const bomb = gzipSync(fields(600_000)); // 2.3 MB of fields in a few kB
    expect(bomb.length).toBeLessThan(64 * 1024);
    const res = await expectStatusLogged(
      413,
      () => rawRequest(server.port, post("/form", bomb, `${FORM}Content-Encoding: gzip\r\n`)),
      /decompressed body too large/,
    );
    expect(res.response.status).toBe(413);
    expect(res.closed).toBe(true);
  });

  it("reads a gzip form body that inflates to less than the limit", async () => {
    const server = await serve({ decompressRequest: true });
    const { response } = await rawRequest(server.port, post("/form", gzipSync(fields(1000)), `${FORM}Content-Encoding: gzip\r\n`), { expectClose: false });
    expect(JSON.parse(response.text())).toEqual({ a: "1", count: 1000 });
  });
});

describe("HTTPServer timeouts", () => {
  it("answers 408 and closes when a request head takes longer than headerTimeout", async () => {
    const server = await serve({ headerTimeout: 300 });
    const conn = await RawConnection.open(server.port);
    const response = await expectLog("tornado.general", /ERR_HTTP_REQUEST_TIMEOUT/, async () => {
      await conn.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n");
      return conn.readResponse(5000);
    });
    expect(response.status).toBe(408);
    expect(await conn.waitForClose(5000)).toBe(true);
  });

  it("answers 408 and closes when a body arrives slower than minBodyRate", async () => {
    const server = await serve({ minBodyRate: 100, bodyRateGracePeriod: 200 });
    const conn = await RawConnection.open(server.port);
    await conn.write(`POST /raw HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n`);
    const response = await expectStatusLogged(
      408,
      async () => {
        // A byte every 100 ms (10 bytes/s): the whole body would take 100 s.
        const trickle = setInterval(() => conn.write("x").catch(() => {}), 100);
        try {
          return await conn.readResponse(5000);
        } finally {
          clearInterval(trickle);
        }
      },
      /slower than 100 bytes\/s/,
    );
    expect(response.status).toBe(408);
    expect(await conn.waitForClose(5000)).toBe(true);
  });

  // 1000 bytes in about half a second, 20 times the rate: a loaded machine's delays do not matter.
  it("reads a body sent in slow pieces that keep above minBodyRate", async () => {
    const server = await serve({ minBodyRate: 100, bodyRateGracePeriod: 200 });
    const conn = await RawConnection.open(server.port);
    await conn.write(`POST /raw HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n`);
    for (let i = 0; i < 5; i++) {
      await conn.write("x".repeat(200));
      await sleep(100);
    }
    const response = await conn.readResponse(5000);
    expect(JSON.parse(response.text())).toEqual({ size: 1000 });
  });

  it("answers 503 and closes a request whose handler stays idle past idleRequestTimeout", async () => {
    const server = await serve({ idleRequestTimeout: 300 });
    const { response, closed } = await expectLog("tornado.general", /idle for 300ms \(idleRequestTimeout\): GET \/hang/, () =>
      rawRequest(server.port, "GET /hang HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
    );
    expect(response.status).toBe(503);
    expect(closed).toBe(true);
    expect(server.server.requestsInFlight).toBe(0);
  });

  it("answers 503 for a later request on a keep-alive connection that stays idle past idleRequestTimeout", async () => {
    const server = await serve({ idleRequestTimeout: 300 });
    const conn = await RawConnection.open(server.port);
    await conn.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    expect((await conn.readResponse()).text()).toBe("ok");
    await sleep(100);
    await conn.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    expect((await conn.readResponse()).text()).toBe("ok");
    const response = await expectLog("tornado.general", /idle for 300ms \(idleRequestTimeout\): GET \/hang/, async () => {
      await conn.write("GET /hang HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
      return conn.readResponse();
    });
    expect(response.status).toBe(503);
    expect(await conn.waitForClose()).toBe(true);
    expect(server.server.requestsInFlight).toBe(0);
  });

  it("cuts a started response that stays idle past idleRequestTimeout", async () => {
    const server = await serve({ idleRequestTimeout: 300 });
    const conn = await RawConnection.open(server.port);
    await expectLog("tornado.general", /idleRequestTimeout/, async () => {
      await conn.write("GET /stalled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
      expect(await conn.waitForClose(5000)).toBe(true);
    });
    // Headers and the first chunk arrived; the chunked body never ended.
    expect(conn.pending.toString("latin1")).toMatch(/^HTTP\/1\.1 200 OK[\s\S]*partial\r\n$/);
  });

  it("lets a streaming response and a WebSocket outlive idleRequestTimeout", async () => {
    const server = await serve({ idleRequestTimeout: 1000 });
    const ws = await server.websocket("/ws");
    const res = await server.fetch("/ticker");
    expect(await res.text()).toBe("0;1;2;3;4;5;6;7;8;9;10;11;12;13;14;");
    await sleep(200);
    await ws.writeMessage("still open");
    expect(await ws.readMessage()).toBe("still open");
    ws.close();
  });
});

describe("HTTPServer request line", () => {
  it.each(["HTTP/2.0", "HTTP/0.9"])("answers 400 and closes for %s, as Tornado", async (version) => {
    const server = await serve();
    const { response, closed } = await expectLog("tornado.general", /Unexpected HTTP version HTTP\/[02]\.[09]/, () =>
      rawRequest(server.port, `GET /health ${version}\r\nHost: 127.0.0.1\r\n\r\n`),
    );
    expect(response.status).toBe(400);
    expect(closed).toBe(true);
  });
});

describe("HTTPServer backlog", () => {
  // ss shows a listening socket's backlog in its Send-Q column.
  function listenBacklog(port: number): number {
    const out = execFileSync("ss", ["-Hltn", `sport = :${port}`], { encoding: "utf8" });
    return Number(out.trim().split(/\s+/)[2]);
  }

  it("listens with the backlog option (default 511)", async () => {
    const custom = await new HTTPServer(makeApp(), { backlog: 7 }).listen(0, "127.0.0.1");
    const plain = await new HTTPServer(makeApp()).listen(0, "127.0.0.1");
    servers.push(custom, plain);
    expect(listenBacklog(custom.port)).toBe(7);
    expect(listenBacklog(plain.port)).toBe(511);
    const res = await fetch(`http://127.0.0.1:${custom.port}/health`);
    expect(await res.text()).toBe("ok");
  });
});

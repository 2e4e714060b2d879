// Streamed request bodies (Tornado's @stream_request_body) through HTTPServer on real sockets:
// dataReceived(chunk) between prepare() and the method, back-pressure on the socket, the
// handler's own body limit, early refusals, and clients that go away mid-body.
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import {
  Application,
  HTTPError,
  RequestHandler,
  createTestServer,
  expectLog,
  streamRequestBody,
  type HTTPServerOptions,
  type TestServer,
} from "../../runtime/index.js";
import { RawConnection, destroyRawConnections } from "../helpers/raw.js";

const MiB = 1024 * 1024;

// What each streaming handler saw, for the test to read.
interface Seen {
  events: string[];
  chunks: number;
  bytes: number;
  closed: boolean;
}
let seen: Seen;

class HashingUpload extends RequestHandler {
  static override streamRequestBody = true;
  private readonly hash = createHash("sha256");
  private bytes = 0;
  private chunks = 0;

  override prepare() {
    seen.events.push("prepare");
    const limit = this.getQueryArgument("limit", null);
    if (limit !== null) this.setMaxBodySize(Number(limit));
  }

  override async dataReceived(chunk: Buffer) {
    if (this.chunks === 0) seen.events.push("data");
    this.chunks++;
    this.bytes += chunk.length;
    seen.bytes = this.bytes;
    seen.chunks = this.chunks;
    this.hash.update(chunk);
    // An async consumer: every so often the socket waits for it.
    if (this.chunks % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
  }

  async put() {
    seen.events.push("put");
    this.finish({ bytes: this.bytes, chunks: this.chunks, sha256: this.hash.digest("hex"), body: this.request.body.length });
  }

  override onConnectionClose() {
    seen.closed = true;
  }
}

// Holds each chunk until the test opens the gate.
let gate: { open: () => void; opened: Promise<void> };
function newGate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  gate = { open, opened };
}

const GatedUpload = streamRequestBody(
  class GatedUpload extends RequestHandler {
    private bytes = 0;
    override prepare() {
      this.setMaxBodySize(1024 * MiB);
    }
    override async dataReceived(chunk: Buffer) {
      this.bytes += chunk.length;
      seen.bytes = this.bytes;
      await gate.opened;
    }
    async put() {
      this.finish({ bytes: this.bytes });
    }
  },
);

class QuotaUpload extends RequestHandler {
  static override streamRequestBody = true;
  private bytes = 0;
  override prepare() {
    seen.events.push("prepare");
    // Refused from the head alone: the body is never read.
    if (Number(this.request.headers.get("Content-Length") ?? 0) > 10 * MiB) throw new HTTPError(413);
    this.setMaxBodySize(1024 * MiB);
  }
  override dataReceived(chunk: Buffer) {
    seen.events.push("data");
    this.bytes += chunk.length;
    seen.bytes = this.bytes;
    // Refused after the first megabyte of a body whose size was not announced.
    if (this.bytes > MiB) throw new HTTPError(413, "over quota");
  }
  put() {
    seen.events.push("put");
    this.finish({ bytes: this.bytes });
  }
}

// Forgot its dataReceived(): a bug, answered 500 with the reason logged.
class NoDataReceived extends RequestHandler {
  static override streamRequestBody = true;
  put() {
    this.finish("never");
  }
}

class Plain extends RequestHandler {
  get() {
    this.write("still-alive");
  }
  put() {
    this.write({ body: this.request.body.length });
  }
}

let t: TestServer | undefined;

afterEach(async () => {
  destroyRawConnections();
  await t?.close();
  t = undefined;
});

async function serve(options: HTTPServerOptions = {}): Promise<TestServer> {
  seen = { events: [], chunks: 0, bytes: 0, closed: false };
  newGate();
  const app = new Application([
    ["/upload", HashingUpload],
    ["/gated", GatedUpload],
    ["/quota", QuotaUpload],
    ["/plain", Plain],
    ["/forgot", NoDataReceived],
  ]);
  t = await createTestServer(app, options);
  return t;
}

async function expectStillServing(server: TestServer): Promise<void> {
  const res = await server.fetch("/plain");
  expect(res.status).toBe(200);
  expect(await res.text()).toBe("still-alive");
}

// Writes `total` bytes of `pattern` repeated, respecting the socket's back-pressure; stops
// early (resolving with what was written) if the connection closes.
async function writeBody(conn: RawConnection, pattern: Buffer, total: number, chunked = false): Promise<number> {
  const socket = conn.socket;
  let written = 0;
  while (written < total && !socket.destroyed && !conn.closed) {
    const piece = total - written >= pattern.length ? pattern : pattern.subarray(0, total - written);
    const framed = chunked ? [Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from("\r\n")] : [piece];
    let ok = true;
    for (const part of framed) ok = socket.write(part) && ok;
    written += piece.length;
    if (!ok) {
      await new Promise<void>((resolve) => {
        const done = () => {
          socket.off("drain", done);
          socket.off("close", done);
          resolve();
        };
        socket.on("drain", done);
        socket.on("close", done);
      });
    }
  }
  if (chunked && written === total && !socket.destroyed) socket.write("0\r\n\r\n");
  return written;
}

function patternOf(size: number): Buffer {
  const pattern = Buffer.alloc(size);
  for (let i = 0; i < size; i++) pattern[i] = (i * 31 + (i >> 8)) & 0xff;
  return pattern;
}

describe("RequestHandler.streamRequestBody: dataReceived(chunk)", () => {
  it("streams a 1 GiB upload through dataReceived with flat server memory", { timeout: 240_000 }, async () => {
    const server = await serve();
    const total = 1024 * MiB;
    const pattern = patternOf(MiB);
    const expected = createHash("sha256");
    for (let i = 0; i < total / MiB; i++) expected.update(pattern);
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
    try {
      const conn = await RawConnection.open(server.port);
      conn.socket.write(`PUT /upload?limit=${2 * total} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${total}\r\n\r\n`);
      expect(await writeBody(conn, pattern, total)).toBe(total);
      const res = await conn.readResponse(120_000);
      expect(res.status).toBe(200);
      const answer = JSON.parse(res.text());
      expect(answer).toMatchObject({ bytes: total, sha256: expected.digest("hex"), body: 0 });
      expect(answer.chunks).toBeGreaterThan(1000);
    } finally {
      clearInterval(sampler);
    }
    // 1 GiB went through; the process (server and this client) grew by far less.
    expect(peak - before).toBeLessThan(100 * MiB);
    expect(seen.events).toEqual(["prepare", "data", "put"]);
    await expectStillServing(server);
  });

  it("streams a chunked (Transfer-Encoding) body sent in many writes, prepare → dataReceived → method", async () => {
    const server = await serve();
    const conn = await RawConnection.open(server.port);
    await conn.write("PUT /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    const pattern = patternOf(64 * 1024);
    const total = 5 * MiB + 123;
    const expected = createHash("sha256");
    for (let left = total; left > 0; left -= pattern.length) expected.update(pattern.subarray(0, Math.min(left, pattern.length)));
    expect(await writeBody(conn, pattern, total, true)).toBe(total);
    const res = await conn.readResponse();
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text())).toMatchObject({ bytes: total, sha256: expected.digest("hex") });
    expect(seen.events).toEqual(["prepare", "data", "put"]);
    // Keep-alive: the same connection serves the next request.
    await conn.write("GET /plain HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    expect((await conn.readResponse()).text()).toBe("still-alive");
  });

  it("pauses the socket while dataReceived's promise is pending (back-pressure), then takes the rest", { timeout: 60_000 }, async () => {
    const server = await serve();
    const total = 256 * MiB;
    const conn = await RawConnection.open(server.port);
    conn.socket.write(`PUT /gated HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${total}\r\n\r\n`);
    let flushed = 0;
    const pattern = patternOf(MiB);
    // Counts what the kernel took; stops writing when it stops taking.
    const writing = (async () => {
      while (flushed < total) {
        await new Promise<void>((resolve, reject) => conn.socket.write(pattern, (e) => (e ? reject(e) : resolve())));
        flushed += pattern.length;
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    // The handler holds its first chunk: the server reads no further, so the client is stalled
    // at what the socket buffers hold (a few MiB), far from the 256 MiB it wants to send.
    expect(seen.bytes).toBeLessThanOrEqual(MiB);
    expect(flushed).toBeLessThan(64 * MiB);
    gate.open();
    await writing;
    const res = await conn.readResponse(30_000);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text())).toEqual({ bytes: total });
  });

  it("answers 413 from prepare() without reading the body, and closes the connection", async () => {
    const server = await serve();
    const conn = await RawConnection.open(server.port);
    await conn.write(`PUT /quota HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${1024 * MiB}\r\n\r\n`);
    await conn.write(patternOf(64 * 1024));
    const res = await expectLog("tornado.access", /413 PUT \/quota/, () => conn.readResponse());
    expect(res.status).toBe(413);
    expect(res.header("Connection")).toBe("close");
    expect(await conn.waitForClose()).toBe(true);
    expect(seen.events).toEqual(["prepare"]);
    await expectStillServing(server);
  });

  it("answers 413 thrown from dataReceived after the first chunk, reads no more and closes", { timeout: 60_000 }, async () => {
    const server = await serve();
    const conn = await RawConnection.open(server.port);
    await conn.write("PUT /quota HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    const total = 512 * MiB;
    const res = await expectLog("tornado.general", /413 PUT \/quota .*over quota/, () =>
      expectLog("tornado.access", /413 PUT \/quota/, async () => {
        const writing = writeBody(conn, patternOf(256 * 1024), total, true).catch(() => 0);
        const response = await conn.readResponse(30_000);
        conn.socket.destroy();
        expect(await writing).toBeLessThan(total);
        return response;
      }),
    );
    expect(res.status).toBe(413);
    expect(res.header("Connection")).toBe("close");
    expect(seen.events).not.toContain("put");
    expect(seen.bytes).toBeGreaterThan(MiB);
    expect(seen.bytes).toBeLessThan(64 * MiB);
    await expectStillServing(server);
  });

  it("tells the handler when the client stops mid-body (onConnectionClose), never calls the method, keeps serving", async () => {
    const server = await serve();
    const conn = await RawConnection.open(server.port);
    await conn.write(`PUT /upload?limit=${100 * MiB} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${10 * MiB}\r\n\r\n`);
    await conn.write(patternOf(MiB));
    await expect.poll(() => seen.bytes, { timeout: 10_000 }).toBe(MiB);
    conn.socket.destroy();
    await expect.poll(() => seen.closed, { timeout: 10_000 }).toBe(true);
    expect(seen.events).toEqual(["prepare", "data"]);
    await expectStillServing(server);
    // Nothing is left in flight: the server closes at once.
    const started = Date.now();
    await server.close();
    t = undefined;
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it("keeps the server's maxBodySize for a streaming handler that sets no limit of its own (413 from Content-Length)", async () => {
    const server = await serve({ maxBodySize: 1000 });
    const conn = await RawConnection.open(server.port);
    await conn.write("PUT /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2000\r\n\r\n");
    const res = await expectLog("tornado.general", /413 PUT \/upload .*Content-Length too long/, () =>
      expectLog("tornado.access", /413 PUT \/upload/, () => conn.readResponse()),
    );
    expect(res.status).toBe(413);
    expect(await conn.waitForClose()).toBe(true);
    expect(seen.events).toEqual(["prepare"]);
  });

  it("applies setMaxBodySize() from prepare() to a chunked body as it arrives (413 past the limit)", async () => {
    const server = await serve();
    const conn = await RawConnection.open(server.port);
    await conn.write("PUT /upload?limit=100000 HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    const res = await expectLog("tornado.general", /413 PUT \/upload.*body too large/, () =>
      expectLog("tornado.access", /413 PUT \/upload/, async () => {
        void writeBody(conn, patternOf(16 * 1024), 300_000, true).catch(() => 0);
        return conn.readResponse();
      }),
    );
    expect(res.status).toBe(413);
    expect(seen.bytes).toBeLessThanOrEqual(100_000);
    expect(seen.events).not.toContain("put");
    await expectStillServing(server);
  });

  it("lets setMaxBodySize() raise the limit above the server's maxBodySize", async () => {
    const server = await serve({ maxBodySize: 1000 });
    const res = await server.fetch("/upload?limit=10000", { method: "PUT", body: patternOf(5000) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ bytes: 5000 });
    // A handler without streamRequestBody still reads within the server's limit.
    const refused = await expectLog("tornado.general", /413 PUT \/plain .*Content-Length too long/, () =>
      expectLog("tornado.access", /413 PUT \/plain/, () => server.fetch("/plain", { method: "PUT", body: patternOf(5000) })),
    );
    expect(refused.status).toBe(413);
  });

  it("sends 100 Continue only once prepare() has accepted the request", async () => {
    const server = await serve();
    const refusedConn = await RawConnection.open(server.port);
    await refusedConn.write(`PUT /quota HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\nContent-Length: ${100 * MiB}\r\n\r\n`);
    const refused = await expectLog("tornado.access", /413 PUT \/quota/, () => refusedConn.readResponse());
    expect(refused.status).toBe(413);
    const conn = await RawConnection.open(server.port);
    await conn.write("PUT /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    expect((await conn.readResponse()).status).toBe(100);
    await conn.write("hello");
    const res = await conn.readResponse();
    expect(JSON.parse(res.text())).toMatchObject({ bytes: 5, chunks: 1 });
  });

  it("streams a gzip body decompressed with decompressRequest, within the handler's limit", async () => {
    const server = await serve({ decompressRequest: true });
    const plain = patternOf(3 * MiB);
    const zipped = gzipSync(plain);
    const res = await server.fetch(`/upload?limit=${4 * MiB}`, { method: "PUT", body: zipped, headers: { "Content-Encoding": "gzip" } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ bytes: plain.length, sha256: createHash("sha256").update(plain).digest("hex") });
    const over = await expectLog("tornado.general", /413 PUT \/upload.*decompressed body too large/, () =>
      expectLog("tornado.access", /413 PUT \/upload/, () =>
        server.fetch(`/upload?limit=${MiB}`, { method: "PUT", body: zipped, headers: { "Content-Encoding": "gzip" } }),
      ),
    );
    expect(over.status).toBe(413);
  });

  it("answers 500 for a streaming handler without dataReceived(), saying so in the log", async () => {
    const server = await serve();
    const res = await expectLog("tornado.application", /Uncaught exception PUT \/forgot/, () =>
      expectLog("tornado.access", /500 PUT \/forgot/, () => server.fetch("/forgot", { method: "PUT", body: "x" })),
    );
    expect(res.status).toBe(500);
    await expectStillServing(server);
  });

  it("takes a body of exactly setMaxBodySize() bytes and refuses one byte more", async () => {
    const server = await serve();
    const at = await server.fetch("/upload?limit=4096", { method: "PUT", body: patternOf(4096) });
    expect(at.status).toBe(200);
    expect(await at.json()).toMatchObject({ bytes: 4096 });
    const over = await expectLog("tornado.general", /413 PUT \/upload.*Content-Length too long/, () =>
      expectLog("tornado.access", /413 PUT \/upload/, () => server.fetch("/upload?limit=4096", { method: "PUT", body: patternOf(4097) })),
    );
    expect(over.status).toBe(413);
  });
});

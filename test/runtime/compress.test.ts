import http, { type IncomingHttpHeaders } from "node:http";
import { createGunzip, gunzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import {
  Application,
  RequestHandler,
  StreamClosedError,
  createTestServer,
  expectLog,
  type ApplicationSettings,
  type RouteSpec,
  type TestServer,
} from "../../runtime/index.js";
import { deferred } from "../helpers/deferred.js";
import { RawConnection, destroyRawConnections } from "../helpers/raw.js";

let server: TestServer | undefined;

async function serve(routes: RouteSpec[], settings: ApplicationSettings = { compressResponse: true }): Promise<TestServer> {
  server = await createTestServer(new Application(routes, settings));
  return server;
}

afterEach(async () => {
  destroyRawConnections();
  await server?.close();
  server = undefined;
});

interface RawReply {
  status: number;
  headers: IncomingHttpHeaders;
  /** The bytes as sent (node:http does not decompress). */
  body: Buffer;
}

// A request through node:http, which leaves the body as the server encoded it.
function request(path: string, headers: Record<string, string> = { "Accept-Encoding": "gzip" }, method = "GET"): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = http.request(server!.url(path), { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

const text = (size: number) => "Hello, gzip! ".repeat(Math.ceil(size / 13)).slice(0, size);

class Sized extends RequestHandler {
  get(size: string) {
    const type = this.getArgument("type", null);
    if (type !== null) this.setHeader("Content-Type", type);
    this.write(text(Number(size)));
  }
}

describe("Application setting compressResponse", () => {
  it("gzips a text body of 1 KiB or more, with the compressed Content-Length and Vary: Accept-Encoding", async () => {
    await serve([["/sized/(\\d+)", Sized]]);
    const res = await request("/sized/5000");
    expect(res.status).toBe(200);
    expect(res.headers["content-encoding"]).toBe("gzip");
    expect(res.headers["vary"]).toBe("Accept-Encoding");
    expect(Number(res.headers["content-length"])).toBe(res.body.length);
    expect(res.body.length).toBeLessThan(5000);
    expect(gunzipSync(res.body).toString()).toBe(text(5000));
  });

  it("gzips from exactly 1024 bytes; a shorter body is sent as is, with Vary all the same", async () => {
    await serve([["/sized/(\\d+)", Sized]]);
    const at = await request("/sized/1024");
    expect(at.headers["content-encoding"]).toBe("gzip");
    expect(gunzipSync(at.body).toString()).toBe(text(1024));
    const below = await request("/sized/1023");
    expect(below.headers["content-encoding"]).toBeUndefined();
    expect(below.headers["content-length"]).toBe("1023");
    expect(below.headers["vary"]).toBe("Accept-Encoding");
    expect(below.body.toString()).toBe(text(1023));
  });

  it("compresses only for a client that accepts gzip", async () => {
    await serve([["/sized/(\\d+)", Sized]]);
    for (const accept of [undefined, "br, deflate", "gzip;q=0", "identity"]) {
      const res = await request("/sized/4000", accept === undefined ? {} : { "Accept-Encoding": accept });
      expect(res.headers["content-encoding"], accept).toBeUndefined();
      expect(res.headers["vary"]).toBe("Accept-Encoding");
      expect(res.body.toString()).toBe(text(4000));
    }
    for (const accept of ["gzip", "deflate, gzip;q=0.5, br", "x-gzip", "GZIP"]) {
      expect((await request("/sized/4000", { "Accept-Encoding": accept })).headers["content-encoding"], accept).toBe("gzip");
    }
  });

  it("compresses text/*, JSON, JavaScript, XML and SVG, not images or octet streams", async () => {
    await serve([["/sized/(\\d+)", Sized]]);
    const encoding = async (type: string) => (await request(`/sized/3000?type=${encodeURIComponent(type)}`)).headers["content-encoding"];
    for (const type of ["text/plain", "text/css; charset=UTF-8", "application/json", "application/javascript", "application/xml", "image/svg+xml"]) {
      expect(await encoding(type), type).toBe("gzip");
    }
    for (const type of ["image/png", "application/octet-stream", "application/pdf"]) {
      expect(await encoding(type), type).toBeUndefined();
    }
  });

  it("gzips objects written as JSON", async () => {
    class Rows extends RequestHandler {
      get() {
        this.write({ rows: Array.from({ length: 200 }, (_, id) => ({ id, name: `row ${id}` })) });
      }
    }
    await serve([["/rows", Rows]]);
    const res = await request("/rows");
    expect(res.headers["content-type"]).toBe("application/json; charset=UTF-8");
    expect(res.headers["content-encoding"]).toBe("gzip");
    expect(JSON.parse(gunzipSync(res.body).toString()).rows).toHaveLength(200);
  });

  it("leaves a body that already has a Content-Encoding alone", async () => {
    class PreEncoded extends RequestHandler {
      get() {
        this.setHeader("Content-Encoding", "br");
        this.setHeader("Content-Type", "text/plain");
        this.write(Buffer.alloc(2000, 7));
      }
    }
    await serve([["/", PreEncoded]]);
    const res = await request("/");
    expect(res.headers["content-encoding"]).toBe("br");
    expect(res.body).toEqual(Buffer.alloc(2000, 7));
  });

  it("compresses a body of 64 KiB or more off the event loop, just the same", async () => {
    await serve([["/sized/(\\d+)", Sized]]);
    const res = await request("/sized/300000");
    expect(res.headers["content-encoding"]).toBe("gzip");
    expect(Number(res.headers["content-length"])).toBe(res.body.length);
    expect(gunzipSync(res.body).toString()).toBe(text(300000));
  });

  it("computes the Etag on the uncompressed body, and answers 304 to it", async () => {
    await serve([["/sized/(\\d+)", Sized]]);
    const plain = await request("/sized/2000", {});
    const gzipped = await request("/sized/2000");
    expect(gzipped.headers["etag"]).toBe(plain.headers["etag"]);
    const notModified = await request("/sized/2000", { "Accept-Encoding": "gzip", "If-None-Match": plain.headers["etag"] as string });
    expect(notModified.status).toBe(304);
    expect(notModified.body.length).toBe(0);
    expect(notModified.headers["content-encoding"]).toBeUndefined();
    expect(notModified.headers["vary"]).toBe("Accept-Encoding");
  });

  it("does not compress HEAD, 204 or 206 responses", async () => {
    class Odd extends RequestHandler {
      get(kind: string) {
        if (kind === "empty") return this.setStatus(204);
        if (kind === "partial") {
          this.setStatus(206);
          this.setHeader("Content-Range", "bytes 0-1999/5000");
        }
        this.write(text(2000));
      }
    }
    await serve([["/(\\w+)", Odd]]);
    const head = await request("/full", { "Accept-Encoding": "gzip" }, "HEAD");
    expect(head.headers["content-encoding"]).toBeUndefined();
    expect(head.headers["content-length"]).toBe("2000");
    expect(head.headers["vary"]).toBe("Accept-Encoding");
    const empty = await request("/empty");
    expect(empty.status).toBe(204);
    expect(empty.headers["content-encoding"]).toBeUndefined();
    expect(empty.headers["vary"]).toBe("Accept-Encoding");
    const partial = await request("/partial");
    expect(partial.status).toBe(206);
    expect(partial.headers["content-encoding"]).toBeUndefined();
    expect(partial.body.toString()).toBe(text(2000));
  });

  it("appends Accept-Encoding to a Vary the handler set, once", async () => {
    class Varies extends RequestHandler {
      get(vary: string) {
        this.setHeader("Vary", vary);
        this.write(text(10));
      }
    }
    await serve([["/vary/(.+)", Varies]]);
    expect((await request("/vary/Cookie")).headers["vary"]).toBe("Cookie, Accept-Encoding");
    expect((await request("/vary/accept-encoding")).headers["vary"]).toBe("accept-encoding");
  });

  it("adds Vary to error pages too", async () => {
    await serve([]);
    const res = await expectLog("tornado.access", /404/, () => request("/nowhere"));
    expect(res.status).toBe(404);
    expect(res.headers["vary"]).toBe("Accept-Encoding");
  });

  it("is off by default: no Vary, no gzip", async () => {
    await serve([["/sized/(\\d+)", Sized]], {});
    const res = await request("/sized/5000");
    expect(res.headers["content-encoding"]).toBeUndefined();
    expect(res.headers["vary"]).toBeUndefined();
    expect(res.body.toString()).toBe(text(5000));
  });
});

describe("Application setting compressResponse, streamed responses", () => {
  it("compresses each flush() so the client can decode it before the response ends", async () => {
    const proceed = deferred();
    class Stream extends RequestHandler {
      async get() {
        this.write("first part;");
        await this.flush();
        await proceed.promise;
        this.write(" second part;");
        await this.flush();
        this.finish(" the end");
      }
    }
    await serve([["/", Stream]]);
    const firstDecoded = deferred<string>();
    const done = new Promise<{ headers: IncomingHttpHeaders; text: string }>((resolve, reject) => {
      http
        .get(server!.url("/"), { headers: { "Accept-Encoding": "gzip" }, agent: false }, (res) => {
          const gunzip = createGunzip();
          let decoded = "";
          gunzip.on("data", (chunk: Buffer) => {
            decoded += chunk.toString();
            if (decoded.includes("first part;")) firstDecoded.resolve(decoded);
          });
          gunzip.on("end", () => resolve({ headers: res.headers, text: decoded }));
          gunzip.on("error", reject);
          res.pipe(gunzip);
        })
        .on("error", reject);
    });
    // Small as it is, the first chunk arrives compressed while the handler still waits.
    expect(await firstDecoded.promise).toBe("first part;");
    proceed.resolve();
    const { headers, text: whole } = await done;
    expect(headers["content-encoding"]).toBe("gzip");
    expect(headers["transfer-encoding"]).toBe("chunked");
    expect(headers["content-length"]).toBeUndefined();
    expect(headers["vary"]).toBe("Accept-Encoding");
    expect(whole).toBe("first part; second part; the end");
  });

  it("drops a Content-Length the handler set, since it counted uncompressed bytes", async () => {
    class Declared extends RequestHandler {
      async get() {
        this.setHeader("Content-Length", 3000);
        this.write(text(1500));
        await this.flush();
        this.finish(text(1500));
      }
    }
    await serve([["/", Declared]]);
    const conn = await RawConnection.open(server!.port);
    await conn.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n\r\n");
    const res = await conn.readResponse();
    expect(res.header("Content-Length")).toBeUndefined();
    expect(res.chunked).toBe(true);
    expect(res.header("Content-Encoding")).toBe("gzip");
    expect(gunzipSync(res.body).toString()).toBe(text(1500) + text(1500));
  });

  it("streams a non-compressible type as is", async () => {
    class Bytes extends RequestHandler {
      async get() {
        this.setHeader("Content-Type", "application/octet-stream");
        this.write(Buffer.alloc(100, 1));
        await this.flush();
        this.finish(Buffer.alloc(100, 2));
      }
    }
    await serve([["/", Bytes]]);
    const res = await request("/");
    expect(res.headers["content-encoding"]).toBeUndefined();
    expect(res.headers["vary"]).toBe("Accept-Encoding");
    expect(res.body).toEqual(Buffer.concat([Buffer.alloc(100, 1), Buffer.alloc(100, 2)]));
  });

  it("rejects flush() with StreamClosedError once the client has gone", async () => {
    const flushError = deferred<unknown>();
    const firstSent = deferred();
    class Endless extends RequestHandler {
      async get() {
        try {
          for (;;) {
            this.write(text(4000));
            await this.flush();
            firstSent.resolve();
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
        } catch (e) {
          // Returning (rather than rethrowing) lets the runtime finish the response.
          flushError.resolve(e);
        }
      }
    }
    await serve([["/", Endless]]);
    const conn = await RawConnection.open(server!.port);
    await conn.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n\r\n");
    await firstSent.promise;
    conn.destroy();
    expect(await flushError.promise).toBeInstanceOf(StreamClosedError);
  });
});

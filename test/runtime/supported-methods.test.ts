import { afterEach, describe, expect, it } from "vitest";
import { Application, RequestHandler, createTestServer, expectLog, type TestServer } from "../../runtime/index.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

class DavHandler extends RequestHandler {
  static override SUPPORTED_METHODS = [...RequestHandler.SUPPORTED_METHODS, "PROPFIND", "MKCOL", "COPY"];
  get(name: string) {
    this.write(`file ${name}`);
  }
  propfind(name: string) {
    this.setStatus(207);
    this.setHeader("Content-Type", "application/xml; charset=utf-8");
    this.write(`<multistatus><response><href>/dav/${name}</href><depth>${this.request.headers.get("Depth")}</depth></response></multistatus>`);
  }
  mkcol(name: string) {
    this.setStatus(201);
    this.write(`made ${name}`);
  }
  // COPY is supported but not defined: a 405 that lists what is.
}

class ReadOnlyHandler extends RequestHandler {
  static override SUPPORTED_METHODS = ["GET", "HEAD"];
  get() {
    this.write("read");
  }
  post() {
    this.write("never reached");
  }
}

class PlainHandler extends RequestHandler {
  get() {
    this.write("plain");
  }
  propfind() {
    this.write("never reached: PROPFIND is not among the default methods");
  }
}

async function serve(): Promise<TestServer> {
  server = await createTestServer(
    new Application([
      ["/dav/(\\w+)", DavHandler],
      ["/ro", ReadOnlyHandler],
      ["/plain", PlainHandler],
    ]),
  );
  return server;
}

describe("a handler class's SUPPORTED_METHODS", () => {
  it("defaults to Tornado's seven methods", () => {
    expect(RequestHandler.SUPPORTED_METHODS).toEqual(["GET", "HEAD", "POST", "DELETE", "PATCH", "PUT", "OPTIONS"]);
    expect(PlainHandler.SUPPORTED_METHODS).toBe(RequestHandler.SUPPORTED_METHODS);
  });

  it("serves WebDAV verbs a class adds, each by the method of its lower-case name", async () => {
    const t = await serve();
    const found = await t.fetch("/dav/notes", { method: "PROPFIND", headers: { Depth: "1" } });
    expect(found.status).toBe(207);
    expect(found.headers.get("content-type")).toBe("application/xml; charset=utf-8");
    expect(await found.text()).toBe("<multistatus><response><href>/dav/notes</href><depth>1</depth></response></multistatus>");
    const made = await t.fetch("/dav/photos", { method: "MKCOL" });
    expect(made.status).toBe(201);
    expect(await made.text()).toBe("made photos");
    expect(await (await t.fetch("/dav/notes")).text()).toBe("file notes");
  });

  it("answers a supported verb the class does not define with 405 and an Allow header that lists the added ones", async () => {
    const t = await serve();
    const res = await expectLog("tornado.access", /^405 COPY \/dav\/notes /, () => t.fetch("/dav/notes", { method: "COPY" }));
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD, PROPFIND, MKCOL");
  });

  it("refuses with 405 a method left out of the list, even when the class defines it", async () => {
    const t = await serve();
    const post = await expectLog("tornado.access", /^405 POST \/ro /, () => t.fetch("/ro", { method: "POST", body: "x" }));
    expect(post.status).toBe(405);
    expect(await (await t.fetch("/ro")).text()).toBe("read");
    const dav = await expectLog("tornado.access", /^405 PROPFIND \/plain /, () => t.fetch("/plain", { method: "PROPFIND" }));
    expect(dav.status).toBe(405);
    expect(await dav.text()).not.toContain("never reached");
    const lock = await expectLog("tornado.access", /^405 LOCK \/dav\/notes /, () => t.fetch("/dav/notes", { method: "LOCK" }));
    expect(lock.status).toBe(405);
  });

  it("cannot reach a handler with a verb Node's parser does not know: a 400, and the server serves on", async () => {
    class FrobHandler extends RequestHandler {
      static override SUPPORTED_METHODS = ["FROB"];
      frob() {
        this.write("frobbed");
      }
    }
    server = await createTestServer(new Application([["/frob", FrobHandler], ["/plain", PlainHandler]]));
    const res = await server.fetch("/frob", { method: "FROB" });
    expect(res.status).toBe(400);
    expect(await (await server.fetch("/plain")).text()).toBe("plain");
  });
});

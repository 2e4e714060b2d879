import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import {
  Application,
  ErrorHandler,
  Finish,
  HTTPError,
  MissingArgumentError,
  RequestHandler,
  createTestServer,
  expectLog,
  interceptLogs,
  url,
  type ApplicationSettings,
  type ErrorDetails,
  type RouteSpec,
  type TestServer,
} from "../../runtime/index.js";

let server: TestServer | undefined;

async function serve(routes: RouteSpec[], settings: ApplicationSettings = {}): Promise<TestServer> {
  server = await createTestServer(new Application(routes, settings));
  return server;
}

afterEach(async () => {
  await server?.close();
  server = undefined;
});

const errorPageFor = (code: number, reason: string) =>
  `<html><title>${code}: ${reason}</title><body>${code}: ${reason}</body></html>`;

describe("Application(routes, settings)", () => {
  class Echo extends RequestHandler {
    get(...args: (string | null)[]) {
      this.write({ args, kwargs: this.pathKwargs });
    }
  }

  it("routes tuples and url() specs, first match wins", async () => {
    class First extends RequestHandler {
      get() {
        this.write("first");
      }
    }
    class Second extends RequestHandler {
      get() {
        this.write("second");
      }
    }
    const t = await serve([["/a", First], url("/a", Second), ["/b", Second]]);
    expect(await (await t.fetch("/a")).text()).toBe("first");
    expect(await (await t.fetch("/b")).text()).toBe("second");
  });

  it("anchors patterns at the end, so a prefix does not match", async () => {
    const t = await serve([["/users", Echo]]);
    await expectLog("tornado.access", /404 GET \/users\/extra/, async () => {
      expect((await t.fetch("/users/extra")).status).toBe(404);
    });
    expect((await t.fetch("/users")).status).toBe(200);
  });

  it("passes positional groups to the method, URL-decoded, a '+' kept as '+'", async () => {
    const t = await serve([["/p/([^/]+)/([^/]+)", Echo]]);
    const res = await t.fetch("/p/caf%C3%A9/a+b%20c");
    expect(await res.json()).toEqual({ args: ["café", "a+b c"], kwargs: {} });
  });

  it("passes null for an optional group that did not match", async () => {
    const t = await serve([["/opt/(\\d+)?", Echo]]);
    expect(await (await t.fetch("/opt/")).json()).toEqual({ args: [null], kwargs: {} });
    expect(await (await t.fetch("/opt/7")).json()).toEqual({ args: ["7"], kwargs: {} });
  });

  it("passes named groups in order and exposes them as pathKwargs", async () => {
    const t = await serve([["/u/(?<user>[^/]+)/posts/(?<post>\\d+)", Echo]]);
    expect(await (await t.fetch("/u/ann/posts/3")).json()).toEqual({
      args: ["ann", "3"],
      kwargs: { user: "ann", post: "3" },
    });
  });

  it("accepts /users/:id patterns", async () => {
    const t = await serve([url("/users/:id/files/:name", Echo)]);
    expect(await (await t.fetch("/users/42/files/a%2Fb")).json()).toEqual({
      args: ["42", "a/b"],
      kwargs: { id: "42", name: "a/b" },
    });
  });

  it("answers 404 with Tornado's page when no route matches", async () => {
    const t = await serve([["/", Echo]]);
    const res = await expectLog("tornado.access", /^404 GET \/nowhere \(127\.0\.0\.1\) \d+\.\d\dms$/, () => t.fetch("/nowhere"));
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("text/html; charset=UTF-8");
    expect(await res.text()).toBe(errorPageFor(404, "Not Found"));
  });

  it("sends unmatched paths to defaultHandlerClass with defaultHandlerArgs", async () => {
    class Fallback extends RequestHandler {
      private label = "";
      override initialize(args: { label: string }) {
        this.label = args.label;
      }
      get() {
        this.setStatus(404);
        this.write({ missing: this.request.path, label: this.label });
      }
    }
    const t = await serve([["/", Echo]], { defaultHandlerClass: Fallback, defaultHandlerArgs: { label: "custom" } });
    const res = await expectLog("tornado.access", /404 GET \/x/, () => t.fetch("/x"));
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ missing: "/x", label: "custom" });
  });

  it("runs prepare() before the 405 check, so a catch-all can raise 404 there (Tornado's order)", async () => {
    class CatchAll extends RequestHandler {
      override prepare() {
        throw new HTTPError(404, `nothing at ${this.request.path}`);
      }
    }
    const t = await serve([["/", Echo]], { defaultHandlerClass: CatchAll });
    const res = await expectLog("tornado.general", /nothing at \/x/, () =>
      expectLog("tornado.access", /404 POST \/x/, () => t.fetch("/x", { method: "POST", body: "data" })),
    );
    expect(res.status).toBe(404);
  });

  it("serves ErrorHandler routes with their status", async () => {
    const t = await serve([["/gone", ErrorHandler, { statusCode: 410 }]]);
    const res = await expectLog("tornado.access", /410 GET \/gone/, () => t.fetch("/gone"));
    expect(res.status).toBe(410);
    expect(await res.text()).toBe(errorPageFor(410, "Gone"));
  });

  it("reverses named routes from the application and from a handler", async () => {
    class Links extends RequestHandler {
      get() {
        this.write({ user: this.reverseUrl("user", "ann b", 7) });
      }
    }
    const app = new Application([url("/users/([^/]+)/(\\d+)", Echo, { name: "user" }), ["/links", Links]]);
    expect(app.reverseUrl("user", "x", 1)).toBe("/users/x/1");
    server = await createTestServer(app);
    expect(await (await server.fetch("/links")).json()).toEqual({ user: "/users/ann%20b/7" });
  });

  it("adds routes after the existing ones with addHandlers", async () => {
    const app = new Application([["/a", Echo]]);
    app.addHandlers([["/b", Echo]]);
    server = await createTestServer(app);
    expect((await server.fetch("/b")).status).toBe(200);
  });

  it("passes a tuple's third element to initialize()", async () => {
    class Init extends RequestHandler {
      private greeting = "";
      override initialize(args: { greeting: string }) {
        this.greeting = args.greeting;
      }
      get() {
        this.write(this.greeting);
      }
    }
    const t = await serve([["/", Init, { greeting: "hi" }]]);
    expect(await (await t.fetch("/")).text()).toBe("hi");
  });

  it("keeps unknown settings for handlers and implies serveTraceback from debug", () => {
    const app = new Application([], { debug: true, db: { name: "x" } });
    expect(app.settings.serveTraceback).toBe(true);
    expect(app.settings.db).toEqual({ name: "x" });
  });
});

describe("RequestHandler lifecycle", () => {
  it("awaits initialize, prepare, the method and onFinish, in that order", async () => {
    const calls: string[] = [];
    let markFinished = () => {};
    const finished = new Promise<void>((resolve) => (markFinished = resolve));
    class Life extends RequestHandler {
      override async initialize() {
        await new Promise((r) => setTimeout(r, 5));
        calls.push("initialize");
      }
      override async prepare() {
        await new Promise((r) => setTimeout(r, 5));
        calls.push("prepare");
      }
      async get() {
        await new Promise((r) => setTimeout(r, 5));
        calls.push("get");
        this.write(calls.join(","));
      }
      override async onFinish() {
        await new Promise((r) => setTimeout(r, 5));
        calls.push("onFinish");
        markFinished();
      }
    }
    const t = await serve([["/", Life]]);
    expect(await (await t.fetch("/")).text()).toBe("initialize,prepare,get");
    await finished;
    expect(calls).toEqual(["initialize", "prepare", "get", "onFinish"]);
  });

  it("runs the same lifecycle whether each step returns a promise or not", async () => {
    const calls: string[] = [];
    const later = () => new Promise((r) => setTimeout(r, 2));
    class Mixed extends RequestHandler {
      override initialize() {
        calls.push("initialize");
      }
      override prepare(): void | Promise<void> {
        return later().then(() => {
          calls.push("prepare");
        });
      }
      get() {
        calls.push("get");
        this.write(calls.join(","));
      }
      override onFinish() {
        calls.push("onFinish");
      }
    }
    class Plain extends Mixed {
      override prepare() {
        calls.push("prepare");
      }
    }
    const t = await serve([
      ["/mixed", Mixed],
      ["/plain", Plain],
    ]);
    expect(await (await t.fetch("/mixed")).text()).toBe("initialize,prepare,get");
    expect(calls).toEqual(["initialize", "prepare", "get", "onFinish"]);
    calls.length = 0;
    expect(await (await t.fetch("/plain")).text()).toBe("initialize,prepare,get");
    expect(calls).toEqual(["initialize", "prepare", "get", "onFinish"]);
  });

  it("logs an async onFinish() that fails after prepare() finished the request", async () => {
    class Early extends RequestHandler {
      override prepare() {
        this.finish("early");
      }
      get() {}
      override async onFinish() {
        throw new Error("onFinish broke");
      }
    }
    const t = await serve([["/", Early]]);
    await expectLog("tornado.application", /Exception in onFinish/, async () => {
      expect(await (await t.fetch("/")).text()).toBe("early");
      await new Promise((r) => setTimeout(r, 20));
    });
  });

  it("does not call the method when prepare() finishes the request", async () => {
    let called = false;
    class Gate extends RequestHandler {
      override prepare() {
        this.setStatus(403);
        this.finish("stopped in prepare");
      }
      get() {
        called = true;
      }
    }
    const t = await serve([["/", Gate]]);
    const res = await expectLog("tornado.access", /403/, () => t.fetch("/"));
    expect(res.status).toBe(403);
    expect(await res.text()).toBe("stopped in prepare");
    expect(called).toBe(false);
  });

  it("finishes automatically after the method returns", async () => {
    class Auto extends RequestHandler {
      async post() {
        this.write("a");
        await new Promise((r) => setTimeout(r, 1));
        this.write("b");
      }
    }
    const t = await serve([["/", Auto]]);
    const res = await t.fetch("/", { method: "POST" });
    expect(await res.text()).toBe("ab");
    expect(res.headers.get("content-length")).toBe("2");
  });

  it("serves many slow requests at once without one blocking another", async () => {
    class Slow extends RequestHandler {
      async get(ms: string) {
        await new Promise((r) => setTimeout(r, Number(ms)));
        this.write(ms);
      }
    }
    const t = await serve([["/slow/(\\d+)", Slow]]);
    const order: string[] = [];
    await Promise.all(
      ["400", "10"].map(async (ms) => {
        const body = await (await t.fetch(`/slow/${ms}`)).text();
        order.push(body);
      }),
    );
    expect(order).toEqual(["10", "400"]);
  });
});

describe("RequestHandler.getArgument(name, default)", () => {
  class Args extends RequestHandler {
    get() {
      this.write({ q: this.getArgument("q") });
    }
    post() {
      this.write({
        merged: this.getArgument("a", null),
        all: this.getArguments("a"),
        query: this.getQueryArgument("a", null),
        body: this.getBodyArgument("a", null),
        bodyAll: this.getBodyArguments("a"),
        queryAll: this.getQueryArguments("a"),
        missing: this.getArgument("nope", "fallback"),
        raw: this.getArgument("s", null, false),
        stripped: this.getArgument("s", null),
      });
    }
  }

  it("answers 400 and logs 'Missing argument q' when the argument is missing", async () => {
    const t = await serve([["/arg", Args]]);
    const res = await expectLog("tornado.general", "400 GET /arg (127.0.0.1): Missing argument q", () =>
      expectLog("tornado.access", /400 GET \/arg/, () => t.fetch("/arg")),
    );
    expect(res.status).toBe(400);
    expect(await res.text()).toBe(errorPageFor(400, "Bad Request"));
  });

  it("merges query and form body arguments, the last value winning", async () => {
    const t = await serve([["/arg", Args]]);
    const res = await t.fetch("/arg?a=q1&a=q2", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "a=b1&s=%20%20spaced%09&a=b2",
    });
    expect(await res.json()).toEqual({
      merged: "b2",
      all: ["q1", "q2", "b1", "b2"],
      query: "q2",
      body: "b2",
      bodyAll: ["b1", "b2"],
      queryAll: ["q1", "q2"],
      missing: "fallback",
      raw: "  spaced\t",
      stripped: "spaced",
    });
  });

  it("turns control characters into spaces", async () => {
    const t = await serve([["/arg", Args]]);
    expect(await (await t.fetch("/arg?q=a%01b%1Fc")).json()).toEqual({ q: "a b c" });
  });

  it("decodes '+' as a space and percent-escapes as UTF-8 in query values", async () => {
    const t = await serve([["/arg", Args]]);
    expect(await (await t.fetch("/arg?q=caf%C3%A9+au+lait")).json()).toEqual({ q: "café au lait" });
  });

  it("answers 400 for an argument that is not valid UTF-8", async () => {
    const t = await serve([["/arg", Args]]);
    const res = await expectLog("tornado.general", /Invalid unicode in q/, () =>
      expectLog("tornado.access", /400/, () => t.fetch("/arg?q=%FF%FE")),
    );
    expect(res.status).toBe(400);
  });

  it("reads multipart fields and uploaded files", async () => {
    class Upload extends RequestHandler {
      post() {
        const [file] = this.request.files.doc ?? [];
        this.write({
          title: this.getBodyArgument("title"),
          filename: file?.filename,
          type: file?.contentType,
          content: file?.body.toString(),
        });
      }
    }
    const t = await serve([["/upload", Upload]]);
    const form = new FormData();
    form.append("title", "Report");
    form.append("doc", new Blob(["hello file"], { type: "text/plain" }), "report.txt");
    const res = await t.fetch("/upload", { method: "POST", body: form });
    expect(await res.json()).toEqual({ title: "Report", filename: "report.txt", type: "text/plain", content: "hello file" });
  });

  it("answers 400 for a malformed multipart body", async () => {
    class Upload extends RequestHandler {
      post() {
        this.write("parsed");
      }
    }
    const t = await serve([["/upload", Upload]]);
    const res = await expectLog("tornado.general", /Invalid body/, () =>
      expectLog("tornado.access", /400/, () =>
        t.fetch("/upload", {
          method: "POST",
          headers: { "Content-Type": "multipart/form-data; boundary=xyz" },
          body: "--xyz\r\nno final boundary here",
        }),
      ),
    );
    expect(res.status).toBe(400);
  });

  it("answers 400 for a multipart body of more than 100 parts", async () => {
    class Upload extends RequestHandler {
      post() {
        this.write("parsed");
      }
    }
    const t = await serve([["/upload", Upload]]);
    const form = new FormData();
    for (let i = 0; i < 101; i++) form.append(`f${i}`, "v");
    const res = await expectLog("tornado.general", /too many parts/, () =>
      expectLog("tornado.access", /400/, () => t.fetch("/upload", { method: "POST", body: form })),
    );
    expect(res.status).toBe(400);
  });

  it("throws MissingArgumentError with the argument's name and a stable code", () => {
    const error = new MissingArgumentError("page");
    expect(error).toBeInstanceOf(HTTPError);
    expect(error.status).toBe(400);
    expect(error.argName).toBe("page");
    expect(error.code).toBe("ERR_MISSING_ARGUMENT");
    expect(error.logMessage).toBe("Missing argument page");
  });
});

describe("RequestHandler.jsonBody()", () => {
  class Json extends RequestHandler {
    post() {
      const body = this.jsonBody<{ name: string }>();
      this.write({ hello: body.name, again: this.jsonBody() === body });
    }
  }

  it("parses the body once and returns the same object", async () => {
    const t = await serve([["/", Json]]);
    const res = await t.fetch("/", { method: "POST", body: JSON.stringify({ name: "Ann" }) });
    expect(await res.json()).toEqual({ hello: "Ann", again: true });
  });

  it("answers 400 on malformed JSON, logging why", async () => {
    const t = await serve([["/", Json]]);
    const res = await expectLog("tornado.general", /400 POST \/ \(127\.0\.0\.1\): Invalid JSON body/, () =>
      expectLog("tornado.access", /400/, () => t.fetch("/", { method: "POST", body: "{not json" })),
    );
    expect(res.status).toBe(400);
  });

  it("answers 400 on an empty body", async () => {
    const t = await serve([["/", Json]]);
    const res = await expectLog("tornado.general", /Missing JSON body/, () =>
      expectLog("tornado.access", /400/, () => t.fetch("/", { method: "POST" })),
    );
    expect(res.status).toBe(400);
  });
});

describe("RequestHandler response", () => {
  it("sends the default headers: Server, Content-Type and Date", async () => {
    class Plain extends RequestHandler {
      get() {
        this.write("hi");
      }
    }
    const t = await serve([["/", Plain]]);
    const res = await t.fetch("/");
    expect(res.headers.get("server")).toMatch(/^TornadoServer\/\d+\.\d+\.\d+$/);
    expect(res.headers.get("content-type")).toBe("text/html; charset=UTF-8");
    expect(new Date(res.headers.get("date")!).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(res.headers.get("content-length")).toBe("2");
  });

  it("writes objects and arrays as JSON with '</' escaped", async () => {
    class Obj extends RequestHandler {
      get(kind: string) {
        this.write(kind === "array" ? [1, "</script>"] : { html: "</script>" });
      }
    }
    const t = await serve([["/(object|array)", Obj]]);
    const obj = await t.fetch("/object");
    expect(obj.headers.get("content-type")).toBe("application/json; charset=UTF-8");
    expect(await obj.text()).toBe('{"html":"<\\/script>"}');
    expect(await (await t.fetch("/array")).json()).toEqual([1, "</script>"]);
  });

  it("uses the jsonEncoder setting for objects", async () => {
    class Obj extends RequestHandler {
      get() {
        this.write({ big: 10n });
      }
    }
    const t = await serve([["/", Obj]], {
      jsonEncoder: (value) => JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v)),
    });
    expect(await (await t.fetch("/")).json()).toEqual({ big: "10" });
  });

  it("writes Buffers and typed arrays as bytes", async () => {
    class Bytes extends RequestHandler {
      get() {
        this.setHeader("Content-Type", "application/octet-stream");
        this.write(Buffer.from([1, 2]));
        this.write(new Uint8Array([3, 255]));
      }
    }
    const t = await serve([["/", Bytes]]);
    expect([...new Uint8Array(await (await t.fetch("/")).arrayBuffer())]).toEqual([1, 2, 3, 255]);
  });

  it("sets, adds and clears headers", async () => {
    class Headers extends RequestHandler {
      get() {
        this.setHeader("X-One", "1");
        this.setHeader("X-One", 2);
        this.addHeader("X-Many", "a");
        this.addHeader("X-Many", "b");
        this.setHeader("Last-Modified", new Date(Date.UTC(2020, 0, 2, 3, 4, 5)));
        this.clearHeader("Server");
      }
    }
    const t = await serve([["/", Headers]]);
    const res = await t.fetch("/");
    expect(res.headers.get("x-one")).toBe("2");
    expect(res.headers.get("x-many")).toBe("a, b");
    expect(res.headers.get("last-modified")).toBe("Thu, 02 Jan 2020 03:04:05 GMT");
    expect(res.headers.get("server")).toBeNull();
  });

  it("refuses a header value with CR or LF instead of sending it", async () => {
    class Inject extends RequestHandler {
      get() {
        try {
          this.setHeader("X-Evil", "a\r\nSet-Cookie: stolen=1");
        } catch (e) {
          this.write(`refused: ${(e as Error).name}`);
        }
      }
    }
    const t = await serve([["/", Inject]]);
    const res = await t.fetch("/");
    expect(await res.text()).toBe("refused: TypeError");
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(res.headers.get("x-evil")).toBeNull();
  });

  it("answers 500 when an uncaught setHeader error escapes the handler", async () => {
    class Inject extends RequestHandler {
      get() {
        this.setHeader("X-Evil", "a\nb");
      }
    }
    const t = await serve([["/", Inject]]);
    const res = await expectLog("tornado.application", /Uncaught exception GET \//, () =>
      expectLog("tornado.access", /500/, () => t.fetch("/")),
    );
    expect(res.status).toBe(500);
  });

  it("sets the status with its standard reason, a custom one, or 'Unknown'", async () => {
    class Status extends RequestHandler {
      get(which: string) {
        if (which === "created") this.setStatus(201);
        if (which === "custom") this.setStatus(299, "Partly Done");
        if (which === "unknown") this.setStatus(599);
        if (which === "crlf") this.setStatus(200, "OK\r\nX-Evil: 1");
        if (which === "markup") this.setStatus(200, "<script>");
        this.write(this.reason);
      }
    }
    const t = await serve([["/(\\w+)", Status]]);
    const created = await t.fetch("/created");
    expect([created.status, created.statusText]).toEqual([201, "Created"]);
    const custom = await t.fetch("/custom");
    expect([custom.status, custom.statusText]).toEqual([299, "Partly Done"]);
    const unknown = await expectLog("tornado.access", /599/, () => t.fetch("/unknown"));
    expect([unknown.status, unknown.statusText]).toEqual([599, "Unknown"]);
    const crlf = await t.fetch("/crlf");
    expect([crlf.statusText, crlf.headers.get("x-evil")]).toEqual(["Unknown", null]);
    expect((await t.fetch("/markup")).statusText).toBe("Unknown");
  });

  it("adds an Etag to 200 GET responses and answers 304 to a matching If-None-Match", async () => {
    class Cached extends RequestHandler {
      get() {
        this.write("cache me");
      }
    }
    const t = await serve([["/", Cached]]);
    const first = await t.fetch("/");
    const etag = first.headers.get("etag")!;
    expect(etag).toMatch(/^"[0-9a-f]{16}"$/);
    for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, "*"]) {
      const res = await t.fetch("/", { headers: { "If-None-Match": ifNoneMatch } });
      expect(res.status).toBe(304);
      expect(await res.text()).toBe("");
      expect(res.headers.get("content-length")).toBeNull();
      expect(res.headers.get("content-type")).toBeNull();
      expect(res.headers.get("etag")).toBe(etag);
    }
    const stale = await t.fetch("/", { headers: { "If-None-Match": '"stale"' } });
    expect(stale.status).toBe(200);
    expect(await stale.text()).toBe("cache me");
  });

  it("gives different bodies different Etags: a 64-bit hash for short text, SHA-1 beyond 128 characters", async () => {
    class Sized extends RequestHandler {
      get(size: string) {
        this.write("x".repeat(Number(size) - 1) + (this.getArgument("last", "a")));
      }
    }
    const t = await serve([["/sized/(\\d+)", Sized]]);
    const etagOf = async (path: string) => (await t.fetch(path)).headers.get("etag")!;
    expect(await etagOf("/sized/128")).toMatch(/^"[0-9a-f]{16}"$/);
    expect(await etagOf("/sized/129")).toBe(`"${createHash("sha1").update("x".repeat(128) + "a").digest("hex")}"`);
    expect(await etagOf("/sized/10?last=a")).not.toBe(await etagOf("/sized/10?last=b"));
    expect(await etagOf("/sized/500?last=a")).not.toBe(await etagOf("/sized/500?last=b"));
  });

  it("adds no Etag to other methods or statuses", async () => {
    class Made extends RequestHandler {
      post() {
        this.write("made");
      }
      get() {
        this.setStatus(201);
        this.write("made");
      }
    }
    const t = await serve([["/", Made]]);
    expect((await t.fetch("/", { method: "POST" })).headers.get("etag")).toBeNull();
    expect((await t.fetch("/")).headers.get("etag")).toBeNull();
  });

  it("sends 204 without body, Content-Length or Content-Type", async () => {
    class NoContent extends RequestHandler {
      delete() {
        this.setStatus(204);
      }
      put() {
        this.setStatus(204);
        this.write("oops");
      }
    }
    const t = await serve([["/", NoContent]]);
    const res = await t.fetch("/", { method: "DELETE" });
    expect(res.status).toBe(204);
    expect(res.headers.get("content-length")).toBeNull();
    expect(res.headers.get("content-type")).toBeNull();
    const bad = await expectLog("tornado.application", /Uncaught exception PUT/, () =>
      expectLog("tornado.access", /500/, () => t.fetch("/", { method: "PUT" })),
    );
    expect(bad.status).toBe(500);
  });

  it("redirects with 302, 301 when permanent, or a given 3xx", async () => {
    class Go extends RequestHandler {
      get(kind: string) {
        if (kind === "temp") this.redirect("/target");
        else if (kind === "perm") this.redirect("/target", true);
        else this.redirect("/target", false, 303);
      }
    }
    const t = await serve([["/(\\w+)", Go]]);
    for (const [kind, status] of [["temp", 302], ["perm", 301], ["other", 303]] as const) {
      const res = await t.fetch(`/${kind}`, { redirect: "manual" });
      expect(res.status).toBe(status);
      expect(res.headers.get("location")).toBe("/target");
    }
  });

  it("answers HEAD from get() when there is no head(), with GET's headers and no body", async () => {
    class Page extends RequestHandler {
      get() {
        this.setHeader("X-From", "get");
        this.write("twelve bytes");
      }
    }
    const t = await serve([["/", Page]]);
    const head = await t.fetch("/", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("x-from")).toBe("get");
    expect(head.headers.get("content-length")).toBe("12");
    expect(head.headers.get("etag")).toBe((await t.fetch("/")).headers.get("etag"));
    expect(await head.text()).toBe("");
  });

  it("uses head() when the handler defines it", async () => {
    class Page extends RequestHandler {
      get() {
        this.write("body");
      }
      head() {
        this.setHeader("X-From", "head");
      }
    }
    const t = await serve([["/", Page]]);
    expect((await t.fetch("/", { method: "HEAD" })).headers.get("x-from")).toBe("head");
  });

  it("answers 405 with an Allow header for a method the handler lacks or an unknown method", async () => {
    class ReadOnly extends RequestHandler {
      get() {
        this.write("r");
      }
    }
    const t = await serve([["/", ReadOnly]]);
    const post = await expectLog("tornado.access", /405 POST/, () => t.fetch("/", { method: "POST" }));
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    expect(await post.text()).toBe(errorPageFor(405, "Method Not Allowed"));
    const propfind = await expectLog("tornado.access", /405 PROPFIND/, () => t.fetch("/", { method: "PROPFIND" }));
    expect(propfind.status).toBe(405);
  });

  it("refuses finish() twice and write() after finish()", async () => {
    class Twice extends RequestHandler {
      get() {
        this.finish("once");
        const errors: string[] = [];
        for (const f of [() => this.finish(), () => this.write("more")]) {
          try {
            f();
          } catch (e) {
            errors.push((e as Error).message);
          }
        }
        captured = errors;
      }
    }
    let captured: string[] = [];
    const t = await serve([["/", Twice]]);
    expect(await (await t.fetch("/")).text()).toBe("once");
    expect(captured).toEqual(["finish() called twice", "Cannot write() after finish()"]);
  });

  it("refuses to write anything that is not a string, bytes or an object", async () => {
    class Bad extends RequestHandler {
      get() {
        try {
          this.write(42 as unknown as string);
        } catch (e) {
          this.write((e as Error).message);
        }
      }
    }
    const t = await serve([["/", Bad]]);
    expect(await (await t.fetch("/")).text()).toBe("write() takes a string, a Buffer or an object, not number");
  });
});

describe("RequestHandler errors", () => {
  it("answers an HTTPError with its status and logs its message as a warning", async () => {
    class Missing extends RequestHandler {
      get(id: string) {
        throw new HTTPError(404, `no user ${id}`);
      }
    }
    const t = await serve([["/users/(\\w+)", Missing]]);
    const res = await expectLog("tornado.general", "404 GET /users/7 (127.0.0.1): no user 7", () =>
      expectLog("tornado.access", /404/, () => t.fetch("/users/7")),
    );
    expect(res.status).toBe(404);
    expect(await res.text()).toBe(errorPageFor(404, "Not Found"));
  });

  it("uses an HTTPError's reason and headers, and escapes the reason in the page", async () => {
    class Limited extends RequestHandler {
      get() {
        throw new HTTPError(429, undefined, { reason: "Slow & Steady", headers: { "Retry-After": "30" } });
      }
    }
    const t = await serve([["/", Limited]]);
    const res = await expectLog("tornado.access", /429/, () => t.fetch("/"));
    expect([res.status, res.statusText]).toEqual([429, "Slow & Steady"]);
    expect(res.headers.get("retry-after")).toBe("30");
    expect(await res.text()).toBe(errorPageFor(429, "Slow &amp; Steady"));
  });

  it("answers 500 to any other error, logging it with its stack", async () => {
    class Boom extends RequestHandler {
      async get() {
        throw new Error("kaboom");
      }
    }
    const t = await serve([["/boom", Boom]]);
    const res = await expectLog("tornado.application", /Uncaught exception GET \/boom \(127\.0\.0\.1\)/, () =>
      expectLog("tornado.access", /^500 GET \/boom/, () => t.fetch("/boom")),
    );
    expect(res.status).toBe(500);
    expect(await res.text()).toBe(errorPageFor(500, "Internal Server Error"));
  });

  it("serves the stack as plain text with serveTraceback or debug", async () => {
    class Boom extends RequestHandler {
      get() {
        throw new Error("kaboom");
      }
    }
    for (const settings of [{ serveTraceback: true }, { debug: true }]) {
      const t = await serve([["/", Boom]], settings);
      const res = await expectLog("tornado.application", /Uncaught/, () => expectLog("tornado.access", /500/, () => t.fetch("/")));
      expect(res.status).toBe(500);
      expect(res.headers.get("content-type")).toBe("text/plain; charset=UTF-8");
      const body = await res.text();
      expect(body).toMatch(/^Error: kaboom\n\s+at /);
      await t.close();
      server = undefined;
    }
  });

  it("discards headers and body written before an error", async () => {
    class Partial extends RequestHandler {
      get() {
        this.setHeader("X-Partial", "yes");
        this.write("half a page");
        throw new HTTPError(503);
      }
    }
    const t = await serve([["/", Partial]]);
    const res = await expectLog("tornado.access", /503/, () => t.fetch("/"));
    expect(res.status).toBe(503);
    expect(res.headers.get("x-partial")).toBeNull();
    expect(await res.text()).toBe(errorPageFor(503, "Service Unavailable"));
  });

  it("lets writeError render a custom (JSON) body, sync or async", async () => {
    class Api extends RequestHandler {
      get() {
        throw new HTTPError(422, "name is required");
      }
      override async writeError(status: number, { error }: ErrorDetails) {
        await new Promise((r) => setTimeout(r, 1));
        this.finish({ error: { status, message: error instanceof HTTPError ? error.logMessage : this.reason } });
      }
    }
    const t = await serve([["/", Api]]);
    const res = await expectLog("tornado.general", /name is required/, () => expectLog("tornado.access", /422/, () => t.fetch("/")));
    expect(res.status).toBe(422);
    expect(res.headers.get("content-type")).toBe("application/json; charset=UTF-8");
    expect(await res.json()).toEqual({ error: { status: 422, message: "name is required" } });
  });

  it("answers with the status and an empty body when writeError itself throws", async () => {
    class Broken extends RequestHandler {
      get() {
        throw new HTTPError(418);
      }
      override writeError() {
        this.write("partial error page");
        throw new Error("writeError failed");
      }
    }
    const t = await serve([["/", Broken]]);
    const res = await expectLog("tornado.application", /Uncaught exception in writeError/, () =>
      expectLog("tornado.access", /418/, () => t.fetch("/")),
    );
    expect(res.status).toBe(418);
    expect(await res.text()).toBe("");
  });

  it("sendError() answers immediately from a handler", async () => {
    class Busy extends RequestHandler {
      get() {
        this.sendError(503, { reason: "Busy Now" });
      }
    }
    const t = await serve([["/", Busy]]);
    const res = await expectLog("tornado.access", /503/, () => t.fetch("/"));
    expect([res.status, res.statusText]).toEqual([503, "Busy Now"]);
    expect(await res.text()).toBe(errorPageFor(503, "Busy Now"));
  });

  it("ends the request normally on Finish, with no error and no error log", async () => {
    class Early extends RequestHandler {
      override prepare() {
        this.write("early ");
        throw new Finish("exit");
      }
      get() {
        this.write("never");
      }
    }
    const t = await serve([["/", Early]]);
    const res = await t.fetch("/");
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("early exit");
  });

  it("after headers were flushed, an error logs and ends the response", async () => {
    class Streaming extends RequestHandler {
      async get() {
        this.write("first part;");
        await this.flush();
        throw new Error("late failure");
      }
    }
    const t = await serve([["/", Streaming]]);
    const res = await expectLog("tornado.general", "Cannot send error response after headers written", () =>
      expectLog("tornado.application", /late failure|Uncaught/, () => t.fetch("/")),
    );
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("first part;");
  });
});

describe("Application.logRequest", () => {
  class Status extends RequestHandler {
    get(code: string) {
      this.setStatus(Number(code));
    }
  }

  it("writes one access line per request, at a level by status", async () => {
    const t = await serve([["/s/(\\d+)", Status]]);
    await expectLog("tornado.access", /^200 GET \/s\/200\?a=1 \(127\.0\.0\.1\) \d+\.\d\dms$/, () => t.fetch("/s/200?a=1"), { level: "info" });
    await expectLog("tornado.access", /^404 GET \/s\/404/, () => t.fetch("/s/404"), { level: "warning" });
    await expectLog("tornado.access", /^503 GET \/s\/503/, () => t.fetch("/s/503"), { level: "error" });
  });

  it("calls logFunction instead when set", async () => {
    const seen: string[] = [];
    const accessLines: string[] = [];
    const stop = interceptLogs((r) => r.logger === "tornado.access" && accessLines.push(r.message) > 0);
    try {
      const t = await serve([["/s/(\\d+)", Status]], { logFunction: (h) => seen.push(`${h.getStatus()} ${h.request.path}`) });
      await t.fetch("/s/201");
      await t.fetch("/s/404");
    } finally {
      stop();
    }
    expect(seen).toEqual(["201 /s/201", "404 /s/404"]);
    expect(accessLines).toEqual([]);
  });
});

describe("Application setting blockingLogThreshold", () => {
  const busy = (ms: number) => {
    const end = Date.now() + ms;
    while (Date.now() < end);
  };

  it("logs the route, handler method, its location and the time when a handler blocks the loop", async () => {
    class Blocker extends RequestHandler {
      async get(where: string) {
        if (where === "before") busy(150);
        await new Promise((r) => setTimeout(r, 1));
        if (where === "after") busy(150);
        this.write("done");
      }
    }
    const t = await serve([url("/block/:where", Blocker)], { blockingLogThreshold: 80 });
    for (const where of ["before", "after"]) {
      const res = await expectLog(
        "tornado.general",
        /^GET \/block\/:where: Blocker\.get \(\S+web\.test\.ts:\d+\) blocked the event loop for 1\d\d ms$/,
        async () => {
          const response = await t.fetch(`/block/${where}`);
          // The location is looked up after the request; give it a moment.
          await new Promise((r) => setTimeout(r, 300));
          return response;
        },
      );
      expect(await res.text()).toBe("done");
    }
  });

  it("says nothing about handlers under the threshold", async () => {
    class Quick extends RequestHandler {
      get() {
        this.write("quick");
      }
    }
    const t = await serve([["/", Quick]], { blockingLogThreshold: 80 });
    const reported: string[] = [];
    const stop = interceptLogs((r) => r.message.includes("blocked the event loop") && reported.push(r.message) > 0);
    try {
      expect(await (await t.fetch("/")).text()).toBe("quick");
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      stop();
    }
    expect(reported).toEqual([]);
  });
});


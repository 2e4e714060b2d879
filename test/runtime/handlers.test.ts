import { createHash } from "node:crypto";
import { mkdir, mkdtemp, open, rm, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { fork } from "node:child_process";
import type { IncomingMessage, ServerResponse } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  Application,
  ErrorHandler as WebErrorHandler,
  RequestHandler,
  createTestServer,
  expectLog,
  interceptLogs,
  type ApplicationSettings,
  type LogRecord,
  type RouteSpec,
  type TestServer,
} from "../../runtime/index.js";
import {
  ErrorHandler,
  FallbackHandler,
  RedirectHandler,
  StaticFileHandler,
  type NodeRequestListener,
} from "../../runtime/handlers.js";
import { destroyRawConnections, rawRequest, RawConnection } from "../helpers/raw.js";

let server: TestServer | undefined;

async function serve(routes: RouteSpec[], settings: ApplicationSettings = {}): Promise<TestServer> {
  server = await createTestServer(new Application(routes, settings));
  return server;
}

afterEach(async () => {
  destroyRawConnections();
  await server?.close();
  server = undefined;
});

// Keeps expected 4xx warnings (access log, HTTPError log messages) off the test output; errors
// on tornado.application still show.
function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const stop = interceptLogs((r) => r.logger === "tornado.access" || (r.logger === "tornado.general" && r.level !== "error"));
  return fn().finally(stop);
}

// Runs `fn` and returns the messages of the errors logged on tornado.application meanwhile
// (kept off the output).
async function applicationErrors(fn: () => Promise<unknown>): Promise<string[]> {
  const records: LogRecord[] = [];
  const stop = interceptLogs((r) => r.logger === "tornado.application" && records.push(r) > 0);
  try {
    await fn();
  } finally {
    stop();
  }
  return records.map((r) => `${r.message}: ${r.error instanceof Error ? r.error.message : String(r.error)}`);
}

const MTIME = new Date("2020-01-02T03:04:05Z");
const HELLO = "Hello, static world\n";
const DATA = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
const SECRET = "TOP-SECRET-7f3a";
const sha512 = (data: string | Buffer) => createHash("sha512").update(data).digest("hex");

let tmp: string;
let root: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "tornado-static-"));
  root = join(tmp, "www");
  await mkdir(join(root, "docs", "guide"), { recursive: true });
  await mkdir(join(root, "sub"), { recursive: true });
  await mkdir(join(tmp, "secret"));
  await mkdir(join(tmp, "www-private"));
  const files: Record<string, string | Buffer> = {
    "hello.txt": HELLO,
    "data.bin": DATA,
    "empty.bin": Buffer.alloc(0),
    "one.bin": Buffer.from("x"),
    "app.css": "body { color: red }\n",
    "app.js": "console.log(1)\n",
    "app.js.gz": Buffer.from([0x1f, 0x8b]),
    "data.json": "{}",
    "logo.svg": "<svg/>",
    "logo.png": Buffer.from([0x89, 0x50]),
    "font.woff2": Buffer.from([0]),
    "page.html": "<p>page</p>",
    "noext": "?",
    "favicon.ico": "ICO",
    "robots.txt": "User-agent: *\n",
    "a b.txt": "space",
    "café.txt": "accent",
    "docs/index.html": "<h1>docs</h1>",
    "docs/guide/index.html": "<h1>guide</h1>",
    "sub/file.txt": "in sub",
  };
  for (const [name, content] of Object.entries(files)) {
    await writeFile(join(root, name), content);
    await utimes(join(root, name), MTIME, MTIME);
  }
  await writeFile(join(tmp, "secret", "passwd.txt"), SECRET);
  await writeFile(join(tmp, "www-private", "key.txt"), SECRET);
  await symlink(join(tmp, "secret", "passwd.txt"), join(root, "link-out.txt"));
  await symlink(join(tmp, "secret"), join(root, "linkdir"));
  await symlink("hello.txt", join(root, "link-in.txt"));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

beforeEach(() => {
  StaticFileHandler.reset();
});

describe("StaticFileHandler (initArgs { path, defaultFilename })", () => {
  const files = () => serve([["/files/(.*)", StaticFileHandler, { path: root }]]);

  it("serves a file with Content-Type, Content-Length, Accept-Ranges, Etag (SHA-512) and Last-Modified", async () => {
    const t = await files();
    const res = await t.fetch("/files/hello.txt");
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(HELLO);
    expect(res.headers.get("content-type")).toBe("text/plain");
    expect(res.headers.get("content-length")).toBe(String(HELLO.length));
    expect(res.headers.get("accept-ranges")).toBe("bytes");
    expect(res.headers.get("etag")).toBe(`"${sha512(HELLO)}"`);
    expect(res.headers.get("last-modified")).toBe(MTIME.toUTCString());
    expect(res.headers.get("cache-control")).toBeNull();
    expect(res.headers.get("expires")).toBeNull();
  });

  it("sends the content type of the extension, application/gzip for .gz and octet-stream when unknown", async () => {
    const t = await files();
    const expected: Record<string, string> = {
      "app.css": "text/css",
      "app.js": "text/javascript",
      "app.js.gz": "application/gzip",
      "data.json": "application/json",
      "logo.svg": "image/svg+xml",
      "logo.png": "image/png",
      "font.woff2": "font/woff2",
      "page.html": "text/html",
      "favicon.ico": "image/vnd.microsoft.icon",
      noext: "application/octet-stream",
      "data.bin": "application/octet-stream",
    };
    for (const [name, type] of Object.entries(expected)) {
      const res = await t.fetch(`/files/${name}`);
      await res.arrayBuffer();
      expect([name, res.headers.get("content-type")]).toEqual([name, type]);
    }
  });

  it("serves names with escaped spaces and UTF-8", async () => {
    const t = await files();
    expect(await (await t.fetch("/files/a%20b.txt")).text()).toBe("space");
    expect(await (await t.fetch("/files/caf%C3%A9.txt")).text()).toBe("accent");
  });

  it("gives a versioned URL (?v=) a 10-year Cache-Control and Expires", async () => {
    const t = await files();
    const before = Date.now();
    const res = await t.fetch("/files/app.css?v=abc");
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe(`max-age=${86400 * 365 * 10}`);
    const expires = Date.parse(res.headers.get("expires")!);
    expect(expires).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 86400 * 365 * 10 * 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 86400 * 365 * 10 * 1000);
  });

  it("answers HEAD with the headers of GET and no body", async () => {
    const t = await files();
    const res = await t.fetch("/files/data.bin", { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe("1000");
    expect(res.headers.get("etag")).toBe(`"${sha512(DATA)}"`);
    expect(res.headers.get("accept-ranges")).toBe("bytes");
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });

  it("serves an empty file as a 200 with Content-Length 0", async () => {
    const t = await files();
    const res = await t.fetch("/files/empty.bin");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe("0");
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });

  it("answers 404 for a missing file, or a file used as a directory", async () => {
    const t = await files();
    await quietly(async () => {
      expect((await t.fetch("/files/nope.txt")).status).toBe(404);
      expect((await t.fetch("/files/hello.txt/more")).status).toBe(404);
    });
  });

  it("answers 403 for a directory without defaultFilename", async () => {
    const t = await files();
    await quietly(async () => {
      expect((await t.fetch("/files/sub")).status).toBe(403);
      expect((await t.fetch("/files/sub/")).status).toBe(403);
      expect((await t.fetch("/files/")).status).toBe(403);
    });
  });

  it("serves defaultFilename for a directory, and 301s a directory without its trailing slash", async () => {
    const t = await serve([["/docs/(.*)", StaticFileHandler, { path: join(root, "docs"), defaultFilename: "index.html" }]]);
    const index = await t.fetch("/docs/");
    expect(await index.text()).toBe("<h1>docs</h1>");
    expect(index.headers.get("content-type")).toBe("text/html");
    const moved = await t.fetch("/docs/guide?x=1", { redirect: "manual" });
    expect(moved.status).toBe(301);
    expect(moved.headers.get("location")).toBe("/docs/guide/");
    expect(await (await t.fetch("/docs/guide/")).text()).toBe("<h1>guide</h1>");
    await quietly(async () => expect((await t.fetch("/docs/nope/")).status).toBe(404));
  });

  it("refuses to redirect a path starting with // (an open redirect)", async () => {
    const t = await serve([["/(.*)", StaticFileHandler, { path: root, defaultFilename: "index.html" }]]);
    const { response } = await quietly(() => rawRequest(t.port, "GET //docs HTTP/1.1\r\nHost: x\r\n\r\n", { expectClose: false }));
    expect(response.status).toBe(403);
    expect(response.header("Location")).toBeUndefined();
  });

  it("serves a symbolic link that stays inside the root", async () => {
    const t = await files();
    expect(await (await t.fetch("/files/link-in.txt")).text()).toBe(HELLO);
  });

  it("never sends more than Content-Length, and cuts the connection when the content runs short", async () => {
    class Overlong extends StaticFileHandler {
      static override getContent() {
        return [Buffer.from(HELLO), Buffer.from("and more that was never counted")];
      }
    }
    class Short extends StaticFileHandler {
      static override getContent() {
        return [Buffer.from("abc")];
      }
    }
    const t = await serve([
      ["/over/(.*)", Overlong, { path: root }],
      ["/short/(.*)", Short, { path: root }],
    ]);
    const conn = await RawConnection.open(t.port);
    await conn.write("GET /over/hello.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /over/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    expect((await conn.readResponse()).text()).toBe(HELLO);
    expect((await conn.readResponse()).text()).toBe(HELLO);
    const short = await RawConnection.open(t.port);
    const errors = await applicationErrors(() =>
      expectLog("tornado.general", "Cannot send error response after headers written", async () => {
        await short.write("GET /short/data.bin HTTP/1.1\r\nHost: x\r\n\r\n");
        await expect(short.readResponse()).rejects.toThrow(/connection closed before a complete response/);
      }),
    );
    expect(errors).toEqual([expect.stringMatching(/ended after 3 of 1000 bytes/)]);
  });

  it("says so in a 500 when the route's initArgs have no path", async () => {
    const t = await serve([["/bad/(.*)", StaticFileHandler]]);
    let status = 0;
    const errors = await applicationErrors(async () => void (status = (await quietly(() => t.fetch("/bad/x"))).status));
    expect(status).toBe(500);
    expect(errors).toEqual([expect.stringContaining("StaticFileHandler needs initArgs { path: <directory to serve> }")]);
  });
});

describe("StaticFileHandler: If-None-Match and If-Modified-Since", () => {
  const etag = `"${sha512(HELLO)}"`;
  const get = async (headers: Record<string, string>) => {
    const t = server ?? (await serve([["/files/(.*)", StaticFileHandler, { path: root }]]));
    return t.fetch("/files/hello.txt", { headers });
  };

  it("answers 304 without a body or Content-Type when If-None-Match matches", async () => {
    for (const ifNoneMatch of [etag, `W/${etag}`, "*", `"other", ${etag}`]) {
      const res = await get({ "If-None-Match": ifNoneMatch });
      expect([ifNoneMatch, res.status]).toEqual([ifNoneMatch, 304]);
      expect(res.headers.get("etag")).toBe(etag);
      expect(res.headers.get("content-type")).toBeNull();
      expect(res.headers.get("content-length")).toBeNull();
      expect(await res.text()).toBe("");
    }
  });

  it("sends the file when If-None-Match does not match, whatever If-Modified-Since says", async () => {
    const res = await get({ "If-None-Match": '"other"', "If-Modified-Since": new Date(Date.now() + 86400_000).toUTCString() });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(HELLO);
  });

  it("answers 304 when If-Modified-Since is at or after the modification time", async () => {
    expect((await get({ "If-Modified-Since": MTIME.toUTCString() })).status).toBe(304);
    expect((await get({ "If-Modified-Since": new Date(MTIME.getTime() + 60_000).toUTCString() })).status).toBe(304);
  });

  it("sends the file when If-Modified-Since is earlier, or not a date", async () => {
    expect((await get({ "If-Modified-Since": new Date(MTIME.getTime() - 1000).toUTCString() })).status).toBe(200);
    expect((await get({ "If-Modified-Since": "yesterday-ish" })).status).toBe(200);
  });
});

describe("StaticFileHandler: Range", () => {
  const ranged = async (range: string, path = "/files/data.bin", method = "GET") => {
    const t = server ?? (await serve([["/files/(.*)", StaticFileHandler, { path: root }]]));
    const res = await t.fetch(path, { method, headers: { Range: range } });
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, range: res.headers.get("content-range"), length: res.headers.get("content-length"), type: res.headers.get("content-type"), etag: res.headers.get("etag"), body };
  };
  const partial = (start: number, end: number) => ({
    status: 206,
    range: `bytes ${start}-${end}/1000`,
    length: String(end - start + 1),
    body: DATA.subarray(start, end + 1),
  });
  const whole = { status: 200, range: null, length: "1000", body: DATA };
  const unsatisfiable = (size: number) => ({ status: 416, range: `bytes */${size}`, length: "0", type: "text/plain", body: Buffer.alloc(0) });

  it("serves one range as a 206 with Content-Range: first byte, last byte, a middle slice", async () => {
    expect(await ranged("bytes=0-0")).toMatchObject(partial(0, 0));
    expect(await ranged("bytes=999-999")).toMatchObject(partial(999, 999));
    expect(await ranged("bytes=10-19")).toMatchObject(partial(10, 19));
    expect(await ranged("bytes=998-")).toMatchObject(partial(998, 999));
  });

  it("serves suffix ranges (bytes=-N) from the end", async () => {
    expect(await ranged("bytes=-1")).toMatchObject(partial(999, 999));
    expect(await ranged("bytes=-10")).toMatchObject(partial(990, 999));
  });

  it("caps an end past the file, and answers 200 for a range covering the whole file", async () => {
    expect(await ranged("bytes=10-5000")).toMatchObject(partial(10, 999));
    expect(await ranged("bytes=0-")).toMatchObject(whole);
    expect(await ranged("bytes=0-999")).toMatchObject(whole);
    expect(await ranged("bytes=0-1000")).toMatchObject(whole);
    expect(await ranged("bytes=-1000")).toMatchObject(whole);
    expect(await ranged("bytes=-5000")).toMatchObject(whole);
  });

  it("answers 416 with Content-Range: bytes */size for a start at or past the end, a last byte before the first, or bytes=-0", async () => {
    await quietly(async () => {
      expect(await ranged("bytes=1000-")).toMatchObject(unsatisfiable(1000));
      expect(await ranged("bytes=1000-1000")).toMatchObject(unsatisfiable(1000));
      expect(await ranged("bytes=5000-6000")).toMatchObject(unsatisfiable(1000));
      expect(await ranged("bytes=5-2")).toMatchObject(unsatisfiable(1000));
      expect(await ranged("bytes=-0")).toMatchObject(unsatisfiable(1000));
    });
  });

  it("ignores several ranges and malformed headers: the whole file, 200", async () => {
    for (const header of ["bytes=1-2,6-10", "bytes=abc", "bytes=1-x", "items=0-1", "bytes 0-1", "Bytes=0-1", "bytes=+1-2", "bytes=--1"]) {
      expect([header, await ranged(header)]).toMatchObject([header, whole]);
    }
  });

  it("answers 416 for any range on an empty file, and 200 for bytes=0-0 on a one-byte file", async () => {
    await quietly(async () => {
      expect(await ranged("bytes=0-0", "/files/empty.bin")).toMatchObject(unsatisfiable(0));
      expect(await ranged("bytes=0-", "/files/empty.bin")).toMatchObject(unsatisfiable(0));
      expect(await ranged("bytes=-1", "/files/empty.bin")).toMatchObject(unsatisfiable(0));
    });
    expect(await ranged("bytes=0-0", "/files/one.bin")).toMatchObject({ status: 200, range: null, length: "1" });
  });

  it("keeps the whole file's Etag on a 206, answers HEAD ranges, and prefers a matching If-None-Match (304)", async () => {
    const etag = `"${sha512(DATA)}"`;
    expect((await ranged("bytes=0-9")).etag).toBe(etag);
    expect(await ranged("bytes=0-9", "/files/data.bin", "HEAD")).toMatchObject({ status: 206, range: "bytes 0-9/1000", length: "10", body: Buffer.alloc(0) });
    const t = server!;
    const res = await t.fetch("/files/data.bin", { headers: { Range: "bytes=0-9", "If-None-Match": etag } });
    expect(res.status).toBe(304);
  });
});

describe("StaticFileHandler: paths outside the root", () => {
  // Each is sent as it is on a raw socket (fetch would normalize the dots).
  const cases: [target: string, status: number][] = [
    ["/static/../secret/passwd.txt", 403],
    ["/static/../../../../../../etc/passwd", 403],
    ["/static/sub/../../secret/passwd.txt", 403],
    ["/static/%2e%2e/secret/passwd.txt", 403],
    ["/static/%2E%2E/secret/passwd.txt", 403],
    ["/static/.%2e/secret/passwd.txt", 403],
    ["/static/%2E%2E%2Fsecret%2Fpasswd.txt", 403],
    ["/static/..%2fsecret%2fpasswd.txt", 403],
    ["/static/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd", 403],
    ["/static/../www-private/key.txt", 403],
    ["/static/%252e%252e/secret/passwd.txt", 404],
    ["/static/%252e%252e%252fsecret%252fpasswd.txt", 404],
    ["/static/..%5csecret%5cpasswd.txt", 403],
    ["/static/..\\secret\\passwd.txt", 403],
    ["/static/%5c..%5csecret%5cpasswd.txt", 403],
    ["/static//etc/passwd", 403],
    ["/static/%2fetc%2fpasswd", 403],
    ["/static///evil.example/x", 403],
    ["/static/hello.txt%00.png", 404],
    ["/static/%00", 404],
    ["/static/..%00/secret/passwd.txt", 404],
    ["/static/link-out.txt", 403],
    ["/static/linkdir/passwd.txt", 403],
    ["/static/%c0%ae%c0%ae/secret/passwd.txt", 400],
    ["/static/%u002e%u002e/secret/passwd.txt", 404],
    ["/static/%EF%BC%8E%EF%BC%8E/secret/passwd.txt", 404],
    ["/static/..;/secret/passwd.txt", 404],
    ["/static/....//....//secret/passwd.txt", 404],
    ["http://127.0.0.1/static/../secret/passwd.txt", 403],
  ];

  it.each(cases)("GET %s → %i, never the file", async (target, status) => {
    const t = await serve([], { staticPath: root });
    const { response } = await quietly(() => rawRequest(t.port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, { expectClose: false }));
    expect(response.text()).not.toContain(SECRET);
    expect(response.status).toBe(status);
  });

  it("refuses an absolute path to a file outside the root", async () => {
    const t = await serve([], { staticPath: root });
    const absolute = join(tmp, "secret", "passwd.txt");
    for (const target of [`/static/${absolute}`, `/static/${encodeURIComponent(absolute)}`]) {
      const { response } = await quietly(() => rawRequest(t.port, `GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`, { expectClose: false }));
      expect([target, response.status]).toEqual([target, 403]);
      expect(response.text()).not.toContain(SECRET);
    }
  });

  it("logs why a path was refused, on tornado.general", async () => {
    const t = await serve([], { staticPath: root });
    await quietly(() =>
      expectLog("tornado.general", /403 GET \/static\/link-out\.txt .*symbolic link/, () =>
        rawRequest(t.port, "GET /static/link-out.txt HTTP/1.1\r\nHost: x\r\n\r\n", { expectClose: false }),
      ),
    );
  });
});

describe("settings staticPath, staticUrlPrefix, staticHandlerClass, staticHandlerArgs", () => {
  class CatchAll extends RequestHandler {
    get() {
      this.write("catch-all");
    }
  }

  it("serves staticPath at /static/, /favicon.ico and /robots.txt, ahead of the app's routes", async () => {
    const t = await serve([["/(.*)", CatchAll]], { staticPath: root });
    expect(await (await t.fetch("/static/hello.txt")).text()).toBe(HELLO);
    expect(await (await t.fetch("/static/sub/file.txt")).text()).toBe("in sub");
    expect(await (await t.fetch("/favicon.ico")).text()).toBe("ICO");
    expect(await (await t.fetch("/robots.txt")).text()).toBe("User-agent: *\n");
    expect(await (await t.fetch("/other")).text()).toBe("catch-all");
    expect(new Application([["/(.*)", CatchAll]], { staticPath: root }).router.rules.map((r) => r.pattern)).toEqual(["/(robots\\.txt)", "/(favicon\\.ico)", "/static/(.*)", "/(.*)"]);
  });

  it("adds no routes without staticPath", async () => {
    expect(new Application([["/(.*)", CatchAll]]).router.rules.map((r) => r.pattern)).toEqual(["/(.*)"]);
  });

  it("takes its prefix from staticUrlPrefix, literally", async () => {
    const t = await serve([["/(.*)", CatchAll]], { staticPath: root, staticUrlPrefix: "/assets.v1/" });
    expect(await (await t.fetch("/assets.v1/hello.txt")).text()).toBe(HELLO);
    expect(await (await t.fetch("/assetsXv1/hello.txt")).text()).toBe("catch-all");
    expect(await (await t.fetch("/static/hello.txt")).text()).toBe("catch-all");
  });

  it("uses staticHandlerClass with staticHandlerArgs for all three routes", async () => {
    class Tagged extends StaticFileHandler {
      override setExtraHeaders(path: string) {
        this.setHeader("X-Static", path);
      }
    }
    const t = await serve([], { staticPath: root, staticHandlerClass: Tagged, staticHandlerArgs: { defaultFilename: "index.html" } });
    expect((await t.fetch("/static/hello.txt")).headers.get("x-static")).toBe("hello.txt");
    expect((await t.fetch("/robots.txt")).headers.get("x-static")).toBe("robots.txt");
    expect(await (await t.fetch("/static/docs/")).text()).toBe("<h1>docs</h1>");
  });
});

describe("RequestHandler.staticUrl(path, { includeHost, includeVersion })", () => {
  class Urls extends RequestHandler {
    get() {
      const path = this.getArgument("path");
      this.write({
        plain: this.staticUrl(path),
        noVersion: this.staticUrl(path, { includeVersion: false }),
        withHost: this.staticUrl(path, { includeHost: true }),
      });
    }
  }
  type StaticUrls = { plain: string; noVersion: string; withHost: string };
  const urls = async (t: TestServer, path: string): Promise<StaticUrls> => (await t.fetch(`/urls?path=${encodeURIComponent(path)}`)).json() as Promise<StaticUrls>;

  it("gives /static/<path>?v=<SHA-512 of the content>, with the host when asked, without ?v= when asked", async () => {
    const t = await serve([["/urls", Urls]], { staticPath: root });
    const version = sha512("body { color: red }\n");
    expect(await urls(t, "app.css")).toEqual({
      plain: `/static/app.css?v=${version}`,
      noVersion: "/static/app.css",
      withHost: `http://127.0.0.1:${t.port}/static/app.css?v=${version}`,
    });
    // The version is the file's Etag.
    expect((await t.fetch(`/static/app.css?v=${version}`)).headers.get("etag")).toBe(`"${version}"`);
  });

  it("follows staticUrlPrefix and a staticHandlerClass's makeStaticUrl", async () => {
    class Cdn extends StaticFileHandler {
      static override makeStaticUrl(_settings: ApplicationSettings, path: string) {
        return `https://cdn.example/${path}`;
      }
    }
    let t = await serve([["/urls", Urls]], { staticPath: root, staticUrlPrefix: "/assets/" });
    expect((await urls(t, "app.css")).plain).toMatch(/^\/assets\/app\.css\?v=[0-9a-f]{128}$/);
    await t.close();
    t = await serve([["/urls", Urls]], { staticPath: root, staticHandlerClass: Cdn });
    expect((await urls(t, "app.css")).plain).toBe("https://cdn.example/app.css");
  });

  it("leaves the version out, and logs, when the file cannot be read", async () => {
    const t = await serve([["/urls", Urls]], { staticPath: root });
    const body = await expectLog("tornado.general", /Could not open static file/, () => urls(t, "missing.css"));
    expect(body.plain).toBe("/static/missing.css");
  });

  it("is a 500 without staticPath", async () => {
    const t = await serve([["/urls", Urls]]);
    let status = 0;
    const errors = await applicationErrors(async () => void (status = (await quietly(() => t.fetch("/urls?path=app.css"))).status));
    expect(status).toBe(500);
    expect(errors).toEqual([expect.stringMatching(/^Uncaught exception GET \/urls.*You must define the 'staticPath' setting/)]);
  });

  it("caches versions per file until reset(); recomputes them on every request with debug", async () => {
    const dir = await mkdtemp(join(tmp, "cache-"));
    await writeFile(join(dir, "x.css"), "one");
    let t = await serve([["/urls", Urls]], { staticPath: dir });
    expect((await urls(t, "x.css")).plain).toBe(`/static/x.css?v=${sha512("one")}`);
    await writeFile(join(dir, "x.css"), "two");
    expect((await urls(t, "x.css")).plain).toBe(`/static/x.css?v=${sha512("one")}`);
    expect((await t.fetch("/static/x.css")).headers.get("etag")).toBe(`"${sha512("one")}"`);
    StaticFileHandler.reset();
    expect((await urls(t, "x.css")).plain).toBe(`/static/x.css?v=${sha512("two")}`);
    await t.close();

    t = await serve([["/urls", Urls]], { staticPath: dir, debug: true });
    expect((await urls(t, "x.css")).plain).toBe(`/static/x.css?v=${sha512("two")}`);
    await writeFile(join(dir, "x.css"), "three");
    expect((await urls(t, "x.css")).plain).toBe(`/static/x.css?v=${sha512("three")}`);
    expect((await t.fetch("/static/x.css")).headers.get("etag")).toBe(`"${sha512("three")}"`);
  });

  it("versions a file above hashMaxSize by its size and mtime, without reading it", async () => {
    class SmallHashes extends StaticFileHandler {
      static override hashMaxSize = 10;
    }
    const dir = await mkdtemp(join(tmp, "big-"));
    await writeFile(join(dir, "big.txt"), "more than ten bytes");
    const { mtimeNs } = await stat(join(dir, "big.txt"), { bigint: true });
    const expected = `${(19).toString(16)}-${mtimeNs.toString(16)}`;
    const t = await serve([["/urls", Urls]], { staticPath: dir, staticHandlerClass: SmallHashes });
    expect((await urls(t, "big.txt")).plain).toBe(`/static/big.txt?v=${expected}`);
    expect((await t.fetch("/static/big.txt")).headers.get("etag")).toBe(`"${expected}"`);
  });
});

describe("StaticFileHandler: streaming a large file", () => {
  const SIZE = 400 * 1024 * 1024;
  let bigDir: string;

  beforeAll(async () => {
    bigDir = await mkdtemp(join(tmp, "large-"));
    // Sparse: reads as zeros and takes no disk.
    const file = await open(join(bigDir, "big.bin"), "w");
    await file.truncate(SIZE);
    await file.close();
  });

  // Downloads on a raw socket, counting the bytes and dropping them; optionally pauses reading
  // for `pauseMs` after `pauseAfter` body bytes, or stops after `abortAfter` bytes.
  function download(port: number, options: { pauseAfter?: number; pauseMs?: number; abortAfter?: number } = {}) {
    return new Promise<{ head: string; bodyBytes: number }>((resolve, reject) => {
      const socket = connect(port, "127.0.0.1");
      let head = "";
      let headDone = false;
      let bodyBytes = 0;
      let paused = false;
      socket.on("connect", () => socket.write("GET /static/big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
      socket.on("data", (chunk: Buffer) => {
        if (!headDone) {
          head += chunk.toString("latin1");
          const end = head.indexOf("\r\n\r\n");
          if (end < 0) return;
          headDone = true;
          bodyBytes = Buffer.byteLength(head, "latin1") - (end + 4);
          head = head.slice(0, end);
        } else {
          bodyBytes += chunk.length;
        }
        if (options.abortAfter !== undefined && bodyBytes >= options.abortAfter) {
          socket.destroy();
          resolve({ head, bodyBytes });
        }
        if (options.pauseAfter !== undefined && !paused && bodyBytes >= options.pauseAfter) {
          paused = true;
          socket.pause();
          setTimeout(() => socket.resume(), options.pauseMs ?? 1000);
        }
      });
      socket.on("error", reject);
      socket.on("close", () => resolve({ head, bodyBytes }));
    });
  }

  it("sends 400 MB through a real socket while the server's RSS stays flat, a slow reader included", { timeout: 120_000 }, async () => {
    // The server runs alone in a child process: the RSS measured is the server's own.
    const child = fork(fileURLToPath(new URL("./fixtures/static-server.ts", import.meta.url)), [bigDir], {
      execArgv: ["--import", import.meta.resolve("tsx")],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const replies: { type: string; port?: number; baseline?: number; peak?: number }[] = [];
    const waiters: (() => void)[] = [];
    child.on("message", (message: (typeof replies)[number]) => {
      replies.push(message);
      waiters.splice(0).forEach((wake) => wake());
    });
    const reply = async (type: string) => {
      for (;;) {
        const found = replies.find((r) => r.type === type);
        if (found) return (replies.splice(replies.indexOf(found), 1), found);
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    };
    try {
      const { port } = await reply("listening");
      const head = await fetch(`http://127.0.0.1:${port}/static/big.bin`, { method: "HEAD" });
      expect(head.headers.get("content-length")).toBe(String(SIZE));
      await download(port!, { abortAfter: 1 << 20 }); // warm up the code paths
      child.send("mark");
      await reply("marked");
      const result = await download(port!, { pauseAfter: 64 << 20, pauseMs: 1500 });
      expect(result.head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(result.head).toContain(`Content-Length: ${SIZE}`);
      expect(result.bodyBytes).toBe(SIZE);
      child.send("report");
      const { baseline, peak } = await reply("report");
      // Flat: a file held in memory would add 400 MB. Node 24 and 26 keep more in their socket and
      // allocator buffers than 20 did (64-72 MiB measured there), so the bound leaves room for that.
      expect(peak! - baseline!).toBeLessThan(100 * 1024 * 1024);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("stops reading, without an error, when the client goes away mid-file", { timeout: 60_000 }, async () => {
    const t = await serve([], { staticPath: bigDir });
    const errors: LogRecord[] = [];
    const stop = interceptLogs((r) => {
      if (r.logger === "tornado.application") errors.push(r);
      return r.logger === "tornado.access";
    });
    try {
      const result = await download(t.port, { abortAfter: 8 << 20 });
      expect(result.bodyBytes).toBeLessThan(SIZE);
      for (let i = 0; i < 200 && t.server.requestsInFlight > 0; i++) await new Promise((r) => setTimeout(r, 25));
      expect(t.server.requestsInFlight).toBe(0);
    } finally {
      stop();
    }
    expect(errors).toEqual([]);
  });
});

describe("RedirectHandler (initArgs { url, permanent })", () => {
  const location = async (t: TestServer, path: string, init: RequestInit = {}) => {
    const res = await t.fetch(path, { redirect: "manual", ...init });
    return [res.status, res.headers.get("location")];
  };

  it("answers 301 by default, 302 when not permanent", async () => {
    const t = await serve([
      ["/old", RedirectHandler, { url: "/new" }],
      ["/tmp", RedirectHandler, { url: "/elsewhere", permanent: false }],
    ]);
    expect(await location(t, "/old")).toEqual([301, "/new"]);
    expect(await location(t, "/tmp")).toEqual([302, "/elsewhere"]);
    expect(await location(t, "/old", { method: "HEAD" })).toEqual([301, "/new"]);
  });

  it("fills {0}, {1}, {} and {name} from the route's groups, {{ and }} as braces", async () => {
    const t = await serve([
      ["/swap/(.*?)/(.*?)/(.*)", RedirectHandler, { url: "/{1}/{0}/{2}" }],
      ["/auto/(\\w+)/(\\w+)", RedirectHandler, { url: "/x/{}/{}" }],
      ["/docs/(?<page>.*)", RedirectHandler, { url: "https://docs.example/{page}?from={{old}}" }],
      ["/opt/(\\d+)?", RedirectHandler, { url: "/n/{0}" }],
    ]);
    expect(await location(t, "/swap/a/b/c/d")).toEqual([301, "/b/a/c/d"]);
    expect(await location(t, "/auto/p/q")).toEqual([301, "/x/p/q"]);
    expect(await location(t, "/docs/intro/setup")).toEqual([301, "https://docs.example/intro/setup?from={old}"]);
    expect(await location(t, "/opt/")).toEqual([301, "/n/"]);
  });

  it("percent-encodes the group values, so the target sees the path the client sent", async () => {
    const t = await serve([["/old/(.*)", RedirectHandler, { url: "/new/{0}" }]]);
    expect(await location(t, "/old/a%20b/caf%C3%A9")).toEqual([301, "/new/a%20b/caf%C3%A9"]);
    expect(await location(t, "/old/what%3Fx%23y")).toEqual([301, "/new/what%3Fx%23y"]);
    const { response } = await rawRequest(t.port, "GET /old/%0d%0aSet-Cookie:x=1 HTTP/1.1\r\nHost: x\r\n\r\n", { expectClose: false });
    expect(response.header("Location")).toBe("/new/%0D%0ASet-Cookie%3Ax%3D1");
    expect(response.header("Set-Cookie")).toBeUndefined();
  });

  it("keeps the query arguments, after the target's own and before its fragment", async () => {
    const t = await serve([
      ["/q", RedirectHandler, { url: "/new" }],
      ["/q2", RedirectHandler, { url: "/new?keep=1#top" }],
    ]);
    expect(await location(t, "/q?b=x%20y&a=1&a=2")).toEqual([301, "/new?b=x+y&a=1&a=2"]);
    expect(await location(t, "/q2?z=%C3%A9")).toEqual([301, "/new?keep=1&z=%C3%A9#top"]);
    expect(await location(t, "/q?")).toEqual([301, "/new"]);
  });

  it("answers 405 to other methods, and 500 for a field naming no group", async () => {
    const t = await serve([
      ["/old", RedirectHandler, { url: "/new" }],
      ["/bad/(.*)", RedirectHandler, { url: "/new/{3}" }],
    ]);
    await quietly(async () => expect((await t.fetch("/old", { method: "POST" })).status).toBe(405));
    let status = 0;
    const errors = await applicationErrors(async () => void (status = (await quietly(() => t.fetch("/bad/x", { redirect: "manual" }))).status));
    expect(status).toBe(500);
    expect(errors).toEqual([expect.stringContaining("uses {3}, which is not a group of its route")]);
  });
});

describe("ErrorHandler from tornado/handlers", () => {
  it("is tornado/web's ErrorHandler, answering with its statusCode", async () => {
    expect(ErrorHandler).toBe(WebErrorHandler);
    const t = await serve([["/gone", ErrorHandler, { statusCode: 410 }]]);
    await quietly(async () => expect((await t.fetch("/gone")).status).toBe(410));
  });
});

describe("FallbackHandler (initArgs { fallback })", () => {
  class Native extends RequestHandler {
    get() {
      this.write("native");
    }
  }
  // A tiny Express-style app: middleware run in order, each calling next().
  function miniApp(...stack: ((req: IncomingMessage, res: ServerResponse, next: () => void) => void)[]): NodeRequestListener {
    return (req, res) => {
      let i = 0;
      const next = () => {
        const layer = stack[i++];
        if (layer) layer(req, res, next);
        else res.writeHead(404).end("mini: not found");
      };
      next();
    };
  }
  const echo: NodeRequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      res.writeHead(201, { "Content-Type": "text/plain", "X-Method": req.method ?? "" });
      res.end(`${req.url} ${Buffer.concat(chunks).toString()}`);
    });
  };

  it("hands node's req and res to the listener, body unread, and logs its status", async () => {
    const t = await serve([["/legacy/.*", FallbackHandler, { fallback: echo }]]);
    const res = await expectLog("tornado.access", /^201 POST \/legacy\/echo\?x=1 \(127\.0\.0\.1\)/, () =>
      t.fetch("/legacy/echo?x=1", { method: "POST", body: "payload" }),
    );
    expect(res.status).toBe(201);
    expect(res.headers.get("x-method")).toBe("POST");
    expect(await res.text()).toBe("/legacy/echo?x=1 payload");
  });

  it("serves an Express-style app next to native handlers, on one keep-alive connection", async () => {
    const app = miniApp(
      (_req, res, next) => {
        res.setHeader("X-Powered-By", "mini");
        next();
      },
      (req, res, next) => (req.url === "/legacy/hello" ? res.end("hello from mini") : next()),
    );
    const t = await serve([
      ["/native", Native],
      ["/legacy/.*", FallbackHandler, { fallback: app }],
    ]);
    const conn = await RawConnection.open(t.port);
    await conn.write("GET /legacy/hello HTTP/1.1\r\nHost: x\r\n\r\nGET /native HTTP/1.1\r\nHost: x\r\n\r\n");
    const first = await conn.readResponse();
    expect([first.status, first.header("X-Powered-By"), first.text()]).toEqual([200, "mini", "hello from mini"]);
    const second = await conn.readResponse();
    expect([second.status, second.text()]).toEqual([200, "native"]);
    await quietly(async () => expect(await (await t.fetch("/legacy/nope")).text()).toBe("mini: not found"));
  });

  it("passes every method, HEAD and non-standard ones included", async () => {
    const t = await serve([["/legacy/.*", FallbackHandler, { fallback: echo }]]);
    const head = await t.fetch("/legacy/x", { method: "HEAD" });
    expect([head.status, head.headers.get("x-method")]).toEqual([201, "HEAD"]);
    const { response } = await rawRequest(t.port, "PROPFIND /legacy/y HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", { expectClose: false });
    expect([response.status, response.header("X-Method")]).toEqual([201, "PROPFIND"]);
  });

  it("answers 500 when the listener throws or rejects before responding, and logs the error", async () => {
    const t = await serve([
      ["/sync", FallbackHandler, { fallback: () => { throw new Error("sync boom"); } }],
      ["/async", FallbackHandler, { fallback: async () => { throw new Error("async boom"); } }],
    ]);
    await quietly(async () => {
      const sync = await expectLog("tornado.application", /Uncaught exception in fallback GET \/sync/, () => t.fetch("/sync"));
      expect([sync.status, await sync.text()]).toEqual([500, "<html><title>500: Internal Server Error</title><body>500: Internal Server Error</body></html>"]);
      const rejected = await expectLog("tornado.application", /Uncaught exception in fallback GET \/async/, () => t.fetch("/async"));
      expect(rejected.status).toBe(500);
    });
  });

  it("keeps a slow listener's request in flight: a graceful close waits for its response", async () => {
    const slow: NodeRequestListener = (_req, res) => void setTimeout(() => res.end("late"), 300);
    const t = await serve([["/slow", FallbackHandler, { fallback: slow }]]);
    const pending = t.fetch("/slow");
    for (let i = 0; i < 100 && t.server.requestsInFlight === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(t.server.requestsInFlight).toBe(1);
    const closed = t.close();
    const res = await pending;
    expect(await res.text()).toBe("late");
    await closed;
    server = undefined;
  });

  it("answers a request with Connection: Upgrade through the listener, ignoring the upgrade; 400 if it has a body", async () => {
    const t = await serve([["/legacy/.*", FallbackHandler, { fallback: echo }]]);
    const upgrade = "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n";
    const plain = await rawRequest(t.port, `GET /legacy/h2c HTTP/1.1\r\nHost: x\r\n${upgrade}\r\n`);
    expect([plain.response.status, plain.response.text(), plain.closed]).toEqual([201, "/legacy/h2c ", true]);
    const withBody = await quietly(() => rawRequest(t.port, `POST /legacy/h2c HTTP/1.1\r\nHost: x\r\n${upgrade}Content-Length: 3\r\n\r\nabc`));
    expect([withBody.response.status, withBody.closed]).toEqual([400, true]);
  });

  it("says what is missing when initArgs have no fallback", async () => {
    const t = await serve([["/x", FallbackHandler, {}]]);
    let status = 0;
    const errors = await applicationErrors(async () => void (status = (await quietly(() => t.fetch("/x"))).status));
    expect(status).toBe(500);
    expect(errors).toEqual([expect.stringContaining("FallbackHandler needs initArgs { fallback: (req, res) => … }")]);
  });
});

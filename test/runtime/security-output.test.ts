/**
 * The response side's defences (issue 12): what a handler writes can never split the head, a
 * header node cannot send never leaves a request unanswered, and redirects stay on the site.
 */

import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Application, HTTPError, RedirectHandler, RequestHandler, StaticFileHandler, createTestServer, expectLog } from "../../runtime/index.js";
import { captureLogs } from "../helpers/logs.js";
import { RawConnection, rawRequest } from "../helpers/raw.js";
import { servePerTest } from "../helpers/serve.js";

const serve = servePerTest();
const UPGRADE = "Connection: Upgrade\r\nUpgrade: websocket\r\n";

// Runs `fn`, which must make the server log one uncaught error and answer 500: returns its
// result and the errors logged (kept off the output, as the 500 access lines).
async function failing<T>(fn: () => Promise<T>): Promise<{ result: T; errors: unknown[]; messages: string[] }> {
  const app = captureLogs("tornado.application");
  try {
    const result = await expectLog("tornado.access", /^500 /, fn);
    return { result, errors: app.records.map((r) => r.error), messages: app.records.map((r) => r.message) };
  } finally {
    app.stop();
  }
}

class RedirectTo extends RequestHandler {
  get() {
    this.redirect(this.getArgument("to"));
  }
}

describe("RequestHandler.redirect(url) and header values beyond Latin-1", () => {
  // U+010D U+010A: written as Latin-1 they would keep only their low bytes, CR and LF.
  const payload = "/home%C4%8D%C4%8ASet-Cookie:%20sid=evil";

  it("cannot split the head of an answer to an upgrade request", async () => {
    const t = await serve([["/go", RedirectTo]]);
    const { response } = await rawRequest(t.port, `GET /go?to=${payload} HTTP/1.1\r\nHost: x\r\n${UPGRADE}\r\n`);
    expect(response.status).toBe(302);
    expect(response.header("Set-Cookie")).toBeUndefined();
    expect(response.header("Location")).toBe("/home%C4%8D%C4%8ASet-Cookie: sid=evil");
  });

  it("cannot split the head of a plain request either", async () => {
    const t = await serve([["/go", RedirectTo]]);
    const { response } = await rawRequest(t.port, `GET /go?to=${payload} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(response.status).toBe(302);
    expect(response.header("Set-Cookie")).toBeUndefined();
    expect(response.header("Location")).toBe("/home%C4%8D%C4%8ASet-Cookie: sid=evil");
  });

  it("percent-encodes non-ASCII in Location as UTF-8", async () => {
    class Cafe extends RequestHandler {
      get() {
        this.redirect("/café?q=ü");
      }
    }
    const t = await serve([["/cafe", Cafe]]);
    const { response } = await rawRequest(t.port, "GET /cafe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    expect(response.status).toBe(302);
    // As it came off the wire (the raw client reads the head as Latin-1): ASCII only.
    expect(response.header("Location")).toBe("/caf%C3%A9?q=%C3%BC");
  });

  it("refuses a value above U+00FF in setHeader and addHeader with a 500, logged, on both paths", async () => {
    const seen: string[] = [];
    class Wide extends RequestHandler {
      get() {
        const add = this.getArgument("add", null) !== null;
        try {
          if (add) this.addHeader("X-T", "中");
          else this.setHeader("X-T", "\u010d\u010aSet-Cookie: sid=evil");
        } catch (e) {
          seen.push((e as Error).name);
          throw e;
        }
        this.write("never");
      }
    }
    const t = await serve([["/wide", Wide]]);
    const plain = await failing(() => rawRequest(t.port, "GET /wide HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    expect(plain.result.response.status).toBe(500);
    expect(plain.result.response.header("Set-Cookie")).toBeUndefined();
    expect(plain.messages).toEqual(["Uncaught exception GET /wide (127.0.0.1)"]);
    expect(String(plain.errors[0])).toMatch(/above U\+00FF/);
    const upgraded = await failing(() => rawRequest(t.port, `GET /wide?add=1 HTTP/1.1\r\nHost: x\r\n${UPGRADE}\r\n`));
    expect(upgraded.result.response.status).toBe(500);
    expect(upgraded.messages).toEqual(["Uncaught exception GET /wide?add=1 (127.0.0.1)"]);
    expect(seen).toEqual(["TypeError", "TypeError"]);
  });

  it("answers, logs and leaves the in-flight count when a header is refused (nothing hangs)", async () => {
    class Wide extends RequestHandler {
      get() {
        this.setHeader("X-T", "中");
        this.finish("body");
      }
    }
    const t = await serve([["/wide", Wide]]);
    const conn = await RawConnection.open(t.port);
    await conn.write("GET /wide HTTP/1.1\r\nHost: x\r\n\r\n");
    const { result: response, messages } = await failing(() => conn.readResponse(5000));
    expect(response.status).toBe(500);
    expect(messages).toEqual(["Uncaught exception GET /wide (127.0.0.1)"]);
    expect(t.server.requestsInFlight).toBe(0);
  });

  it("with compressResponse and a 64 KiB body: a 500, and the process goes on", async () => {
    class BigWide extends RequestHandler {
      get() {
        this.setHeader("X-T", "中");
        this.finish("x".repeat(64 * 1024));
      }
    }
    class Big extends RequestHandler {
      get() {
        this.finish("y".repeat(64 * 1024));
      }
    }
    const t = await serve([["/wide", BigWide], ["/big", Big]], { compressResponse: true });
    const accept = "Accept-Encoding: gzip\r\n";
    const refused = await failing(() => rawRequest(t.port, `GET /wide HTTP/1.1\r\nHost: x\r\n${accept}Connection: close\r\n\r\n`));
    expect(refused.result.response.status).toBe(500);
    expect(refused.messages).toEqual(["Uncaught exception GET /wide (127.0.0.1)"]);
    const ok = await rawRequest(t.port, `GET /big HTTP/1.1\r\nHost: x\r\n${accept}Connection: close\r\n\r\n`);
    expect(ok.response.status).toBe(200);
    expect(gunzipSync(ok.response.body).toString()).toBe("y".repeat(64 * 1024));
    expect(t.server.requestsInFlight).toBe(0);
  });
});

describe("RequestHandler.setCookie on an upgrade request", () => {
  it("refuses an attribute or value above U+00FF (500, no injected header)", async () => {
    class Cookie extends RequestHandler {
      get() {
        if (this.getArgument("in", "path") === "path") this.setCookie("a", "b", { path: "/\u010d\u010aSet-Cookie: sid=evil" });
        else this.setCookie("a", "\u010d\u010aSet-Cookie:");
      }
    }
    const t = await serve([["/c", Cookie]]);
    for (const where of ["path", "value"]) {
      const { result, errors } = await failing(() => rawRequest(t.port, `GET /c?in=${where} HTTP/1.1\r\nHost: x\r\n${UPGRADE}\r\n`));
      expect(result.response.status).toBe(500);
      expect(result.response.header("Set-Cookie")).toBeUndefined();
      expect((errors[0] as { code?: string }).code).toBe("ERR_INVALID_COOKIE");
    }
  });
});

describe("RequestHandler.setStatus(status)", () => {
  it("refuses a 1xx: it is never sent as the answer on a keep-alive connection", async () => {
    const thrown: string[] = [];
    class Interim extends RequestHandler {
      get() {
        try {
          this.setStatus(Number(this.getArgument("s")));
        } catch (e) {
          thrown.push((e as Error).message);
          throw e;
        }
        this.finish();
      }
    }
    const t = await serve([["/s", Interim]]);
    const conn = await RawConnection.open(t.port);
    for (const status of [100, 103, 199]) {
      await conn.write(`GET /s?s=${status} HTTP/1.1\r\nHost: x\r\n\r\n`);
      const { result: response } = await failing(() => conn.readResponse());
      expect(response.status).toBe(500);
    }
    // The connection still works: the next answer is the next request's.
    await conn.write("GET /s?s=204 HTTP/1.1\r\nHost: x\r\n\r\n");
    expect((await conn.readResponse()).status).toBe(204);
    expect(thrown).toHaveLength(3);
    expect(thrown[0]).toMatch(/1xx is an interim response/);
  });

  it("answers 500 to an HTTPError or sendError with a 1xx, or another status that cannot answer", async () => {
    class Thrower extends RequestHandler {
      get() {
        const status = Number(this.getArgument("s"));
        if (this.getArgument("send", null) !== null) return this.sendError(status);
        throw new HTTPError(status);
      }
    }
    const t = await serve([["/e", Thrower]]);
    const conn = await RawConnection.open(t.port);
    for (const query of ["s=101", "s=100&send=1", "s=42"]) {
      await conn.write(`GET /e?${query} HTTP/1.1\r\nHost: x\r\n\r\n`);
      const { result: response, messages } = await failing(() => conn.readResponse(5000));
      expect(response.status).toBe(500);
      expect(messages.some((m) => /Exception in exception handler|Uncaught exception GET \/e/.test(m))).toBe(true);
    }
    expect(t.server.requestsInFlight).toBe(0);
  });
});

describe("a response head the connection refuses", () => {
  // `put()` skips the checks (it is for values the runtime builds): a value that slips through
  // it must still end in an answer, on every path that writes a head.
  class Slipped extends RequestHandler {
    get() {
      this._responseHeaders().put("X-T", "中");
      this.finish("z".repeat(Number(this.getArgument("n", "10"))));
    }
  }

  it.each([{}, { compressResponse: true }])("is answered with a 500 and logged, plain, compressed off the event loop, or upgraded (%o)", async (settings) => {
    const t = await serve([["/slipped", Slipped]], settings);
    const requests = [
      "GET /slipped HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      "GET /slipped?n=70000 HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n",
      `GET /slipped HTTP/1.1\r\nHost: x\r\n${UPGRADE}\r\n`,
    ];
    for (const request of requests) {
      const app = captureLogs("tornado.application");
      try {
        const { response } = await expectLog("tornado.access", /GET \/slipped/, () => rawRequest(t.port, request));
        expect(response.status).toBe(500);
        expect(response.header("X-T")).toBeUndefined();
        expect(app.records.map((r) => r.message)).toEqual(["Cannot send the 200 response to GET " + request.split(" ")[1] + " (127.0.0.1); sending a 500 instead"]);
      } finally {
        app.stop();
      }
    }
    expect(t.server.requestsInFlight).toBe(0);
  });
});

describe("RedirectHandler with { url: \"/{0}\" }", () => {
  it("refuses a target the groups turn into another site's address (403, no Location)", async () => {
    const t = await serve([["/r/(.*)", RedirectHandler, { url: "/{0}" }]]);
    for (const path of ["/r//evil.com", "/r/%2Fevil.com", "/r/%2F%2Fevil.com/x"]) {
      const { response } = await expectLog("tornado.access", /403/, () =>
        expectLog("tornado.general", /would leave the site/, () => rawRequest(t.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)),
      );
      expect(response.status).toBe(403);
      expect(response.header("Location")).toBeUndefined();
    }
    const { response } = await rawRequest(t.port, "GET /r/home/page?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    expect(response.status).toBe(301);
    expect(response.header("Location")).toBe("/home/page?x=1");
  });

  it("keeps a template that is scheme-relative itself", async () => {
    const t = await serve([["/cdn/(.*)", RedirectHandler, { url: "//cdn.example/{0}" }]]);
    const { response } = await rawRequest(t.port, "GET /cdn/app.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    expect(response.header("Location")).toBe("//cdn.example/app.js");
  });
});

describe("StaticFileHandler and dotfiles", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "tornado-dotfiles-"));
    await writeFile(join(root, ".env"), "SECRET=1");
    await mkdir(join(root, ".git"));
    await writeFile(join(root, ".git", "config"), "[core]");
    await writeFile(join(root, "app.css"), "body{}");
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  const get = async (port: number, path: string) =>
    (await rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)).response;

  it("answers 404 for a name starting with a dot, by default", async () => {
    const t = await serve([], { staticPath: root });
    for (const path of ["/static/.env", "/static/%2Eenv", "/static/.git/config", "/static/./.env"]) {
      const response = await expectLog("tornado.access", /404/, () => expectLog("tornado.general", /is a dotfile/, () => get(t.port, path)));
      expect(response.status).toBe(404);
      expect(response.text()).not.toContain("SECRET");
    }
    expect((await get(t.port, "/static/app.css")).status).toBe(200);
  });

  it("serves them with the serveDotfiles init argument", async () => {
    const t = await serve([["/files/(.*)", StaticFileHandler, { path: root, serveDotfiles: true }]]);
    const response = await get(t.port, "/files/.env");
    expect(response.status).toBe(200);
    expect(response.text()).toBe("SECRET=1");
  });
});

describe("HTTPServerRequest with an absolute-form target (RFC 9112 §3.2.2)", () => {
  class Describe extends RequestHandler {
    get() {
      const r = this.request;
      this.write({ fullUrl: r.fullUrl(), host: r.host, path: r.path, query: r.query, arg: this.getArgument("x", null) });
    }
  }

  it("takes path, query and host from the target", async () => {
    const t = await serve([["/p/(.*)", Describe]]);
    const { response } = await rawRequest(t.port, "GET http://evil.com/p/abc?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    expect(JSON.parse(response.text())).toEqual({ fullUrl: "http://evil.com/p/abc?x=1", host: "evil.com", path: "/p/abc", query: "x=1", arg: "1" });
    const upper = await rawRequest(t.port, "GET HTTP://Example.com:8080/p/?x=2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    expect(JSON.parse(upper.response.text())).toMatchObject({ fullUrl: "http://Example.com:8080/p/?x=2", host: "Example.com:8080", path: "/p/" });
  });

  it("keeps the Host header when the target's authority is not a plain host", async () => {
    const t = await serve([["/p/(.*)", Describe]]);
    const { response } = await rawRequest(t.port, "GET http://user@evil.com/p/abc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    expect(JSON.parse(response.text())).toMatchObject({ fullUrl: "http://x/p/abc", host: "x", path: "/p/abc" });
  });

  it("leaves an origin-form target as it was", async () => {
    const t = await serve([["/p/(.*)", Describe]]);
    const { response } = await rawRequest(t.port, "GET /p/abc?x=1 HTTP/1.1\r\nHost: x:81\r\nConnection: close\r\n\r\n");
    expect(JSON.parse(response.text())).toMatchObject({ fullUrl: "http://x:81/p/abc?x=1", host: "x:81", path: "/p/abc" });
  });
});

describe('Application setting cors: { origins: "*", credentials: true }', () => {
  class Items extends RequestHandler {
    get() {
      this.write({ items: [] });
    }
  }

  it("is refused when the Application is made", () => {
    expect(() => new Application([["/items", Items]], { cors: { origins: "*", credentials: true } })).toThrow(TypeError);
  });

  it("set afterwards, sends no CORS header to any origin (null included) and logs why", async () => {
    const app = new Application([["/items", Items]], { cors: { origins: "*" } });
    app.settings.cors = { origins: "*", credentials: true };
    const t = await createTestServer(app);
    try {
      const request = (origin: string, extra = "") =>
        rawRequest(t.port, `${extra ? "OPTIONS" : "GET"} /items HTTP/1.1\r\nHost: x\r\nOrigin: ${origin}\r\n${extra}Connection: close\r\n\r\n`);
      const first = await expectLog("tornado.application", /cannot combine origins: "\*" with credentials: true.*; no CORS headers are sent/, () => request("null"));
      for (const { response } of [first, await request("https://evil.example"), await request("null", "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: X-Anything\r\n")]) {
        expect(response.header("Access-Control-Allow-Origin")).toBeUndefined();
        expect(response.header("Access-Control-Allow-Credentials")).toBeUndefined();
        expect(response.header("Access-Control-Allow-Headers")).toBeUndefined();
      }
    } finally {
      await t.close();
    }
  });
});

describe("an error nobody catches, in a serving process", () => {
  const fixture = new URL("./fixtures/stray-errors.ts", import.meta.url).pathname;

  // Starts the fixture in its own process; resolves once it serves (or has exited).
  function start(mode: string): { child: ChildProcess; port: Promise<number>; stderr: () => string; exit: Promise<number | null> } {
    const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), fixture, mode], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    const port = new Promise<number>((resolve, reject) => {
      child.stdout!.on("data", (d) => {
        stdout += d;
        if (stdout.includes("\n")) resolve(JSON.parse(stdout.split("\n")[0]!).port);
      });
      child.once("exit", () => reject(new Error(`exited before serving:\n${stderr}`)));
    });
    const exit = once(child, "exit").then(([code]) => code as number | null);
    return { child, port, stderr: () => stderr, exit };
  }

  const get = async (port: number, path: string) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    return `${res.status} ${await res.text()}`;
  };

  it("is logged on tornado.application with its route, and the server goes on answering", async () => {
    const app = start("serve");
    try {
      const port = await app.port;
      const logged = async (text: string) => {
        const deadline = Date.now() + 10_000;
        while (!app.stderr().includes(text) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      };
      // The first stray error turns request tracking on (it costs speed): it has no route yet.
      expect(await get(port, "/timer/1")).toBe("200 timer set");
      await logged("thrown in a timer for 1");
      expect(app.stderr()).toContain("Uncaught exception in a callback (request not known: requests are tracked from now on)");
      expect(await get(port, "/timer/7")).toBe("200 timer set");
      expect(await get(port, "/reject")).toBe("200 rejected");
      await logged("thrown in a timer for 7");
      await logged("never awaited");
      const stderr = app.stderr();
      expect(stderr).toMatch(/\[E \d{6} [\d:]{8} tornado\.application\] Uncaught exception in a callback \(route \/timer\/\(\\d\+\), GET \/timer\/7 \(127\.0\.0\.1\)\): the server goes on serving\nError: thrown in a timer for 7/);
      expect(stderr).toMatch(/\[E \d{6} [\d:]{8} tornado\.application\] Unhandled promise rejection \(route \/reject, GET \/reject \(127\.0\.0\.1\)\): the server goes on serving\nError: rejected, never awaited/);
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => get(port, i % 2 ? "/ok" : `/timer/${i}`)));
      expect(answers.filter((a) => a === "200 ok")).toHaveLength(10);
      expect(await get(port, "/ok")).toBe("200 ok");
      expect(app.child.exitCode).toBeNull();
    } finally {
      app.child.kill();
      await app.exit;
    }
  });

  it("names the request of the first one too with installProcessGuards({ trackRequests: true })", async () => {
    const app = start("tracked");
    try {
      const port = await app.port;
      expect(await get(port, "/timer/3")).toBe("200 timer set");
      const deadline = Date.now() + 10_000;
      while (!app.stderr().includes("thrown in a timer for 3") && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(app.stderr()).toContain("Uncaught exception in a callback (route /timer/(\\d+), GET /timer/3 (127.0.0.1)): the server goes on serving");
      expect(await get(port, "/ok")).toBe("200 ok");
    } finally {
      app.child.kill();
      await app.exit;
    }
  });

  it("still ends a process that serves nothing, or that gave node's default back", async () => {
    const script = start("script");
    expect(await script.exit).toBe(1);
    expect(script.stderr()).toContain("thrown in a timer, no server");
    expect(script.stderr()).not.toContain("tornado.application");
    await script.port.catch(() => {});
    const unguarded = start("unguarded");
    try {
      const port = await unguarded.port;
      expect(await get(port, "/timer/1")).toBe("200 timer set");
      expect(await unguarded.exit).toBe(1);
      expect(unguarded.stderr()).toContain("thrown in a timer for 1");
    } finally {
      unguarded.child.kill();
    }
  });
});

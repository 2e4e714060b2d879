import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import {
  Application,
  HTTPError,
  RequestHandler,
  addslash,
  authenticated,
  createSignedValue,
  expectLog,
  removeslash,
} from "../../runtime/index.js";
import { RawConnection } from "../helpers/raw.js";
import { servePerTest } from "../helpers/serve.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const serve = servePerTest();

const manual: RequestInit = { redirect: "manual" };

/** Logged in when the request carries the signed `user` cookie. */
class BaseHandler extends RequestHandler {
  override getCurrentUser() {
    return this.getSignedCookie("user");
  }
}

class Private extends BaseHandler {
  @authenticated
  async get() {
    await new Promise((r) => setTimeout(r, 1));
    this.write(`hello ${this.currentUser}`);
  }

  @authenticated
  post() {
    this.write("posted");
  }
}

const SECRET = "auth-secret";
const loggedIn = (user = "ann") => ({ Cookie: `user="${createSignedValue(SECRET, "user", user)}"` });

describe("RequestHandler.getCurrentUser() and currentUser", () => {
  it("awaits an async getCurrentUser() once per request, before prepare(), and keeps its result", async () => {
    let calls = 0;
    const seen: unknown[] = [];
    class Lookup extends RequestHandler {
      override async getCurrentUser() {
        calls++;
        await new Promise((r) => setTimeout(r, 5));
        return this.getCookie("user") ? { name: this.getCookie("user") } : null;
      }
      override prepare() {
        seen.push(this.currentUser);
      }
      get() {
        this.write({ user: this.currentUser, again: this.currentUser });
      }
    }
    const t = await serve([["/", Lookup]]);
    expect(await (await t.fetch("/", { headers: { Cookie: "user=ann" } })).json()).toEqual({ user: { name: "ann" }, again: { name: "ann" } });
    expect(await (await t.fetch("/")).json()).toEqual({ user: null, again: null });
    expect(calls).toBe(2);
    expect(seen).toEqual([{ name: "ann" }, null]);
  });

  it("is null by default, and whatever the handler assigns", async () => {
    class Assigned extends RequestHandler {
      override async prepare() {
        this.write({ before: this.currentUser });
        this.currentUser = await Promise.resolve({ id: 7 });
      }
      get() {
        this.write({ after: this.currentUser });
      }
    }
    const t = await serve([["/", Assigned]]);
    expect(await (await t.fetch("/")).text()).toBe('{"before":null}{"after":{"id":7}}');
  });

  it("calls a sync getCurrentUser() lazily where the runtime has not yet (in initialize)", async () => {
    class Early extends BaseHandler {
      private early: unknown;
      override initialize() {
        this.early = this.currentUser;
      }
      get() {
        this.write({ early: this.early, now: this.currentUser });
      }
    }
    const t = await serve([["/", Early]], { cookieSecret: SECRET });
    expect(await (await t.fetch("/", { headers: loggedIn() })).json()).toEqual({ early: "ann", now: "ann" });
  });

  it("says an async getCurrentUser() is not resolved yet when read in initialize()", async () => {
    class TooEarly extends RequestHandler {
      override async getCurrentUser() {
        return "ann";
      }
      override initialize() {
        void this.currentUser;
      }
      get() {}
    }
    const t = await serve([["/", TooEarly]], { serveTraceback: true });
    const res = await expectLog("tornado.access", /^500 GET/, () => expectLog("tornado.application", /Uncaught exception/, () => t.fetch("/")));
    expect(await res.text()).toMatch(/^Error: currentUser is not known yet/);
  });

  it("answers as for any error when getCurrentUser() throws", async () => {
    class Failing extends RequestHandler {
      override async getCurrentUser(): Promise<string> {
        throw new HTTPError(401, "bad token");
      }
      get() {
        this.write("never");
      }
    }
    const t = await serve([["/", Failing]]);
    const res = await expectLog("tornado.general", /401 GET \/ \(127\.0\.0\.1\): bad token/, () => expectLog("tornado.access", /401/, () => t.fetch("/")));
    expect(res.status).toBe(401);
  });
});

describe("authenticated (decorator and wrapper)", () => {
  it("serves a logged-in user", async () => {
    const t = await serve([["/private", Private]], { cookieSecret: SECRET, loginUrl: "/login" });
    const res = await t.fetch("/private", { headers: loggedIn() });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("hello ann");
    expect(await (await t.fetch("/private", { method: "POST", headers: loggedIn() })).text()).toBe("posted");
  });

  it("redirects GET and HEAD to loginUrl with next=<uri>, and answers 403 to other methods", async () => {
    const t = await serve([["/private", Private]], { cookieSecret: SECRET, loginUrl: "/login" });
    for (const method of ["GET", "HEAD"]) {
      const res = await t.fetch("/private?tab=a b&x=~*", { ...manual, method });
      expect(res.status).toBe(302);
      expect(res.headers.get("location")).toBe("/login?next=%2Fprivate%3Ftab%3Da%2520b%26x%3D~%2A");
    }
    const res = await expectLog("tornado.access", /403 POST \/private/, () => t.fetch("/private", { method: "POST", headers: { Cookie: "user=forged" } }));
    expect(res.status).toBe(403);
  });

  it("sends the full URL as next when loginUrl is absolute, and nothing when loginUrl has a query", async () => {
    const t = await serve([["/private", Private]], { cookieSecret: SECRET, loginUrl: "https://id.example.com/login" });
    const res = await t.fetch("/private?a=1", manual);
    expect(res.headers.get("location")).toBe(`https://id.example.com/login?next=${encodeURIComponent(`http://127.0.0.1:${t.port}/private?a=1`)}`);
    await t.close();
    const t2 = await serve([["/private", Private]], { cookieSecret: SECRET, loginUrl: "/login?app=web" });
    expect((await t2.fetch("/private", manual)).headers.get("location")).toBe("/login?app=web");
  });

  it("uses getLoginUrl(), and answers 500 naming the setting when loginUrl is missing", async () => {
    class Custom extends Private {
      override getLoginUrl() {
        return "/signin";
      }
    }
    const t = await serve([["/private", Private], ["/custom", Custom]], { cookieSecret: SECRET, serveTraceback: true });
    expect((await t.fetch("/custom", manual)).headers.get("location")).toBe("/signin?next=%2Fcustom");
    const res = await expectLog("tornado.access", /^500 GET/, () => expectLog("tornado.application", /Uncaught exception/, () => t.fetch("/private", manual)));
    expect(res.status).toBe(500);
    expect(await res.text()).toMatch(/^Error: You must define the 'loginUrl' setting in your application to use @authenticated/);
  });

  it("works as a wrapper on a prototype, as a class field, and around prepare()", async () => {
    class Proto extends BaseHandler {}
    (Proto.prototype as unknown as { get: unknown }).get = authenticated(function (this: Proto) {
      this.write("proto");
    });
    class Field extends BaseHandler {
      get = authenticated(async function (this: Field) {
        this.write("field");
      });
    }
    let methodCalled = false;
    class Prepared extends BaseHandler {
      @authenticated
      override prepare() {}
      get() {
        methodCalled = true;
      }
    }
    const t = await serve([["/proto", Proto], ["/field", Field], ["/prepared", Prepared]], { cookieSecret: SECRET, loginUrl: "/login" });
    for (const path of ["/proto", "/field", "/prepared"]) {
      const res = await t.fetch(path, manual);
      expect(res.status, path).toBe(302);
      expect(res.headers.get("location")).toBe(`/login?next=${encodeURIComponent(path)}`);
    }
    expect(methodCalled).toBe(false);
    expect(await (await t.fetch("/proto", { headers: loggedIn() })).text()).toBe("proto");
    expect(await (await t.fetch("/field", { headers: loggedIn() })).text()).toBe("field");
    expect((await t.fetch("/prepared", { headers: loggedIn() })).status).toBe(200);
    expect(methodCalled).toBe(true);
  });

  it("keeps the method's name and passes path arguments through", async () => {
    class Args extends BaseHandler {
      @authenticated
      get(a: string, b: string) {
        this.write({ a, b, name: Args.prototype.get.name });
      }
    }
    const t = await serve([["/args/(\\w+)/(\\w+)", Args]], { cookieSecret: SECRET, loginUrl: "/login" });
    expect(await (await t.fetch("/args/x/y", { headers: loggedIn() })).json()).toEqual({ a: "x", b: "y", name: "get" });
  });

  it("refuses what is not a method, with a sentence saying why", () => {
    // The legacy (experimentalDecorators) call shape: target, key, descriptor.
    expect(() => (authenticated as unknown as (...a: unknown[]) => unknown)({}, "get", {})).toThrow(/standard decorators/);
    expect(() => authenticated(() => {}, { kind: "getter" } as never)).toThrow(/decorates methods, not a getter/);
  });
});

describe("addslash and removeslash", () => {
  class Slashy extends RequestHandler {
    @addslash
    get() {
      this.write(`add ${this.request.path}`);
    }
    @addslash
    post() {
      this.write("posted");
    }
  }
  class Unslashy extends RequestHandler {
    @removeslash
    get() {
      this.write(`remove ${this.request.path}`);
    }
    @removeslash
    post() {
      this.write("posted");
    }
  }

  it("addslash: 301 to the path with a slash, query kept; 404 for other methods; serves the slashed path", async () => {
    const t = await serve([["/docs/?", Slashy]]);
    for (const method of ["GET", "HEAD"]) {
      const res = await t.fetch("/docs?q=1&r=a%20b", { ...manual, method });
      expect(res.status).toBe(301);
      expect(res.headers.get("location")).toBe("/docs/?q=1&r=a%20b");
    }
    expect(await (await t.fetch("/docs/")).text()).toBe("add /docs/");
    expect((await expectLog("tornado.access", /404 POST/, () => t.fetch("/docs", { method: "POST" }))).status).toBe(404);
    expect(await (await t.fetch("/docs/", { method: "POST" })).text()).toBe("posted");
  });

  it("removeslash: 301 to the path without its slashes, query kept; 404 for other methods; '/' served", async () => {
    const t = await serve([["/items/*", Unslashy], ["/", Unslashy]]);
    const res = await t.fetch("/items///?q=1", manual);
    expect(res.status).toBe(301);
    expect(res.headers.get("location")).toBe("/items?q=1");
    expect(await (await t.fetch("/items")).text()).toBe("remove /items");
    expect(await (await t.fetch("/")).text()).toBe("remove /");
    expect((await expectLog("tornado.access", /404 POST/, () => t.fetch("/items/", { method: "POST" }))).status).toBe(404);
    expect(await (await t.fetch("/items", { method: "POST" })).text()).toBe("posted");
  });

  it("never redirects to another host (a path starting with '//')", async () => {
    const t = await serve([["/.*", Unslashy]]);
    for (const [target, location] of [
      ["//evil.example/", "/evil.example"],
      ["/\\evil.example/", "/evil.example"],
    ]) {
      const conn = await RawConnection.open(t.port);
      await conn.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      const res = await conn.readResponse();
      expect(res.status, target).toBe(301);
      expect(res.header("Location"), target).toBe(location);
    }
    await t.close();
    const t2 = await serve([["/.*", Slashy]]);
    const conn = await RawConnection.open(t2.port);
    await conn.write("GET //evil.example HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    expect((await conn.readResponse()).header("Location")).toBe("/evil.example/");
  });

  it("works as wrappers", async () => {
    class Wrapped extends RequestHandler {}
    (Wrapped.prototype as unknown as { get: unknown }).get = removeslash(function (this: Wrapped) {
      this.write("wrapped");
    });
    const t = await serve([["/w/*", Wrapped]]);
    expect((await t.fetch("/w/", manual)).headers.get("location")).toBe("/w");
    expect(await (await t.fetch("/w")).text()).toBe("wrapped");
  });
});

describe("@authenticated in a generated app", () => {
  it("type-checks with the app template's tsconfig (standard decorators) and compiles to standard decorator code", () => {
    const dir = mkdtempSync(`${root}.decorator-check-`);
    try {
      const template = ts.parseConfigFileTextToJson("tsconfig.json", readFileSync(`${root}templates/_base/tsconfig.json`, "utf8")).config;
      expect(template.compilerOptions.experimentalDecorators).toBeUndefined();
      writeFileSync(`${dir}/tsconfig.json`, JSON.stringify({ ...template, include: ["app.ts"] }));
      writeFileSync(
        `${dir}/app.ts`,
        `import { RequestHandler, authenticated, addslash, removeslash } from "tornado";
export class Account extends RequestHandler {
  override async getCurrentUser() { return this.getSignedCookie("user"); }
  @authenticated
  async get(id: string) { this.write({ id, user: this.currentUser }); }
  @addslash @authenticated
  post() { this.write("ok"); }
  @removeslash
  async delete() { this.setStatus(204); }
}
export class Plain extends RequestHandler {
  put = authenticated(async function (this: Plain) { this.write("x"); });
}
`,
      );
      const parsed = ts.getParsedCommandLineOfConfigFile(`${dir}/tsconfig.json`, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!;
      // The app imports the package as "tornado"; point that at this runtime.
      const options = { ...parsed.options, paths: { tornado: [`${root}runtime/index.ts`] }, typeRoots: [`${root}node_modules/@types`] };
      const program = ts.createProgram(parsed.fileNames, options);
      const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
      expect(diagnostics).toEqual([]);
      const js = ts.transpileModule(readFileSync(`${dir}/app.ts`, "utf8"), { compilerOptions: { ...options, noEmit: false } }).outputText;
      expect(js).toContain("__esDecorate");
      expect(js).not.toContain("__decorate(");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000); // a whole type check: 10-30 s on a loaded 2-core machine
});

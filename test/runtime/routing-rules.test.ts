// Routing as Tornado's tornado.routing has it, through real sockets: host routes
// (addHandlers(hostPattern, routes), defaultHost), Rule/RuleRouter with PathMatches, HostMatches,
// AnyMatches and a custom matcher, nested routers, an Application or a node listener as a
// target, and reverseUrl across them.
import { request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import {
  AnyMatches,
  Application,
  HostMatches,
  PathMatches,
  RequestHandler,
  ReversibleRuleRouter,
  Rule,
  RuleRouter,
  createTestServer,
  expectLog,
  url,
  type HTTPServerOptions,
  type Matcher,
  type RequestDelegate,
  type TestServer,
} from "../../runtime/index.js";

// Answers with its name, the host it saw and its path arguments.
function named(name: string) {
  return class extends RequestHandler {
    get(...args: (string | null)[]) {
      this.write({ name, host: this.request.host, args });
    }
  };
}

let servers: TestServer[] = [];
afterEach(async () => {
  for (const s of servers) await s.close();
  servers = [];
});

async function serve(delegate: RequestDelegate, options: HTTPServerOptions = {}): Promise<TestServer> {
  const t = await createTestServer(delegate, options);
  servers.push(t);
  return t;
}

interface Answer {
  status: number;
  body: string;
  json(): { name: string; host: string; args: (string | null)[] };
}

// A request with the Host (and other headers) given, which fetch() does not allow.
function get(t: TestServer, path: string, headers: Record<string, string> = {}, method = "GET", body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port: t.port, path, method, headers: { Host: "localhost", ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode!, body: text, json: () => JSON.parse(text) });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

const notFound = (run: () => Promise<Answer>) => expectLog("tornado.access", /404 GET/, run);

describe("Application.addHandlers(hostPattern, routes)", () => {
  function hostApp(settings = {}) {
    const app = new Application([["/", named("main")], ["/shared", named("main-shared")]], settings);
    app.addHandlers("api\\.example\\.com", [["/", named("api")], url("/users/(\\d+)", named("api-user"), { name: "user" })]);
    app.addHandlers(/^(www\.)?example\.com$/, [["/", named("www")]]);
    return app;
  }

  it("serves a host's routes to requests for that host (port and case ignored), others from the app's own", async () => {
    const t = await serve(hostApp());
    expect((await get(t, "/", { Host: "api.example.com" })).json().name).toBe("api");
    expect((await get(t, "/", { Host: "API.Example.com:8080" })).json()).toMatchObject({ name: "api", host: "API.Example.com:8080" });
    expect((await get(t, "/users/7", { Host: "api.example.com" })).json()).toMatchObject({ name: "api-user", args: ["7"] });
    expect((await get(t, "/", { Host: "www.example.com" })).json().name).toBe("www");
    expect((await get(t, "/", { Host: "example.com" })).json().name).toBe("www");
    expect((await get(t, "/", { Host: "other.test" })).json().name).toBe("main");
  });

  it("anchors a host pattern at both ends", async () => {
    const t = await serve(hostApp());
    expect((await get(t, "/", { Host: "api.example.com.evil.test" })).json().name).toBe("main");
    expect((await get(t, "/", { Host: "xapi.example.com" })).json().name).toBe("main");
  });

  it("falls through to the app's own routes when the host's routes have no match for the path", async () => {
    const t = await serve(hostApp());
    expect((await get(t, "/shared", { Host: "api.example.com" })).json().name).toBe("main-shared");
    const missing = await notFound(() => get(t, "/users/x", { Host: "api.example.com" }));
    expect(missing.status).toBe(404);
    expect(missing.body).toBe("<html><title>404: Not Found</title><body>404: Not Found</body></html>");
  });

  it("answers 404 when no host matches and the app has no route for the path", async () => {
    const app = new Application([]);
    app.addHandlers("only\\.test", [["/", named("only")]]);
    const t = await serve(app);
    expect((await get(t, "/", { Host: "only.test" })).status).toBe(200);
    expect((await notFound(() => get(t, "/", { Host: "elsewhere.test" }))).status).toBe(404);
  });

  it("serves the defaultHost's routes to unknown hosts, but not through a proxy that sent X-Real-Ip", async () => {
    const app = new Application([["/", named("main")]], { defaultHost: "example.com" });
    app.addHandlers("example\\.com", [["/home", named("default-home")]]);
    app.addHandlers("other\\.test", [["/other", named("other")]]);
    const t = await serve(app);
    expect((await get(t, "/home", { Host: "10.1.2.3:8888" })).json().name).toBe("default-home");
    expect((await get(t, "/", { Host: "example.com" })).json().name).toBe("main");
    expect((await notFound(() => get(t, "/home", { Host: "10.1.2.3", "X-Real-Ip": "203.0.113.9" }))).status).toBe(404);
    // Only the pattern defaultHost matches stands in for unknown hosts.
    expect((await notFound(() => get(t, "/other", { Host: "10.1.2.3" }))).status).toBe(404);
  });

  it("routes by Host alone: X-Forwarded-Host is never read, with xheaders too (as Tornado)", async () => {
    for (const options of [{}, { xheaders: true }]) {
      const t = await serve(hostApp(), options);
      expect((await get(t, "/", { Host: "internal:8000", "X-Forwarded-Host": "api.example.com" })).json().name).toBe("main");
      expect((await get(t, "/", { Host: "api.example.com", "X-Forwarded-Host": "other.test" })).json()).toMatchObject({ name: "api", host: "api.example.com" });
    }
  });

  it("finds named routes of host routes with reverseUrl", () => {
    const app = hostApp();
    expect(app.reverseUrl("user", 42)).toBe("/users/42");
    expect(() => app.reverseUrl("nope")).toThrow(/nope not found/);
  });
});

describe("Rule targets in an Application's routes", () => {
  it("nests a list of routes under a host rule, and an Application under a path rule (it sees the full path)", async () => {
    const sub = new Application([url("/sub/items/(\\d+)", named("sub-item"), { name: "subItem" })], { defaultHandlerClass: named("sub-404") });
    const app = new Application([
      new Rule(new HostMatches("admin\\..*"), [["/", named("admin")], url("/users/(\\d+)", named("admin-user"), { name: "adminUser" })]),
      [new PathMatches("/sub/.*"), sub],
      ["/", named("home")],
    ]);
    const t = await serve(app);
    expect((await get(t, "/", { Host: "admin.example.com" })).json().name).toBe("admin");
    expect((await get(t, "/users/3", { Host: "admin.example.com" })).json()).toMatchObject({ name: "admin-user", args: ["3"] });
    expect((await get(t, "/", { Host: "www.example.com" })).json().name).toBe("home");
    expect((await get(t, "/sub/items/9")).json()).toMatchObject({ name: "sub-item", args: ["9"] });
    // The nested app answers its own misses.
    expect((await get(t, "/sub/nothing")).json().name).toBe("sub-404");
    expect(app.reverseUrl("adminUser", 5)).toBe("/users/5");
    expect(app.reverseUrl("subItem", 3)).toBe("/sub/items/3");
    // `tornado routes` and OpenAPI list the app's own path routes.
    expect(app.router.rules.map((r) => r.pattern)).toEqual(["/"]);
  });

  it("hands a request to a node (req, res) listener, body unread, full path", async () => {
    const legacy = (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => res.end(`legacy ${req.method} ${req.url} ${Buffer.concat(chunks).toString()}`));
    };
    const t = await serve(new Application([["/legacy/.*", legacy], ["/", named("home")]]));
    const answer = await get(t, "/legacy/a?b=1", {}, "POST", "the body");
    expect(answer.status).toBe(200);
    expect(answer.body).toBe("legacy POST /legacy/a?b=1 the body");
    expect((await get(t, "/")).json().name).toBe("home");
  });

  it("answers 500 when a node listener throws, and keeps serving", async () => {
    const t = await serve(new Application([["/boom", (_req: IncomingMessage, _res: ServerResponse) => { throw new Error("listener failed"); }], ["/", named("home")]]));
    const answer = await expectLog("tornado.application", "Uncaught exception in node listener", () => get(t, "/boom"));
    expect(answer.status).toBe(500);
    expect((await get(t, "/")).json().name).toBe("home");
  });
});

describe("RuleRouter served by HTTPServer", () => {
  const beta: Matcher = { match: (request) => (request.headers.get("X-Beta") === "1" ? {} : null) };

  function router() {
    const app1 = new Application([url("/", named("app1"), { name: "app1Home" })]);
    const app2 = new Application([url("/items/(\\w+)", named("app2-item"), { name: "item" })]);
    const betaApp = new Application([["/.*", named("beta")]]);
    return new ReversibleRuleRouter([
      [beta, betaApp],
      [new HostMatches("app1\\.test"), app1],
      new Rule("/legacy/.*", (req: IncomingMessage, res: ServerResponse) => res.end(`legacy ${req.url}`), undefined, "legacy"),
      [new PathMatches("/nested/.*"), [[new PathMatches("/nested/a"), (req: IncomingMessage, res: ServerResponse) => res.end("nested a")]]],
      ["/items/.*", app2],
    ]);
  }

  it("dispatches by host, path, a custom matcher and nested rules; 404 when no rule serves", async () => {
    const t = await serve(router());
    expect((await get(t, "/", { Host: "app1.test" })).json().name).toBe("app1");
    expect((await get(t, "/anything", { "X-Beta": "1" })).json().name).toBe("beta");
    expect((await get(t, "/legacy/x")).body).toBe("legacy /legacy/x");
    expect((await get(t, "/nested/a")).body).toBe("nested a");
    expect((await get(t, "/items/pen")).json()).toMatchObject({ name: "app2-item", args: ["pen"] });
    // A nested router that finds nothing passes on; nothing else serves it: 404.
    const missing = await get(t, "/nested/b");
    expect(missing.status).toBe(404);
    expect(missing.body).toBe("<html><title>404: Not Found</title><body>404: Not Found</body></html>");
    expect((await get(t, "/", { Host: "elsewhere.test" })).status).toBe(404);
  });

  it("falls back to an AnyMatches rule", async () => {
    const t = await serve(new RuleRouter([[new HostMatches("a\\.test"), new Application([["/", named("a")]])], [new AnyMatches(), new Application([["/.*", named("any")]])]]));
    expect((await get(t, "/", { Host: "a.test" })).json().name).toBe("a");
    expect((await get(t, "/x", { Host: "b.test" })).json().name).toBe("any");
  });

  it("reverses names across nested applications (null when unknown)", () => {
    const r = router();
    // A pattern with regex syntax outside groups cannot be reversed (as Tornado: an error).
    expect(() => r.reverseUrl("legacy")).toThrow(/Cannot reverse url regex \/legacy\/\.\*/);
    expect(r.reverseUrl("app1Home")).toBe("/");
    expect(r.reverseUrl("item", "a b")).toBe("/items/a%20b");
    expect(r.reverseUrl("nope")).toBeNull();
    expect(new ReversibleRuleRouter([new Rule("/about", new Application([]), undefined, "about")]).reverseUrl("about")).toBe("/about");
  });

  it("refuses a RequestHandler class as a target outside an Application, and a target that is not one", () => {
    expect(() => new RuleRouter([["/", named("x")]])).toThrow(/only in an Application's routes/);
    expect(() => new RuleRouter([["/", "nothing" as never]])).toThrow(/target must be/);
  });

  it("tells its targets, nested ones too, when the server listens and closes", async () => {
    const calls: string[] = [];
    const target = {
      handleRequest: (request: { connection?: { closed: boolean } }) => void request,
      serverListening: () => calls.push("listening"),
      serverClosing: () => calls.push("closing"),
    };
    const t = await createTestServer(new RuleRouter([[new AnyMatches(), [[new AnyMatches(), target]]]]));
    expect(calls).toEqual(["listening"]);
    await t.close();
    expect(calls).toEqual(["listening", "closing"]);
  });
});

import { afterEach, describe, expect, it } from "vitest";
import {
  Application,
  HTTPError,
  RequestHandler,
  createTestServer,
  expectLog,
  type ApplicationSettings,
  type CorsOptions,
  type RouteSpec,
  type TestServer,
} from "../../runtime/index.js";

let server: TestServer | undefined;

async function serve(cors: CorsOptions | undefined, routes: RouteSpec[] = [["/items", Items]], settings: ApplicationSettings = {}): Promise<TestServer> {
  server = await createTestServer(new Application(routes, { cors, ...settings }));
  return server;
}

afterEach(async () => {
  await server?.close();
  server = undefined;
});

const APP = "https://app.example";
const EVIL = "https://evil.example";

class Items extends RequestHandler {
  get() {
    this.write({ items: [] });
  }
  post() {
    this.setStatus(201);
    this.write({ id: 1 });
  }
}

const preflight = (path: string, origin: string, headers: Record<string, string> = {}) =>
  server!.fetch(path, { method: "OPTIONS", headers: { Origin: origin, "Access-Control-Request-Method": "POST", ...headers } });

describe("Application setting cors, on responses", () => {
  it("allows a listed origin by echoing it, with Vary: Origin", async () => {
    const t = await serve({ origins: [APP] });
    const res = await t.fetch("/items", { headers: { Origin: APP } });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(APP);
    expect(res.headers.get("vary")).toBe("Origin");
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
  });

  it("sends no CORS header to an origin not listed, or without Origin, but Vary: Origin all the same", async () => {
    const t = await serve({ origins: [APP] });
    for (const headers of [{ Origin: EVIL }, {}] as Record<string, string>[]) {
      const res = await t.fetch("/items", { headers });
      expect(res.status).toBe(200);
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
      expect(res.headers.get("vary")).toBe("Origin");
    }
  });

  it('answers "*" to every request when any origin is allowed, without Vary', async () => {
    const t = await serve({ origins: "*" });
    for (const headers of [{ Origin: EVIL }, {}] as Record<string, string>[]) {
      const res = await t.fetch("/items", { headers });
      expect(res.headers.get("access-control-allow-origin")).toBe("*");
      expect(res.headers.get("vary")).toBeNull();
    }
  });

  it('echoes the origin instead of "*" when credentials are allowed', async () => {
    const t = await serve({ origins: [APP, EVIL], credentials: true });
    const res = await t.fetch("/items", { headers: { Origin: EVIL } });
    expect(res.headers.get("access-control-allow-origin")).toBe(EVIL);
    expect(res.headers.get("access-control-allow-credentials")).toBe("true");
    expect(res.headers.get("vary")).toBe("Origin");
  });

  it('refuses origins "*" with credentials when the Application is made', () => {
    expect(() => new Application([], { cors: { origins: "*", credentials: true } })).toThrow(
      /cannot combine origins: "\*" with credentials: true .*list the origins allowed/,
    );
  });

  it("asks a function about each origin", async () => {
    const t = await serve({ origins: (origin) => origin.endsWith(".app.example") });
    expect((await t.fetch("/items", { headers: { Origin: "https://eu.app.example" } })).headers.get("access-control-allow-origin")).toBe(
      "https://eu.app.example",
    );
    expect((await t.fetch("/items", { headers: { Origin: EVIL } })).headers.get("access-control-allow-origin")).toBeNull();
  });

  it("exposes the configured response headers", async () => {
    const t = await serve({ origins: [APP], exposeHeaders: ["X-Total-Count", "Link"] });
    const res = await t.fetch("/items", { headers: { Origin: APP } });
    expect(res.headers.get("access-control-expose-headers")).toBe("X-Total-Count, Link");
    expect((await t.fetch("/items", { headers: { Origin: EVIL } })).headers.get("access-control-expose-headers")).toBeNull();
  });

  it("keeps the CORS headers on error pages, so the page's script can read the error", async () => {
    class Missing extends RequestHandler {
      get() {
        throw new HTTPError(404, "no such item");
      }
    }
    const t = await serve({ origins: [APP] }, [["/missing", Missing]]);
    const res = await expectLog("tornado.access", /404/, () =>
      expectLog("tornado.general", /no such item/, () => t.fetch("/missing", { headers: { Origin: APP } })),
    );
    expect(res.status).toBe(404);
    expect(res.headers.get("access-control-allow-origin")).toBe(APP);
  });

  it("leaves an Access-Control-Allow-Origin the handler set itself", async () => {
    class Own extends RequestHandler {
      get() {
        this.setHeader("Access-Control-Allow-Origin", "https://partner.example");
      }
    }
    const t = await serve({ origins: [APP] }, [["/own", Own]]);
    const res = await t.fetch("/own", { headers: { Origin: APP } });
    expect(res.headers.get("access-control-allow-origin")).toBe("https://partner.example");
  });

  it("adds its Vary to the one compressResponse adds", async () => {
    const t = await serve({ origins: [APP] }, [["/items", Items]], { compressResponse: true });
    const res = await t.fetch("/items", { headers: { Origin: APP } });
    expect(res.headers.get("vary")).toBe("Origin, Accept-Encoding");
  });
});

describe("Application setting cors, when it is wrong", () => {
  it("refuses an origin whose check throws, and logs why", async () => {
    const t = await serve({
      origins: () => {
        throw new Error("lookup failed");
      },
    });
    const res = await expectLog("tornado.application", /origins function threw for "https:\/\/app\.example": refused/, () =>
      t.fetch("/items", { headers: { Origin: APP } }),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("logs a broken setting once and sends no CORS headers, but still answers", async () => {
    const broken = { origins: "https://app.example" } as unknown as CorsOptions;
    const t = await serve(broken);
    const res = await expectLog("tornado.application", /The cors setting needs origins.*; no CORS headers are sent/, () =>
      t.fetch("/items", { headers: { Origin: APP } }),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect((await expectLog("tornado.application", /cors/, () => t.fetch("/items"), { required: false })).status).toBe(200);
    await t.close();
    await serve({ origins: "*", headers: ["X-Ok", "Bad Header"] });
    const preflighted = await expectLog("tornado.application", /headers holds "Bad Header"/, () => preflight("/items", APP));
    expect(preflighted.status).toBe(204);
    expect(preflighted.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("Application setting cors, preflight requests", () => {
  it("answers 204 on any route, without an options() method, with the methods the handler implements", async () => {
    const t = await serve({ origins: [APP] });
    const res = await preflight("/items", APP);
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(APP);
    expect(res.headers.get("access-control-allow-methods")).toBe("GET, HEAD, POST");
    expect(res.headers.get("access-control-max-age")).toBeNull();
    expect(res.headers.get("content-type")).toBeNull();
    expect(await res.text()).toBe("");
  });

  it("echoes the requested headers by default, with Vary for them", async () => {
    const t = await serve({ origins: [APP] });
    const res = await preflight("/items", APP, { "Access-Control-Request-Headers": "content-type,x-trace" });
    expect(res.headers.get("access-control-allow-headers")).toBe("content-type,x-trace");
    expect(res.headers.get("vary")).toBe("Origin, Access-Control-Request-Headers");
  });

  it("sends the configured methods, headers, credentials and max age", async () => {
    const t = await serve({ origins: [APP], methods: ["GET", "PUT"], headers: ["Content-Type", "Authorization"], credentials: true, maxAge: 600 });
    const res = await preflight("/items", APP, { "Access-Control-Request-Headers": "x-other" });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-methods")).toBe("GET, PUT");
    expect(res.headers.get("access-control-allow-headers")).toBe("Content-Type, Authorization");
    expect(res.headers.get("access-control-allow-credentials")).toBe("true");
    expect(res.headers.get("access-control-max-age")).toBe("600");
    expect(res.headers.get("vary")).toBe("Origin");
  });

  it("gives a refused origin a 204 without any CORS header", async () => {
    const t = await serve({ origins: [APP] });
    const res = await preflight("/items", EVIL, { "Access-Control-Request-Headers": "x-trace" });
    expect(res.status).toBe(204);
    for (const name of ["allow-origin", "allow-methods", "allow-headers", "allow-credentials", "max-age"]) {
      expect(res.headers.get(`access-control-${name}`), name).toBeNull();
    }
  });

  it("is answered before prepare(), which a preflight (sent without credentials) would fail", async () => {
    class Private extends Items {
      override prepare() {
        throw new HTTPError(401);
      }
    }
    const t = await serve({ origins: [APP] }, [["/private", Private]]);
    expect((await preflight("/private", APP)).status).toBe(204);
    expect((await expectLog("tornado.access", /401/, () => t.fetch("/private", { headers: { Origin: APP } }))).status).toBe(401);
  });

  it("leaves an OPTIONS request that is not a preflight to the handler", async () => {
    class WithOptions extends Items {
      options() {
        this.setHeader("Allow", "GET, POST, OPTIONS");
        this.setStatus(204);
      }
    }
    const t = await serve({ origins: [APP] }, [["/items", Items], ["/described", WithOptions]]);
    const plain = await expectLog("tornado.access", /405/, () => t.fetch("/items", { method: "OPTIONS", headers: { Origin: APP } }));
    expect(plain.status).toBe(405);
    const described = await t.fetch("/described", { method: "OPTIONS" });
    expect(described.headers.get("allow")).toBe("GET, POST, OPTIONS");
  });

  it("does not make unknown paths exist", async () => {
    const t = await serve({ origins: "*" });
    const res = await expectLog("tornado.access", /404/, () => preflight("/nowhere", APP));
    expect(res.status).toBe(404);
  });

  it("is not answered without the setting (405, as before)", async () => {
    const t = await serve(undefined);
    const res = await expectLog("tornado.access", /405/, () => preflight("/items", APP));
    expect(res.status).toBe(405);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });
});

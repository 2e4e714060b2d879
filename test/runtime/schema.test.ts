// Schema-first handlers (issue 15, runtime): withSchemas() with zod 4, valibot and arktype,
// through real HTTP requests: typed values, 400s listing every issue, coercion, hostile bodies,
// and the response check under debug.

import { type } from "arktype";
import * as v from "valibot";
import { toJsonSchema } from "@valibot/to-json-schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { Application, HTTPError, RequestHandler, createTestServer, expectLog, url, withSchemas, type ErrorDetails, type TestServer } from "../../runtime/index.js";

const MiB = 1024 * 1024;
const read = (res: Response): Promise<any> => res.json();
const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: "POST",
  body: typeof body === "string" ? body : JSON.stringify(body),
  headers: { "Content-Type": "application/json", ...headers },
});

// zod: the typed values reach the method without casts.
const ZNewUser = z.object({ name: z.string().min(1), email: z.email(), age: z.number().int().optional() });
const ZUser = z.object({ id: z.number(), name: z.string(), email: z.string() });
class ZodUsers extends withSchemas({
  get: { query: z.object({ limit: z.number().int().max(100), active: z.boolean().optional(), tag: z.array(z.string()).optional() }) },
  post: { body: ZNewUser, responses: { 201: ZUser } },
}) {
  get() {
    const { query } = this.valid("get");
    const limit: number = query.limit;
    this.write({ limit, active: query.active ?? null, tag: query.tag ?? [] });
  }
  post() {
    const { body } = this.valid("post");
    const name: string = body.name;
    // @ts-expect-error: the body has no field `admin`
    void body.admin;
    this.setStatus(201);
    this.write({ id: 1, name, email: body.email });
  }
}
class ZodUser extends withSchemas({ get: { path: z.object({ id: z.number().int() }), responses: { 200: ZUser } } }) {
  get() {
    const { path } = this.valid("get");
    const id: number = path.id;
    // The wrong type on purpose when id is 13, to see the response check.
    this.write(id === 13 ? { id, name: 13, email: "x" } : { id, name: "Ann", email: "ann@example.com" });
  }
}

// valibot has no Standard JSON Schema of its own: the app's jsonSchema setting converts.
const VNewUser = v.object({ name: v.pipe(v.string(), v.minLength(1)), email: v.pipe(v.string(), v.email()) });
class ValibotUsers extends withSchemas({ post: { body: VNewUser }, get: { query: v.object({ limit: v.number() }) } }) {
  get() {
    const limit: number = this.valid("get").query.limit;
    this.write({ limit });
  }
  post() {
    const { body } = this.valid("post");
    this.write({ name: body.name satisfies string });
  }
}

const ANewUser = type({ name: "string > 0", email: "string.email" });
class ArkUsers extends withSchemas({ post: { body: ANewUser }, get: { query: type({ limit: "number.integer" }) } }) {
  get() {
    this.write({ limit: this.valid("get").query.limit satisfies number });
  }
  post() {
    const { body } = this.valid("post");
    this.write({ name: body.name satisfies string, keys: Object.keys(body) });
  }
}

class AnyBody extends withSchemas({ post: { body: z.object({ data: z.unknown() }) } }) {
  post() {
    this.write({ ok: true });
  }
}

// Nested objects and arrays: unknown fields are found at every level the schema declares.
class Orders extends withSchemas({
  post: { body: z.object({ customer: z.object({ name: z.string() }), lines: z.array(z.object({ sku: z.string(), qty: z.number().int() })), meta: z.record(z.string(), z.unknown()) }) },
}) {
  post() {
    this.write({ lines: this.valid("post").body.lines.length });
  }
}

// An app's own JSON errors: a schema handler built on it keeps them, except for a failed
// validation, whose issues it lists.
class AppErrors extends RequestHandler {
  override writeError(status: number, { error }: ErrorDetails = {}) {
    this.finish({ problem: { status, detail: error instanceof HTTPError ? (error.logMessage ?? null) : null } });
  }
}
class OnAppErrors extends withSchemas({ get: { path: z.object({ id: z.number().int() }) } }, AppErrors) {
  get() {
    throw new HTTPError(404, `no item ${this.valid("get").path.id}`);
  }
}

let server: TestServer;
beforeAll(async () => {
  const app = new Application(
    [
      url("/zod/users", ZodUsers, { name: "users" }),
      url("/zod/users/:id", ZodUser, { name: "user" }),
      ["/valibot/users", ValibotUsers],
      ["/ark/users", ArkUsers],
      ["/any", AnyBody],
      ["/orders", Orders],
      url("/items/:id", OnAppErrors),
    ],
    { debug: true, jsonSchema: (schema: any) => (schema["~standard"].vendor === "valibot" ? toJsonSchema(schema, { errorMode: "ignore" }) : undefined) },
  );
  server = await createTestServer(app);
});
afterAll(() => server.close());

async function refused(path: string, init: RequestInit, status = 400) {
  // The access line, and the warning with the issues on tornado.general.
  const res = await expectLog("tornado.general", new RegExp(`^${status} `), () =>
    expectLog("tornado.access", new RegExp(`^${status} `), () => server.fetch(path, init)),
  );
  expect(res.status).toBe(status);
  return res;
}

describe.each([
  ["zod", "/zod/users"],
  ["valibot", "/valibot/users"],
  ["arktype", "/ark/users"],
])("withSchemas with %s", (_library, path) => {
  it("passes a valid body to the method", async () => {
    const res = await server.fetch(path, json({ name: "Ann", email: "ann@example.com" }));
    expect(res.status).toBeLessThan(300);
    expect((await read(res)).name).toBe("Ann");
  });

  it("answers 400 listing every issue with its location", async () => {
    const res = await refused(path, json({ name: "", email: "nope" }));
    expect(res.headers.get("content-type")).toBe("application/json; charset=UTF-8");
    const body = await read(res);
    expect(body.error.status).toBe(400);
    expect(body.error.message).toBe("Invalid request");
    expect(body.error.issues.map((i: { location: string }) => i.location).sort()).toEqual(["body.email", "body.name"]);
    for (const issue of body.error.issues) expect(typeof issue.message).toBe("string");
  });

  it("refuses unknown fields (the same for every library)", async () => {
    const res = await refused(path, json({ name: "Ann", email: "ann@example.com", admin: true }));
    expect((await read(res)).error.issues).toEqual([{ location: "body.admin", message: "Unknown field" }]);
  });

  it("coerces a query argument to the number its schema asks for", async () => {
    const res = await server.fetch(`${path}?limit=20`);
    expect(await read(res)).toMatchObject({ limit: 20 });
    const bad = await refused(`${path}?limit=abc`, {});
    expect((await read(bad)).error.issues.map((i: { location: string }) => i.location)).toEqual(["query.limit"]);
  });
});

describe("withSchemas: query, path and errors", () => {
  it("coerces booleans, repeated arguments into arrays, and path groups to numbers", async () => {
    expect(await read(await server.fetch("/zod/users?limit=5&active=true&tag=a&tag=b"))).toEqual({ limit: 5, active: true, tag: ["a", "b"] });
    expect(await read(await server.fetch("/zod/users/7"))).toEqual({ id: 7, name: "Ann", email: "ann@example.com" });
    const res = await refused("/zod/users/abc", {});
    expect((await read(res)).error.issues.map((i: { location: string }) => i.location)).toEqual(["path.id"]);
  });

  it("lists issues of several parts at once, and a missing query argument", async () => {
    const res = await refused("/zod/users?limit=101", {});
    expect((await read(res)).error.issues.map((i: { location: string }) => i.location)).toEqual(["query.limit"]);
    const missing = await refused("/zod/users", {});
    expect((await read(missing)).error.issues[0].location).toBe("query.limit");
  });

  it("answers Tornado's HTML page to a client that asks for HTML", async () => {
    const res = await refused("/zod/users?limit=x", { headers: { Accept: "text/html,*/*" } });
    expect(res.headers.get("content-type")).toBe("text/html; charset=UTF-8");
    expect(await res.text()).toBe("<html><title>400: Bad Request</title><body>400: Bad Request</body></html>");
  });

  it("logs the issues as a warning", async () => {
    await expectLog("tornado.general", /400 POST \/zod\/users .*Invalid request: body\.email/, () =>
      expectLog("tornado.access", /^400 /, () => server.fetch("/zod/users", json({ name: "A", email: "x" }))),
    );
  });

  it("lists an unknown field together with the library's own issues", async () => {
    const res = await refused("/zod/users", json({ name: "", email: "ann@example.com", admin: true }));
    expect((await read(res)).error.issues.map((i: { location: string }) => i.location).sort()).toEqual(["body.admin", "body.name"]);
  });

  it("finds unknown fields in nested objects and array items, not in open records", async () => {
    const order = { customer: { name: "Ann", vip: true }, lines: [{ sku: "a", qty: 1 }, { sku: "b", qty: 2, price: 0 }], meta: { anything: { goes: 1 } } };
    const res = await refused("/orders", json(order));
    expect((await read(res)).error.issues).toEqual([
      { location: "body.customer.vip", message: "Unknown field" },
      { location: "body.lines[1].price", message: "Unknown field" },
    ]);
    const { customer, lines, meta } = order;
    const ok = await server.fetch("/orders", json({ customer: { name: customer.name }, lines: lines.map(({ sku, qty }) => ({ sku, qty })), meta }));
    expect(await read(ok)).toEqual({ lines: 2 });
  });

  it("lists a hostile value alone, without the unknown fields beside it", async () => {
    const res = await refused("/orders", json({ customer: { name: "Ann", vip: true }, lines: [], meta: {} }));
    expect((await read(res)).error.issues).toEqual([{ location: "body.customer.vip", message: "Unknown field" }]);
    const hostile = await refused("/orders", { method: "POST", headers: { "Content-Type": "application/json" }, body: '{"customer":{"name":"Ann","vip":true},"lines":[{"sku":"a","qty":9007199254740993}],"meta":{}}' });
    expect((await read(hostile)).error.issues).toEqual([{ location: "body.lines[0].qty", message: "Integer beyond ±(2^53 − 1): it cannot be represented exactly" }]);
  });

  it("cuts a long key from the client in an issue's location", async () => {
    const key = "k".repeat(10_000);
    const res = await refused("/zod/users", json({ name: "Ann", email: "ann@example.com", [key]: 1 }));
    expect((await read(res)).error.issues).toEqual([{ location: `body.${"k".repeat(60)}…`, message: "Unknown field" }]);
  });

  it("keeps the base handler's own error body for other errors, and lists issues for a failed validation", async () => {
    const missing = await expectLog("tornado.general", /^404 GET \/items\/7/, () => expectLog("tornado.access", /^404 /, () => server.fetch("/items/7")));
    expect(missing.status).toBe(404);
    expect(await read(missing)).toEqual({ problem: { status: 404, detail: "no item 7" } });
    const bad = await refused("/items/x", {});
    expect((await read(bad)).error.issues.map((i: { location: string }) => i.location)).toEqual(["path.id"]);
  });

  it("answers 415 to a body that is not JSON", async () => {
    await refused("/zod/users", { method: "POST", body: "name=a", headers: { "Content-Type": "application/x-www-form-urlencoded" } }, 415);
  });

  it("logs a response that does not match its schema, with the route and the field", async () => {
    const res = await expectLog("tornado.application", /Response does not match its schema: 200 GET \/zod\/users\/:id \(\/zod\/users\/13\): response\.name: /, () =>
      server.fetch("/zod/users/13"),
    );
    expect(res.status).toBe(200);
  });
});

describe("withSchemas: hostile bodies", () => {
  const locations = async (res: Response) => (await read(res)).error.issues.map((i: { location: string }) => i.location);

  it("wrong types and missing fields are each an issue", async () => {
    expect(await locations(await refused("/zod/users", json({ name: 5 })))).toEqual(["body.name", "body.email"]);
    expect(await locations(await refused("/zod/users", json([1, 2])))).toEqual(["body"]);
    await refused("/zod/users", json("not json", {}));
  });

  it("refuses integers past 2^53 (JSON.parse would round them)", async () => {
    const res = await refused("/any", json('{"data": {"n": 9007199254740993}}'));
    expect(await locations(res)).toEqual(["body.data.n"]);
    expect((await server.fetch("/any", json('{"data": {"n": 9007199254740991}}'))).status).toBe(200);
  });

  it("refuses strings and keys with NUL", async () => {
    expect(await locations(await refused("/any", json({ data: "a\u0000b" })))).toEqual(["body.data"]);
    expect(await locations(await refused("/any", json({ data: { "k\u0000": 1 } })))).toEqual(['body.data["k\\u0000"]']);
  });

  it("refuses nesting deeper than 64 levels (10,000 deep) and serves the next request", async () => {
    const deep = `{"data": ${"[".repeat(10_000)}${"]".repeat(10_000)}}`;
    const res = await refused("/any", json(deep));
    expect((await read(res)).error.issues[0].message).toBe("Nested deeper than 64 levels");
    const atLimit = `{"data": ${"[".repeat(63)}${"]".repeat(63)}}`;
    expect((await server.fetch("/any", json(atLimit))).status).toBe(200);
    await refused("/any", json(`{"data": ${"[".repeat(64)}${"]".repeat(64)}}`));
  });

  it("refuses __proto__, constructor and prototype keys; prototypes stay untouched", async () => {
    for (const key of ["__proto__", "constructor", "prototype"]) {
      const res = await refused("/any", json(`{"data": {"${key}": {"polluted": true}}}`));
      expect(await locations(res)).toEqual([`body.data.${key}`]);
    }
    await refused("/zod/users", json('{"__proto__": {"polluted": true}, "name": "a", "email": "a@b.co"}'));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("answers 413 to a 10 MB array (maxJsonBodySize) and serves the next request", async () => {
    const big = JSON.stringify({ data: new Array(10 * MiB / 2).fill(0) });
    const res = await refused("/any", json(big), 413);
    expect(res.status).toBe(413);
    expect((await server.fetch("/any", json({ data: 1 }))).status).toBe(200);
  });
});

// withSchemas() edges (issue 15), through real HTTP requests: header schemas and their coercion,
// an asynchronous Standard Schema, positional regex groups, valid() for a method without schemas,
// the NODE_ENV=test default of validateResponses (in real child processes), and a 10 MB JSON
// array under a raised maxJsonBodySize.

import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { Application, createTestServer, expectLog, withSchemas, type StandardSchemaV1, type TestServer } from "../../runtime/index.js";
import { runCommand } from "../helpers/cli.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const MiB = 1024 * 1024;
const read = (res: Response): Promise<any> => res.json();
const locations = async (res: Response) => (await read(res)).error.issues.map((i: { location: string }) => i.location);
const json = (body: unknown) => ({ method: "POST", body: typeof body === "string" ? body : JSON.stringify(body), headers: { "Content-Type": "application/json" } });

class Headers_ extends withSchemas({ get: { headers: z.object({ "x-count": z.number().int().max(10), "x-tag": z.string().optional() }) } }) {
  get() {
    const { headers } = this.valid("get");
    const count: number = headers["x-count"];
    this.write({ count, type: typeof count, tag: headers["x-tag"] ?? null });
  }
}

// A hand-made Standard Schema whose validate() answers later, through a Promise (as a schema
// that looks something up would): { n: a positive number }.
const asyncPositive: StandardSchemaV1<unknown, { n: number }> = {
  "~standard": {
    version: 1,
    vendor: "hand-made",
    validate: async (value) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      const n = (value as { n?: unknown } | null)?.n;
      if (typeof n === "number" && n > 0) return { value: { n } };
      return { issues: [{ message: "n must be a positive number", path: ["n"] }] };
    },
  },
};
class AsyncBody extends withSchemas({ post: { body: asyncPositive } }) {
  post() {
    const { body } = this.valid("post");
    this.write({ n: body.n satisfies number });
  }
}

// Positional groups of a regex route are the path fields "0", "1", ….
class Positional extends withSchemas({ get: { path: z.object({ "0": z.number().int(), "1": z.enum(["asc", "desc"]) }) } }) {
  get() {
    const { path } = this.valid("get");
    this.write({ year: path["0"] satisfies number, order: path["1"] });
  }
}

// GET has no schemas: valid("get") is a programming error, as is valid("put") while serving
// POST, and valid() in prepare() (before validation). The thrown message is written back.
class Misused extends withSchemas({ post: { body: z.object({ a: z.number() }) }, put: { body: z.object({ b: z.number() }) } }) {
  override prepare() {
    if (this.getQueryArguments("early").length > 0) this.finish({ message: thrown(() => this.valid("post")) });
  }
  get() {
    this.write({ message: thrown(() => (this as any).valid("get")) });
  }
  post() {
    if (this.getQueryArguments("uncaught").length > 0) this.valid("put");
    this.write({ message: thrown(() => this.valid("put")) });
  }
}
function thrown(fn: () => unknown): string {
  try {
    return `returned ${JSON.stringify(fn())}`;
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
}

class Numbers extends withSchemas({ post: { body: z.array(z.string()) } }) {
  post() {
    this.write({ n: this.valid("post").body.length });
  }
}
class Obj extends withSchemas({ post: { body: z.object({ data: z.array(z.number()) }) } }) {
  post() {
    this.write({ n: this.valid("post").body.data.length });
  }
}

let server: TestServer;
beforeAll(async () => {
  const app = new Application([
    ["/headers", Headers_],
    ["/async", AsyncBody],
    ["/archive/([^/]+)/([^/]+)", Positional],
    ["/misused", Misused],
    ["/strings", Numbers],
    ["/obj", Obj],
  ]);
  server = await createTestServer(app, { maxJsonBodySize: 20 * MiB });
});
afterAll(() => server.close());

async function refused(path: string, init: RequestInit, status = 400) {
  const res = await expectLog("tornado.general", new RegExp(`^${status} `), () =>
    expectLog("tornado.access", new RegExp(`^${status} `), () => server.fetch(path, init)),
  );
  expect(res.status).toBe(status);
  return res;
}

describe("withSchemas: header schemas", () => {
  it("coerces a header to the number its schema asks for", async () => {
    const res = await server.fetch("/headers", { headers: { "X-Count": "7", "X-Tag": "a" } });
    expect(res.status).toBe(200);
    expect(await read(res)).toEqual({ count: 7, type: "number", tag: "a" });
  });

  it("answers 400 naming the header, for a bad value and for a missing one", async () => {
    expect(await locations(await refused("/headers", { headers: { "X-Count": "seven" } }))).toEqual(['headers["x-count"]']);
    expect(await locations(await refused("/headers", { headers: { "X-Count": "11" } }))).toEqual(['headers["x-count"]']);
    expect(await locations(await refused("/headers", {}))).toEqual(['headers["x-count"]']);
  });
});

describe("withSchemas: an asynchronous Standard Schema", () => {
  it("waits for validate()'s promise: the value reaches the method, a failure is a 400", async () => {
    const ok = await server.fetch("/async", json({ n: 3 }));
    expect(ok.status).toBe(200);
    expect(await read(ok)).toEqual({ n: 3 });
    const bad = await refused("/async", json({ n: -1 }));
    expect((await read(bad)).error.issues).toEqual([{ location: "body.n", message: "n must be a positive number" }]);
  });
});

describe("withSchemas: positional regex groups", () => {
  it("validates and coerces the groups as path fields 0, 1, …", async () => {
    const ok = await server.fetch("/archive/2024/desc");
    expect(ok.status).toBe(200);
    expect(await read(ok)).toEqual({ year: 2024, order: "desc" });
    expect(await locations(await refused("/archive/twenty/sideways", {}))).toEqual(['path["0"]', 'path["1"]']);
  });
});

describe("withSchemas: valid() misused", () => {
  it("throws a TypeError naming the method, for a method without schemas", async () => {
    expect(await read(await server.fetch("/misused"))).toEqual({ message: 'TypeError: valid("get"): no schemas are declared for GET (withSchemas declares POST, PUT)' });
  });

  it("throws for another method than the one served, and before validation", async () => {
    expect(await read(await server.fetch("/misused", json({ a: 1 })))).toEqual({
      message: 'TypeError: valid("put"): this request is a POST; valid() returns the values of the method being served',
    });
    expect(await read(await server.fetch("/misused?early=1", json({ a: 1 })))).toEqual({
      message: 'TypeError: valid("post"): the request is not validated yet (it is, after prepare() and before the POST method)',
    });
  });

  it("uncaught, is a 500 with the exception logged", async () => {
    const res = await expectLog("tornado.application", /^Uncaught exception POST \/misused\?uncaught=1/, () =>
      expectLog("tornado.access", /^500 POST \/misused/, () => server.fetch("/misused?uncaught=1", json({ a: 1 }))),
    );
    expect(res.status).toBe(500);
    expect((await read(res)).error).toEqual({ status: 500, message: "Internal Server Error" });
  });
});

describe("withSchemas: a 10 MB JSON array under a raised maxJsonBodySize", () => {
  const big = JSON.stringify(new Array(5 * MiB).fill(0)); // "[0,0,…]": 10 MB

  it("is a 400 (an array where an object belongs) and the server serves the next request", async () => {
    expect(big.length).toBeGreaterThanOrEqual(10 * MiB);
    const res = await refused("/obj", json(big));
    expect(await locations(res)).toEqual(["body"]);
    expect((await server.fetch("/obj", json({ data: [1, 2] }))).status).toBe(200);
  });

  it("a 1 MB array failing at every item is a 400 listing 100 issues and counting the rest", async () => {
    // (10 MB would be 5 million issues: the runtime locates only the 100 it lists, but zod
    // still builds every one, tens of seconds on a loaded machine; see maxJsonBodySize.)
    const res = await expectLog("tornado.general", /^400 POST \/strings .*Invalid request: body\[0\]: .* \(and 524285 more\)$/, () =>
      expectLog("tornado.access", /^400 /, () => server.fetch("/strings", json(JSON.stringify(new Array(MiB / 2).fill(0))))),
    );
    expect(res.status).toBe(400);
    const body = await read(res);
    expect(body.error.issues).toHaveLength(100);
    expect(body.error.issues[99].location).toBe("body[99]");
    expect((await server.fetch("/strings", json(["a"]))).status).toBe(200);
  }, 60_000);
});

// validateResponses defaults to on under NODE_ENV=test (and debug), off otherwise: checked in a
// child process, where a handler writes a response that does not match its schema.
function runChild(env: Record<string, string | undefined>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = `
    import { Application, withSchemas } from "./dist/runtime/index.js";
    import { z } from "zod";
    class H extends withSchemas({ get: { responses: { 200: z.object({ id: z.number() }) } } }) {
      get() { this.write({ id: "not a number" }); }
    }
    const server = await new Application([["/", H]]).listen(0, "127.0.0.1");
    const res = await fetch("http://127.0.0.1:" + server.port + "/");
    console.log("STATUS=" + res.status + " BODY=" + (await res.text()));
    await server.close();
    process.exit(0);
  `;
  // runCommand leaves out a variable set to undefined (NODE_ENV unset).
  return runCommand(process.execPath, ["--input-type=module", "-e", script], ROOT, env);
}

describe("withSchemas: validateResponses defaults", () => {
  it("checks responses under NODE_ENV=test and not under NODE_ENV=production", async () => {
    const [test, production, unset] = await Promise.all([
      runChild({ NODE_ENV: "test" }),
      runChild({ NODE_ENV: "production" }),
      runChild({ NODE_ENV: undefined }),
    ]);
    for (const run of [test, production, unset]) {
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('STATUS=200 BODY={"id":"not a number"}');
    }
    expect(test.stderr).toMatch(/Response does not match its schema: 200 GET \/ \(\/\): response\.id: /);
    expect(production.stderr).not.toContain("Response does not match");
    expect(unset.stderr).not.toContain("Response does not match");
  }, 30_000);
});

import { createTestServer, type TestServer } from "tornado/testing";
import { afterEach, beforeEach, expect, it } from "vitest";
import { makeApp, serverOptions } from "../src/app.js";
import { expectRefused } from "./support.js";

let t: TestServer;
beforeEach(async () => {
  t = await createTestServer(makeApp(), serverOptions);
});
afterEach(() => t.close());

it("GET /health answers ok", async () => {
  const res = await t.fetch("/health");
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({ status: "ok" });
});

it("an unknown path is a JSON 404", async () => {
  const res = await expectRefused("404 GET /nope", () => t.fetch("/nope"));
  expect(res.status).toBe(404);
  expect(await res.json()).toEqual({ error: { status: 404, message: "no route for /nope" } });
});

it("an unknown path answers 404 without reading the body sent to it", async () => {
  // A form body the app would have to parse (and here could not): it is never looked at.
  const res = await expectRefused("404 POST /nope", () =>
    t.fetch("/nope", { method: "POST", headers: { "Content-Type": "multipart/form-data" }, body: "x".repeat(1000) }),
  );
  expect(res.status).toBe(404);
  expect(await res.json()).toEqual({ error: { status: 404, message: "no route for /nope" } });
});

it("describes the API at /openapi.json, from the handlers' schemas", async () => {
  const res = await t.fetch("/openapi.json");
  expect(res.status).toBe(200);
  const doc = (await res.json()) as { info: unknown; paths: Record<string, Record<string, { operationId: string }>> };
  expect(doc.info).toEqual({ title: "Users API", version: "0.1.0" });
  // Handlers generated later add their own paths.
  expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/health", "/users", "/users/{id}"]));
  expect(doc.paths["/users"]!.post!.operationId).toBe("postUsers");
});

it("serves the docs page at /docs outside production, from swagger-ui-dist (no CDN)", async () => {
  const res = await t.fetch("/docs");
  expect(res.status).toBe(200);
  expect(await res.text()).toContain('<script src="/docs/swagger-ui-bundle.js">');
  expect((await t.fetch("/docs/swagger-ui.css")).status).toBe(200);
});

it("leaves the docs page out in production (the document stays)", async () => {
  const saved = process.env.NODE_ENV;
  process.env.NODE_ENV = "production";
  const prod = await createTestServer(makeApp(), serverOptions).finally(() => (process.env.NODE_ENV = saved));
  try {
    expect((await expectRefused("404 GET /docs", () => prod.fetch("/docs"))).status).toBe(404);
    expect((await prod.fetch("/openapi.json")).status).toBe(200);
  } finally {
    await prod.close();
  }
});

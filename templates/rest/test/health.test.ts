import { afterEach, beforeEach, expect, it } from "vitest";
import { createTestServer, type TestServer } from "tornado/testing";
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

import { afterEach, beforeEach, expect, it } from "vitest";
import { createTestServer, type TestServer } from "tornado/testing";
import { makeApp } from "../src/app.js";

let t: TestServer;
beforeEach(async () => {
  t = await createTestServer(makeApp());
});
afterEach(() => t.close());

it("GET /health answers ok", async () => {
  const res = await t.fetch("/health");
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({ status: "ok" });
});

it("an unknown path is a JSON 404", async () => {
  const res = await t.fetch("/nope");
  expect(res.status).toBe(404);
  expect(await res.json()).toEqual({ error: { status: 404, message: "no route for /nope" } });
});

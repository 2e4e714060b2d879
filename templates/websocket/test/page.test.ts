import { createTestServer, type TestServer } from "tornado/testing";
import { afterEach, beforeEach, expect, it } from "vitest";
import { makeApp } from "../src/app.js";

let t: TestServer;
beforeEach(async () => {
  t = await createTestServer(makeApp());
});
afterEach(() => t.close());

it("GET / serves the chat page", async () => {
  const res = await t.fetch("/");
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("text/html; charset=UTF-8");
  const html = await res.text();
  expect(html).toContain("<title>Chat</title>");
  expect(html).toContain("/chat");
});

it("GET /health answers ok", async () => {
  const res = await t.fetch("/health");
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({ status: "ok" });
});

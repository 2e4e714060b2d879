import { afterAll, beforeAll, expect, it } from "vitest";
import type { TestServer } from "tornado/testing";
import { openTestDatabase, postgresUrl, startApp, type TestDatabase } from "./support.js";

let database: TestDatabase;
let t: TestServer;
beforeAll(async () => {
  database = await openTestDatabase();
  t = await startApp({ db: database.db });
});
afterAll(async () => {
  await t?.close();
  await database?.close();
});

it("GET /health answers ok, names the database and counts its queries", async () => {
  const res = await t.fetch("/health");
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({
    status: "ok",
    database: postgresUrl ? "postgres" : "embedded",
    queries: { running: 0, waiting: 0, cancelled: 0 },
  });
});

it("an unknown path is a JSON 404", async () => {
  const res = await t.fetch("/nope");
  expect(res.status).toBe(404);
  expect(await res.json()).toEqual({ error: { status: 404, message: "no route for /nope" } });
});

it("the schema was created on first start, with its orders", async () => {
  const [row] = await database.db.query<{ total: number }>("SELECT count(*)::int AS total FROM orders");
  expect(row).toEqual({ total: 10_000 });
});

it("POST /orders adds an order that GET /orders lists first", async () => {
  const created = await t.fetch("/orders", { method: "POST", body: JSON.stringify({ customer: "ann", amountCents: 1234 }) });
  expect(created.status).toBe(201);
  const order = (await created.json()) as { id: number; customer: string; amountCents: number };
  expect(order).toMatchObject({ customer: "ann", amountCents: 1234 });
  const listed = await t.fetch("/orders?limit=1");
  expect(await listed.json()).toMatchObject({ orders: [{ id: order.id, customer: "ann", amountCents: 1234 }] });
});

it("POST /orders with a bad amount is a 400 that says why", async () => {
  const res = await t.fetch("/orders", { method: "POST", body: JSON.stringify({ customer: "ann", amountCents: -5 }) });
  expect(res.status).toBe(400);
  expect(await res.json()).toEqual({ error: { status: 400, message: "amountCents must be a whole number from 1 to 100000000" } });
});

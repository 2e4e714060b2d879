import { afterAll, beforeAll, expect, it } from "vitest";
import { expectLog, type TestServer } from "tornado/testing";
import { expectRefused, openTestDatabase, postgresUrl, startApp, type TestDatabase } from "./support.js";

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
  const res = await expectRefused("404 GET /nope", () => t.fetch("/nope"));
  expect(res.status).toBe(404);
  expect(await res.json()).toEqual({ error: { status: 404, message: "no route for /nope" } });
});

it("the migrations and the seed ran before the database was ready: the orders are there", async () => {
  const [row] = await database.db.query<{ total: number }>("SELECT count(*)::int AS total FROM orders");
  expect(row).toEqual({ total: 10_000 });
});

const json = { "Content-Type": "application/json" };

it("POST /orders adds an order that GET /orders lists first", async () => {
  const created = await t.fetch("/orders", { method: "POST", headers: json, body: JSON.stringify({ customer: "ann", amountCents: 1234 }) });
  expect(created.status).toBe(201);
  const order = (await created.json()) as { id: number; customer: string; amountCents: number };
  expect(order).toMatchObject({ customer: "ann", amountCents: 1234 });
  const listed = await t.fetch("/orders?limit=1");
  expect(await listed.json()).toMatchObject({ orders: [{ id: order.id, customer: "ann", amountCents: 1234 }] });
});

it("POST /orders with a bad amount is a 400 that says why", async () => {
  const res = await expectRefused("400 POST /orders", () => t.fetch("/orders", { method: "POST", headers: json, body: JSON.stringify({ customer: "ann", amountCents: -5 }) }));
  expect(res.status).toBe(400);
  expect(await res.json()).toEqual({
    error: { status: 400, message: "Invalid request", issues: [{ location: "body.amountCents", message: "Too small: expected number to be >=1" }] },
  });
});

it("POST /orders with a NUL character in the customer is a 400 naming the field (PostgreSQL cannot store it)", async () => {
  const res = await expectRefused("400 POST /orders", () => t.fetch("/orders", { method: "POST", headers: json, body: JSON.stringify({ customer: "an\u0000n", amountCents: 5 }) }));
  expect(res.status).toBe(400);
  expect(await res.json()).toEqual({
    error: { status: 400, message: "Invalid request", issues: [{ location: "body.customer", message: "NUL characters are not allowed" }] },
  });
});

it("POST /orders takes a customer of 100 characters and an amount of 100000000, and refuses one more of either", async () => {
  const post = (body: unknown) => t.fetch("/orders", { method: "POST", headers: json, body: JSON.stringify(body) });
  expect((await post({ customer: "c".repeat(100), amountCents: 100_000_000 })).status).toBe(201);
  const res = await expectRefused("400 POST /orders", () => post({ customer: "c".repeat(101), amountCents: 100_000_001 }));
  const { error } = (await res.json()) as { error: { issues: { location: string; message: string }[] } };
  expect(error.issues).toEqual([
    { location: "body.customer", message: "must be at most 100 characters" },
    { location: "body.amountCents", message: "Too big: expected number to be <=100000000" },
  ]);
});

it("POST /orders refuses a field it does not know, and a body that is not JSON (415)", async () => {
  const extra = await expectRefused("400 POST /orders", () => t.fetch("/orders", { method: "POST", headers: json, body: JSON.stringify({ customer: "ann", amountCents: 5, paid: true }) }));
  expect(((await extra.json()) as { error: { issues: unknown[] } }).error.issues).toEqual([{ location: "body.paid", message: "Unknown field" }]);
  const form = await expectRefused("415 POST /orders", () => t.fetch("/orders", { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: "customer=ann" }));
  expect(form.status).toBe(415);
});

it("describes the API at /openapi.json, and serves /docs outside production", async () => {
  const doc = (await (await t.fetch("/openapi.json")).json()) as { paths: Record<string, unknown> };
  // Handlers generated later add their own paths.
  expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/health", "/orders", "/reports/slow", "/reports/top-customers", "/reports/order-stats"]));
  expect((await t.fetch("/docs")).status).toBe(200);
});

it("reads a body of 1 MiB (serverOptions.maxBodySize) and answers 413 to a larger one", async () => {
  const order = JSON.stringify({ customer: "ann", amountCents: 7 });
  const atLimit = order + " ".repeat(1024 * 1024 - order.length);
  expect((await t.fetch("/orders", { method: "POST", headers: json, body: atLimit })).status).toBe(201);
  const over = await expectRefused("413 POST /orders", () => t.fetch("/orders", { method: "POST", headers: json, body: `${atLimit} ` }));
  expect(over.status).toBe(413);
});

it("while the database is starting, /health and queries answer 503 with Retry-After (never a 504), then 200", async () => {
  // A handle whose setup (the schema, on a first start) is still running: it waits for `open`.
  let open!: () => void;
  const db = database.starting(new Promise<void>((resolve) => (open = resolve)));
  const starting = await startApp({ db, queryTimeoutMs: 200 });
  try {
    const health = await expectLog("tornado.access", "503 GET /health", () => starting.fetch("/health"));
    expect(health.status).toBe(503);
    expect(health.headers.get("Retry-After")).toBe("2");
    expect(await health.json()).toMatchObject({ status: "starting", database: postgresUrl ? "postgres" : "embedded" });
    await new Promise((resolve) => setTimeout(resolve, 300)); // past the query timeout
    const orders = await expectRefused("503 GET /orders", () => starting.fetch("/orders"));
    expect(orders.status).toBe(503);
    expect(orders.headers.get("Retry-After")).toBe("2");
    expect(await orders.json()).toEqual({ error: { status: 503, message: "the database is still starting; try again in a few seconds" } });
    open();
    await db.ready;
    const ready = await starting.fetch("/health");
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ok" });
    expect((await starting.fetch("/orders?limit=1")).status).toBe(200);
  } finally {
    await starting.close();
  }
});

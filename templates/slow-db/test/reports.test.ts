import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestServer } from "tornado/testing";
import { Turns } from "../src/turns.js";
import { expectRefused, openTestDatabase, startApp, waitForCounts, waitForHealth, type TestDatabase } from "./support.js";

let database: TestDatabase;
let t: TestServer;
beforeAll(async () => {
  database = await openTestDatabase();
  // A generous query timeout, and turns for all: 200 slow reports queue up for the pool's 10
  // connections.
  t = await startApp({
    db: database.db,
    queryTimeoutMs: 120_000,
    slowQueries: new Turns("slow reports", { running: 200, waiting: 0, waitMs: 1000 }),
  });
});
afterAll(async () => {
  await t?.close();
  await database?.close();
});

describe("GET /reports/slow", () => {
  it("answers once the slow query is done, with the report", async () => {
    const res = await t.fetch("/reports/slow?seconds=0.3");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { orders: number; revenueCents: number; tookMs: number };
    expect(body).toMatchObject({ report: "slow", seconds: 0.3, orders: 10_000 });
    expect(body.revenueCents).toBeGreaterThan(0);
    expect(body.tookMs).toBeGreaterThanOrEqual(250);
  });

  it("while 200 slow reports are in flight, /health answers every time", async () => {
    // Sized to keep the database busy for about 6 s (ten at a time on the pool): a server
    // stalled behind its database would keep /health waiting that long.
    const seconds = 0.3;
    const batchStarted = performance.now();
    const slow = Array.from({ length: 200 }, () => t.fetch(`/reports/slow?seconds=${seconds}`).then((res) => res.status));
    let allDone = false;
    const finished = Promise.all(slow).finally(() => (allDone = true));
    const health: { status: number; ms: number; waiting: number }[] = [];
    while (!allDone) {
      const started = performance.now();
      const res = await t.fetch("/health");
      const body = (await res.json()) as { queries: { waiting: number } };
      health.push({ status: res.status, ms: performance.now() - started, waiting: body.queries.waiting });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await finished).toEqual(Array(200).fill(200));
    expect(performance.now() - batchStarted).toBeGreaterThan(5000);
    expect(health.length).toBeGreaterThan(0);
    expect(health.filter((h) => h.status !== 200)).toEqual([]);
    // Generous for a loaded 2-core machine, and half of what a stalled server would take.
    expect(Math.max(...health.map((h) => h.ms))).toBeLessThan(3000);
    // And the reports really were waiting on the database while /health answered.
    expect(Math.max(...health.map((h) => h.waiting))).toBeGreaterThan(0);
  });

  it("with the app's default settings, 100 one-second reports at once all answer 200", async () => {
    const db = database.reopen(); // the default pool
    await db.ready;
    const app = await startApp({ db });
    try {
      const statuses = await Promise.all(Array.from({ length: 100 }, () => app.fetch("/reports/slow?seconds=1").then((res) => res.status)));
      expect(statuses).toEqual(Array(100).fill(200));
    } finally {
      await app.close();
    }
  });

  it("a query that waits longer than the acquire timeout for a connection is a 503 with Retry-After, not a 504", async () => {
    const db = database.reopen(1, { acquireTimeout: 200 });
    await db.ready;
    const app = await startApp({ db });
    try {
      const holding = app.fetch("/reports/slow?seconds=2");
      await waitForCounts(app, (q) => q.running === 1);
      const busy = await expectRefused("503 GET /orders", () => app.fetch("/orders?limit=1"));
      expect(busy.status).toBe(503);
      expect(busy.headers.get("Retry-After")).toBe("1");
      expect(await busy.json()).toEqual({ error: { status: 503, message: "the database is busy: no connection came free in 200 ms (all 1 are in use)" } });
      expect((await holding).status).toBe(200);
      expect((await app.fetch("/orders?limit=1")).status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it("refuses a bad number of seconds, or more than 30, with a 400", async () => {
    for (const seconds of ["lots", "30.5", "60"]) {
      const res = await expectRefused(`400 GET /reports/slow?seconds=${seconds}`, () => t.fetch(`/reports/slow?seconds=${seconds}`));
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as { error: { message: string; issues: { location: string }[] } };
      expect(error.message).toBe("Invalid request");
      expect(error.issues.map((issue) => issue.location)).toEqual(["query.seconds"]);
    }
  });

  it("runs slowQueries' number at once, lets its line wait, and answers 503 with Retry-After beyond", async () => {
    const app = await startApp({ db: database.db, slowQueries: new Turns("slow reports", { running: 1, waiting: 1, waitMs: 20_000 }) });
    try {
      const first = app.fetch("/reports/slow?seconds=3");
      await waitForHealth(app, (h) => h.turns.slowReports.running === 1);
      const second = app.fetch("/reports/slow?seconds=0");
      await waitForHealth(app, (h) => h.turns.slowReports.waiting === 1);
      const third = await expectRefused("503 GET /reports/slow", () => app.fetch("/reports/slow?seconds=0"));
      expect(third.status).toBe(503);
      expect(third.headers.get("Retry-After")).toBe("20");
      expect(await third.json()).toEqual({ error: { status: 503, message: "too many slow reports at once; the line of 1 waiting for a turn is full" } });
      // Everyday queries are not in that line.
      expect((await app.fetch("/orders?limit=1")).status).toBe(200);
      expect((await first).status).toBe(200);
      expect((await second).status).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe("GET /reports/top-customers", () => {
  it("lists the customers with the most revenue", async () => {
    const res = await t.fetch("/reports/top-customers?seconds=0&limit=3");
    expect(res.status).toBe(200);
    const { customers } = (await res.json()) as { customers: { customer: string; orders: number; revenueCents: number; p90Cents: number }[] };
    expect(customers).toHaveLength(3);
    expect(customers[0]!.revenueCents).toBeGreaterThanOrEqual(customers[1]!.revenueCents);
    expect(customers[0]).toMatchObject({ orders: 40, customer: expect.stringMatching(/^customer-\d{3}$/) });
  });

  it("answers 503 with Retry-After when a heavy report waits too long for a slot", async () => {
    const app = await startApp({ db: database.db, heavyQueries: new Turns("heavy reports", { running: 1, waiting: 10, waitMs: 200 }) });
    try {
      const first = app.fetch("/reports/top-customers?seconds=2");
      await waitForCounts(app, (q) => q.running + q.waiting > 0);
      const second = await expectRefused("503 GET /reports/top-customers", () => app.fetch("/reports/top-customers?seconds=0"));
      expect(second.status).toBe(503);
      expect(second.headers.get("Retry-After")).toBe("1");
      expect(await second.json()).toEqual({ error: { status: 503, message: "too many heavy reports at once; waited 200 ms for a turn" } });
      expect((await first).status).toBe(200);
      // Once the slot is free again, the next one gets it.
      expect((await app.fetch("/reports/top-customers?seconds=0")).status).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe("GET /reports/order-stats", () => {
  it("computes the statistics in a worker thread while /health still answers", async () => {
    const stats = t.fetch("/reports/order-stats?resamples=3000");
    const health = await t.fetch("/health");
    expect(health.status).toBe(200);
    const res = await stats;
    expect(res.status).toBe(200);
    const body = (await res.json()) as { count: number; meanCents: number; p50Cents: number; p99Cents: number; meanConfidence95: [number, number] };
    const [exact] = await database.db.query<{ mean: number }>("SELECT round(avg(amount_cents))::float8 AS mean FROM orders");
    expect(body.count).toBeGreaterThanOrEqual(10_000);
    expect(body.meanCents).toBe(exact!.mean);
    expect(body.p50Cents).toBeLessThan(body.p99Cents);
    const [low, high] = body.meanConfidence95;
    expect(low).toBeLessThanOrEqual(body.meanCents);
    expect(high).toBeGreaterThanOrEqual(body.meanCents);
  });

  it("answers 503 with Retry-After when executorJobs' line is full, instead of queueing on the worker threads", async () => {
    const app = await startApp({ db: database.db, executorJobs: new Turns("statistics jobs", { running: 1, waiting: 0, waitMs: 1000 }) });
    try {
      const first = app.fetch("/reports/order-stats?resamples=20000");
      await waitForHealth(app, (h) => h.turns.executorJobs.running === 1);
      const second = await expectRefused("503 GET /reports/order-stats", () => app.fetch("/reports/order-stats?resamples=1"));
      expect(second.status).toBe(503);
      expect(second.headers.get("Retry-After")).toBe("1");
      expect(await second.json()).toEqual({ error: { status: 503, message: "too many statistics jobs at once; the line of 0 waiting for a turn is full" } });
      expect((await first).status).toBe(200);
      expect((await app.fetch("/reports/order-stats?resamples=1")).status).toBe(200);
    } finally {
      await app.close();
    }
  });
});

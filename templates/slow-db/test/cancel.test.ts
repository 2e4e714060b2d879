import { afterAll, beforeAll, expect, it } from "vitest";
import { interceptLogs, type LogRecord } from "tornado/log";
import { expectLog, type TestServer } from "tornado/testing";
import type { Database } from "../src/db/database.js";
import { expectRefused, openTestDatabase, startApp, waitForCounts, type TestDatabase } from "./support.js";

// One query at a time (a pool of one connection): if a cancelled statement went on running, the
// next query would wait for it.
let database: TestDatabase;
let db: Database;
beforeAll(async () => {
  database = await openTestDatabase();
  db = database.reopen(1);
  await db.ready; // until then the app would answer 503 "starting"
});
afterAll(async () => {
  await database?.close();
});

let t: TestServer;
async function timed(path: string): Promise<{ status: number; body: unknown; ms: number }> {
  const started = performance.now();
  const res = await t.fetch(path);
  return { status: res.status, body: await res.json(), ms: performance.now() - started };
}

it("a query past the timeout is a 504, and the database stops it", async () => {
  const strict = await startApp({ db, queryTimeoutMs: 500 });
  t = await startApp({ db, queryTimeoutMs: 60_000 });
  try {
    const before = (await waitForCounts(t, () => true)).cancelled;
    // A handled timeout is the 504's warning and access line, and nothing on tornado.application
    // (no "Exception in promise after timeout" with a stack for the statement we cancelled).
    const appErrors: LogRecord[] = [];
    const stopWatching = interceptLogs((record) => {
      if (record.logger === "tornado.application") appErrors.push(record);
      return false;
    });
    const started = performance.now();
    const slow = await expectRefused("504 GET /reports/slow", () => strict.fetch("/reports/slow?seconds=30"));
    expect(slow.status).toBe(504);
    expect(await slow.json()).toEqual({ error: { status: 504, message: "the query took longer than 500 ms and was cancelled" } });
    expect(performance.now() - started).toBeLessThan(5000);
    // The 30-second statement is gone: the next query runs without waiting for it.
    const next = await timed("/reports/slow?seconds=0");
    expect(next.status).toBe(200);
    expect(next.ms).toBeLessThan(15_000);
    expect(await waitForCounts(t, (q) => q.running === 0)).toMatchObject({ cancelled: before + 1, waiting: 0 });
    stopWatching();
    expect(appErrors.map((r) => r.message)).toEqual([]);
  } finally {
    await Promise.all([strict.close(), t.close()]);
  }
});

it("a client that disconnects stops its query", async () => {
  t = await startApp({ db, queryTimeoutMs: 60_000 });
  try {
    const before = (await waitForCounts(t, () => true)).cancelled;
    const leaving = new AbortController();
    const request = t.fetch("/reports/slow?seconds=30", { signal: leaving.signal }).catch((error: Error) => error);
    await waitForCounts(t, (q) => q.running === 1);
    // The access log says 499 (nginx's "client closed request"), a warning.
    const next = await expectLog("tornado.access", "499 GET /reports/slow", async () => {
      leaving.abort();
      expect(await request).toMatchObject({ name: "AbortError" });
      await waitForCounts(t, (q) => q.cancelled === before + 1 && q.running === 0);
      return timed("/reports/slow?seconds=0");
    });
    expect(next.status).toBe(200);
    expect(next.ms).toBeLessThan(15_000);
  } finally {
    await t.close();
  }
});

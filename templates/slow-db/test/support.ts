/**
 * What the tests share: a database of their own, and the app on a real port. The database is
 * PostgreSQL when TEST_DATABASE_URL (or DATABASE_URL) is set, otherwise the embedded PostgreSQL
 * that test/global-setup.ts started; either way in a schema of its own that is dropped
 * afterwards (so test files and runs can share a server).
 */

import { randomUUID } from "node:crypto";
import { inject } from "vitest";
import { createTestServer, expectLog, type TestServer } from "tornado/testing";
import { makeApp, serverOptions, type AppSettings } from "../src/app.js";
import type { DatabaseOptions } from "tornado/db";
import { openAppDatabase, type Database, type QueryCounts } from "../src/db/database.js";

/** The PostgreSQL the tests use, if any. */
export const postgresUrl = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || undefined;

/** A database for one test file, and how to throw it away. */
export interface TestDatabase {
  db: Database;
  /** Opens another handle on the same data, with a pool of `poolSize` (default: the app's default) and other `options`. */
  reopen(poolSize?: number, options?: DatabaseOptions): Database;
  /** Opens another handle on the same data that stays "starting" until `until` resolves. */
  starting(until: Promise<void>): Database;
  close(): Promise<void>;
}

/**
 * Opens an empty database with the app's schema (and its 10,000 orders), in a schema of its own.
 *
 * @example
 * const { db, close } = await openTestDatabase();
 */
export async function openTestDatabase({ poolSize = 10 } = {}): Promise<TestDatabase> {
  const schema = `test_${randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const where = postgresUrl ? { url: postgresUrl } : { dir: inject("embeddedDir") };
  const handles: Database[] = [];
  const reopen = (size?: number, options: DatabaseOptions = {}) => {
    const db = openAppDatabase({ ...where, schema, ...(size ? { poolSize: size } : {}), ...options });
    handles.push(db);
    return db;
  };
  const db = reopen(poolSize);
  await db.ready;
  return {
    db,
    reopen,
    starting: (until) => {
      const db = openAppDatabase({ ...where, schema, poolSize, setup: () => until });
      handles.push(db);
      return db;
    },
    async close() {
      await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await Promise.all(handles.map((handle) => handle.close()));
    },
  };
}

/**
 * The app on a free port of 127.0.0.1, with `db` and any other settings.
 *
 * @example
 * const t = await startApp({ db, queryTimeoutMs: 500 });
 */
export function startApp(settings: AppSettings & { db: Database }): Promise<TestServer> {
  return createTestServer(makeApp(settings), serverOptions);
}

/** What GET /health answers. */
export interface Health {
  status: string;
  queries: QueryCounts;
  turns: Record<"slowReports" | "heavyReports" | "executorJobs", { running: number; waiting: number }>;
}

/** GET /health's `queries`. */
export async function queryCounts(t: TestServer): Promise<QueryCounts> {
  return (await health(t)).queries;
}

/** GET /health's answer. */
export async function health(t: TestServer): Promise<Health> {
  return (await (await t.fetch("/health")).json()) as Health;
}

/**
 * Polls `/health` until `accept` says yes; rejects after `timeout` ms with the last answer.
 *
 * @example
 * await waitForHealth(t, (h) => h.turns.slowReports.running === 1);
 */
export async function waitForHealth(t: TestServer, accept: (health: Health) => boolean, timeout = 20_000): Promise<Health> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const answer = await health(t);
    if (accept(answer)) return answer;
    if (Date.now() > deadline) throw new Error(`/health never showed what was expected; last: ${JSON.stringify(answer)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Runs `fn`, which makes a request the app refuses (a 4xx or 5xx), and checks the two lines the
 * runtime logs for it: the reason on `tornado.general` and the access line on `tornado.access`
 * (both start with `line`, e.g. "404 GET /nope"). They are kept off the test output: a warning
 * printed while the tests pass would be one nobody reads.
 *
 * @example
 * const res = await expectRefused("404 GET /nope", () => t.fetch("/nope"));
 */
export function expectRefused<T>(line: string, fn: () => Promise<T>): Promise<T> {
  return expectLog("tornado.access", line, () => expectLog("tornado.general", line, fn));
}

/**
 * Polls `/health` until `accept` says yes; rejects after `timeout` ms with the last counts.
 *
 * @example
 * await waitForCounts(t, (q) => q.running === 1);
 */
export async function waitForCounts(t: TestServer, accept: (counts: QueryCounts) => boolean, timeout = 20_000): Promise<QueryCounts> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const counts = await queryCounts(t);
    if (accept(counts)) return counts;
    if (Date.now() > deadline) throw new Error(`/health never showed the expected queries; last: ${JSON.stringify(counts)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

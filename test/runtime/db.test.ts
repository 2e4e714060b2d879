import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DatabaseBusyError, DatabaseUnavailableError, QueryCancelledError, QueryTimeoutError, openDatabase, type Database } from "../../runtime/db.js";
import { POSTGRES_URL, requireService } from "../helpers/services.js";

const url = new URL(POSTGRES_URL);
const postgres = await requireService("PostgreSQL", url.hostname, Number(url.port || 5432));

// A schema of this file's own on the shared server, dropped afterwards.
const schema = `h16_db_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
const opened: Database[] = [];
function open(options: Parameters<typeof openDatabase>[0] = {}): Database {
  const db = openDatabase({ url: POSTGRES_URL, schema, ...options });
  opened.push(db);
  return db;
}

async function sleeping(admin: Database, tag: string): Promise<number> {
  const [row] = await admin.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()", [`%${tag}%`]);
  return row!.n;
}

describe.skipIf(!postgres)("tornado/db on PostgreSQL (DATABASE_URL)", () => {
  let admin: Database;
  beforeAll(async () => {
    admin = open({ poolSize: 2 });
    await admin.ready;
    await admin.query("CREATE TABLE marks (tag text NOT NULL)");
  });
  afterAll(async () => {
    await Promise.all(opened.map((db) => db.close()));
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  });

  it("is ready, says what it is (without a password), and runs statements with parameters in its schema", async () => {
    expect(admin.kind).toBe("postgres");
    expect(admin.status).toBe("ready");
    expect(admin.description).toContain(`schema ${schema}`);
    expect(admin.description).toContain("pool of 2");
    expect(await admin.connectionString()).toBe(POSTGRES_URL);
    const rows = await admin.query<{ sum: number; path: string }>("SELECT ($1::int + $2::int) AS sum, current_schema() AS path", [2, 3]);
    expect(rows).toEqual([{ sum: 5, path: schema }]);
  });

  it("a query that waits longer than acquireTimeout for a connection is DatabaseBusyError, and never runs", async () => {
    const db = open({ poolSize: 1, acquireTimeout: 300 });
    const holding = db.query("SELECT pg_sleep(1.5)");
    await expect(db.query("INSERT INTO marks VALUES ('never')")).rejects.toSatisfy((error: unknown) => {
      expect(error).toBeInstanceOf(DatabaseBusyError);
      expect(error).toMatchObject({ code: "ERR_DATABASE_BUSY", retryAfterSeconds: 1, message: "the database is busy: no connection came free in 300 ms (all 1 are in use)" });
      return true;
    });
    await holding;
    await db.query("SELECT 1"); // the connection that came back late went to the pool, unused
    expect(await admin.query("SELECT * FROM marks WHERE tag = 'never'")).toEqual([]);
    expect(db.counts()).toEqual({ running: 0, waiting: 0, cancelled: 0 });
  });

  it("statementTimeout counts only the statement's own time, not the wait for a connection", async () => {
    const db = open({ poolSize: 1, statementTimeout: 700, acquireTimeout: 5000 });
    const first = db.query("SELECT pg_sleep(0.5)");
    const second = db.query<{ ok: number }>("SELECT 1 AS ok FROM pg_sleep(0.5)"); // waits 0.5 s, runs 0.5 s: under 0.7 s of its own
    expect(await Promise.all([first, second])).toEqual([[{ pg_sleep: "" }], [{ ok: 1 }]]);
    await expect(db.query("SELECT pg_sleep(3)")).rejects.toSatisfy((error: unknown) => {
      expect(error).toBeInstanceOf(QueryTimeoutError);
      expect(error).toMatchObject({ code: "ERR_QUERY_TIMEOUT", timeoutMs: 700 });
      return true;
    });
    expect(await db.query<{ ok: number }>("SELECT 1 AS ok")).toEqual([{ ok: 1 }]);
  });

  it("aborting a running query's signal stops it in the database; a queued one never starts", async () => {
    const db = open({ poolSize: 1 });
    const tag = `h16cancel${Date.now()}`;
    const stop = new AbortController();
    const running = db.query(`SELECT pg_sleep(30) /* ${tag} */`, [], { signal: stop.signal });
    const queued = db.query(`INSERT INTO marks VALUES ('${tag}')`, [], { signal: stop.signal }).catch((error: unknown) => error);
    await expect.poll(() => sleeping(admin, tag)).toBe(1);
    expect(db.counts()).toEqual({ running: 1, waiting: 1, cancelled: 0 });
    stop.abort(new Error("the client went away"));
    await expect(running).rejects.toBeInstanceOf(QueryCancelledError);
    expect(await queued).toMatchObject({ name: "QueryCancelledError", message: "the query was cancelled: the client went away" });
    expect(await sleeping(admin, tag)).toBe(0);
    expect(await admin.query("SELECT * FROM marks WHERE tag = $1", [tag])).toEqual([]);
    expect(db.counts()).toEqual({ running: 0, waiting: 0, cancelled: 2 });
    // The connection is clean for the next query.
    expect(await db.query<{ ok: number }>("SELECT 1 AS ok")).toEqual([{ ok: 1 }]);
  });

  it("transaction() commits what its work did, and rolls it all back when the work throws", async () => {
    await admin.transaction(async (tx) => {
      await tx.query("INSERT INTO marks VALUES ('kept-1')");
      await tx.query("INSERT INTO marks VALUES ('kept-2')");
    });
    await expect(
      admin.transaction(async (tx) => {
        await tx.query("INSERT INTO marks VALUES ('lost')");
        throw new Error("changed my mind");
      }),
    ).rejects.toThrow("changed my mind");
    expect(await admin.query("SELECT tag FROM marks WHERE tag LIKE 'kept%' OR tag = 'lost' ORDER BY tag")).toEqual([{ tag: "kept-1" }, { tag: "kept-2" }]);
  });

  it("runs setup before ready, and a server that cannot be reached fails ready with DatabaseUnavailableError", async () => {
    const seen: string[] = [];
    const db = open({ setup: async (q) => void seen.push(...(await q.query<{ s: string }>("SELECT current_schema() AS s")).map((r) => r.s)) });
    await db.ready;
    expect(seen).toEqual([schema]);
    const nowhere = openDatabase({ url: "postgres://postgres@127.0.0.1:1/test" });
    expect(nowhere.status).toBe("starting");
    await expect(nowhere.ready).rejects.toBeInstanceOf(DatabaseUnavailableError);
    expect(nowhere.status).toBe("failed");
    await expect(nowhere.query("SELECT 1")).rejects.toThrow(/cannot prepare the database at postgres:\/\/postgres@127.0.0.1:1\/test|cannot open|ECONNREFUSED/);
    await nowhere.close();
  });

  it("refuses a bad pool size from the environment in one sentence", () => {
    process.env.DATABASE_POOL_SIZE = "lots";
    try {
      expect(() => openDatabase({ url: POSTGRES_URL })).toThrow('DATABASE_POOL_SIZE must be a positive whole number, not "lots"');
    } finally {
      delete process.env.DATABASE_POOL_SIZE;
    }
  });
});

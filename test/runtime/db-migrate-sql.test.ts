/**
 * The SQL migrations runner of a production install (runtime/db/migrate-sql.ts, which `migrate`
 * uses when node-pg-migrate is not installed), against the real PostgreSQL, next to
 * node-pg-migrate itself: each sees what the other applied. Each test works in a schema of its
 * own, dropped afterwards.
 */

import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { migrate, migrationStatus } from "../../runtime/db.js";
import { lineAt } from "../../runtime/db/migrate.js";
import { applyPendingSql, migrationFiles, upSection } from "../../runtime/db/migrate-sql.js";
import { tempDir } from "../helpers/cli.js";
import { POSTGRES_URL, requireService } from "../helpers/services.js";

const pgUrl = new URL(POSTGRES_URL);
const postgres = await requireService("PostgreSQL", pgUrl.hostname, Number(pgUrl.port || 5432));

let dir: string;
let remove: () => void;
let schema: string;
let client: pg.Client;

const migrations = () => join(dir, "migrations");
const write = (name: string, text: string) => writeFileSync(join(migrations(), name), text);
const tables = async () =>
  (await client.query<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1", [schema])).rows.map((r) => r.name);
const recorded = async () => (await client.query<{ name: string }>(`SELECT name FROM "${schema}".pgmigrations ORDER BY id`)).rows.map((r) => r.name);

/** Runs the SQL runner on its own connection, as `migrate` does; failures as `file:line: message`. */
async function applySql(count = Number.POSITIVE_INFINITY): Promise<{ ran: string[]; lines: string[] }> {
  const lines: string[] = [];
  const own = new pg.Client({ connectionString: POSTGRES_URL });
  await own.connect();
  try {
    const ran = await applyPendingSql(own, {
      dir: migrations(),
      schema,
      table: "pgmigrations",
      count,
      log: (line) => lines.push(line),
      refuse: (message, file) => new Error(file === null ? message : `${file.slice(dir.length + 1)} ${message}`),
      onFailure: (error, file, sql, linesBefore) => new Error(`${file.slice(dir.length + 1)}:${linesBefore + lineAt(sql, Number((error as { position: string }).position))}: ${(error as Error).message}`),
    });
    return { ran, lines };
  } finally {
    await own.end();
  }
}

const CUSTOMERS = "-- Up Migration\nCREATE TABLE customers (id bigserial PRIMARY KEY, name text NOT NULL);\n\n-- Down Migration\nDROP TABLE customers;\n";
const ORDERS = "-- Up Migration\nCREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers (id));\n-- Down Migration\nDROP TABLE orders;\n";

describe("the order and the sections node-pg-migrate uses", () => {
  it("sorts by the number a name starts with, then by name, and skips dot files", async () => {
    ({ dir, remove } = tempDir("migrate-sql"));
    mkdirSync(migrations());
    for (const name of ["20261207090100000_b.sql", "9_old.sql", "20261207090000000_a.sql", ".keep", "20261207090000000_0.sql"]) write(name, "");
    expect(await migrationFiles(migrations())).toEqual(["9_old.sql", "20261207090000000_0.sql", "20261207090000000_a.sql", "20261207090100000_b.sql"]);
    remove();
  });

  it("cuts the Up section from its marker to the Down marker, or takes the whole file without one", () => {
    // node-pg-migrate's marker pattern starts at the blank lines before the marker.
    expect(upSection("-- a comment\n\n-- Up Migration\nCREATE TABLE t ();\n-- Down Migration\nDROP TABLE t;\n")).toEqual({ sql: "\n-- Up Migration\nCREATE TABLE t ();\n", linesBefore: 1 });
    expect(upSection("-- Down Migration\nDROP TABLE t;\n-- up migration\nCREATE TABLE t ();\n")).toEqual({ sql: "-- up migration\nCREATE TABLE t ();\n", linesBefore: 2 });
    expect(upSection("CREATE TABLE t ();\n")).toEqual({ sql: "CREATE TABLE t ();\n", linesBefore: 0 });
  });
});

describe.skipIf(!postgres)("applying SQL migrations without node-pg-migrate, on PostgreSQL", () => {
  beforeEach(async () => {
    ({ dir, remove } = tempDir("migrate-sql"));
    mkdirSync(migrations());
    schema = `h17s_${randomBytes(6).toString("hex")}`;
    client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
  });
  afterEach(async () => {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
    remove();
  });

  it("applies the pending ones in order, recorded as node-pg-migrate records them: its status and rollback see them, and it sees theirs", async () => {
    write("20261207090000000_create_customers.sql", CUSTOMERS);
    write("20261207090100000_create_orders.sql", ORDERS);
    expect(await applySql(1)).toEqual({ ran: ["20261207090000000_create_customers"], lines: ["Applying 20261207090000000_create_customers"] });
    expect(await applySql()).toEqual({ ran: ["20261207090100000_create_orders"], lines: ["Applying 20261207090100000_create_orders"] });
    expect(await tables()).toEqual(["customers", "orders", "pgmigrations"]);
    expect(await recorded()).toEqual(["20261207090000000_create_customers", "20261207090100000_create_orders"]);
    expect((await applySql()).ran).toEqual([]);

    // node-pg-migrate (through migrate, as `tornado db` runs it) finds them applied, and rolls one back.
    const target = { url: POSTGRES_URL, schema, dir: migrations() };
    expect((await migrationStatus(target)).map((m) => [m.name, m.applied])).toEqual([
      ["20261207090000000_create_customers", true],
      ["20261207090100000_create_orders", true],
    ]);
    expect(await migrate(target)).toEqual([]);
    expect(await migrate({ ...target, direction: "down" })).toEqual(["20261207090100000_create_orders"]);
    expect(await tables()).toEqual(["customers", "pgmigrations"]);

    // And the other way round: a new migration after node-pg-migrate's, then node-pg-migrate again.
    write("20261207090200000_create_notes.sql", "-- Up Migration\nCREATE TABLE notes (id int);\n-- Down Migration\nDROP TABLE notes;\n");
    expect((await applySql()).ran).toEqual(["20261207090100000_create_orders", "20261207090200000_create_notes"]);
    expect(await migrate({ ...target, direction: "down", count: 3 })).toEqual(["20261207090200000_create_notes", "20261207090100000_create_orders", "20261207090000000_create_customers"]);
    expect(await tables()).toEqual(["pgmigrations"]);
  });

  it("a failing migration leaves nothing of itself and keeps the ones before it; its error gives the file's line", async () => {
    write("20261207090000000_create_customers.sql", CUSTOMERS);
    write("20261207090100000_create_orders.sql", "-- Orders, and a mistake.\n\n-- Up Migration\nCREATE TABLE orders (id int);\nINSERT INTO orders VALUES (1);\nINSERT INTO nowhere VALUES (1);\n-- Down Migration\nDROP TABLE orders;\n");
    write("20261207090200000_later.sql", "-- Up Migration\nCREATE TABLE later (id int);\n");
    await expect(applySql()).rejects.toThrow('migrations/20261207090100000_create_orders.sql:6: relation "nowhere" does not exist');
    expect(await tables()).toEqual(["customers", "pgmigrations"]);
    expect(await recorded()).toEqual(["20261207090000000_create_customers"]);
  });

  it("refuses a migration older than one applied, and a migration that is not SQL, applying nothing", async () => {
    write("20261207090100000_create_customers.sql", CUSTOMERS);
    await applySql();
    write("20261207090000000_early.sql", "CREATE TABLE early (id int);\n");
    await expect(applySql()).rejects.toThrow("20261207090000000_early is older than 20261207090100000_create_customers, which is already applied: give it a newer timestamp (rename the file) so that migrations apply in order.");
    rmSync(join(migrations(), "20261207090000000_early.sql"));
    write("20261207090200000_orders.js", "export const up = () => {};\n");
    await expect(applySql()).rejects.toThrow("migrations/20261207090200000_orders.js is not a .sql migration: running it needs node-pg-migrate (npm install node-pg-migrate)");
    expect(await tables()).toEqual(["customers", "pgmigrations"]);
  });
});

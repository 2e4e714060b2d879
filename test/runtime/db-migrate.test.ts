/**
 * `migrate`, `migrationStatus` and `seed` from `tornado/db`, against the real PostgreSQL: each
 * test works in a schema of its own, dropped afterwards.
 */

import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkMigrations, migrate, MigrationError, migrationStatus, openDatabase, seed } from "../../runtime/db.js";
import { lineAt, migrationLockKey } from "../../runtime/db/migrate.js";
import { tempDir } from "../helpers/cli.js";
import { POSTGRES_URL, requireService } from "../helpers/services.js";

const pgUrl = new URL(POSTGRES_URL);
const postgres = await requireService("PostgreSQL", pgUrl.hostname, Number(pgUrl.port || 5432));

let dir: string;
let remove: () => void;
let schema: string;
let client: pg.Client;

const write = (name: string, text: string) => writeFileSync(join(dir, "migrations", `${name}.sql`), text);
const tables = async () =>
  (await client.query<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1", [schema])).rows.map((r) => r.name);
const recorded = async () => (await client.query<{ name: string }>(`SELECT name FROM "${schema}".pgmigrations ORDER BY id`)).rows.map((r) => r.name);
const target = () => ({ url: POSTGRES_URL, schema, dir: join(dir, "migrations") });

describe("lineAt", () => {
  it("counts lines up to PostgreSQL's 1-based character position, a character beyond the BMP counting once", () => {
    expect(lineAt("SELECT 1;\nSELEC 2;", 1)).toBe(1);
    expect(lineAt("SELECT 1;\nSELEC 2;", 10)).toBe(1); // the newline itself
    expect(lineAt("SELECT 1;\nSELEC 2;", 11)).toBe(2);
    expect(lineAt("'😀😀'\nX", 5)).toBe(1);
    expect(lineAt("'😀😀'\nX", 6)).toBe(2);
  });
});

describe.skipIf(!postgres)("migrations on PostgreSQL", () => {
  beforeEach(async () => {
    ({ dir, remove } = tempDir("migrate"));
    mkdirSync(join(dir, "migrations"));
    schema = `h16m_${randomBytes(6).toString("hex")}`;
    client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
  });
  afterEach(async () => {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
    remove();
  });

  it("applies each migration up, then rolls each back down, newest first, and applies them again", async () => {
    write("20261207090000000_create_customers", "-- Up Migration\nCREATE TABLE customers (id bigserial PRIMARY KEY, name text NOT NULL);\n\n-- Down Migration\nDROP TABLE customers;\n");
    write(
      "20261207090100000_create_orders",
      "-- Up Migration\nCREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers (id));\nCREATE INDEX orders_customer_id ON orders (customer_id);\n-- Down Migration\nDROP TABLE orders;\n",
    );
    const lines: string[] = [];
    expect(await migrate({ ...target(), log: (line) => lines.push(line) })).toEqual(["20261207090000000_create_customers", "20261207090100000_create_orders"]);
    expect(lines).toEqual(["Applying 20261207090000000_create_customers", "Applying 20261207090100000_create_orders"]);
    expect(await tables()).toEqual(["customers", "orders", "pgmigrations"]);
    expect(await recorded()).toEqual(["20261207090000000_create_customers", "20261207090100000_create_orders"]);
    const status = await migrationStatus(target());
    expect(status.map((s) => [s.name, s.applied, s.file?.endsWith(`migrations/${s.name}.sql`)])).toEqual([
      ["20261207090000000_create_customers", true, true],
      ["20261207090100000_create_orders", true, true],
    ]);
    expect(status.every((s) => s.appliedAt instanceof Date)).toBe(true);
    // Nothing pending: a second run does nothing.
    expect(await migrate(target())).toEqual([]);

    lines.length = 0;
    expect(await migrate({ ...target(), direction: "down", log: (line) => lines.push(line) })).toEqual(["20261207090100000_create_orders"]);
    expect(lines).toEqual(["Rolling back 20261207090100000_create_orders"]);
    expect(await tables()).toEqual(["customers", "pgmigrations"]);
    expect((await migrationStatus(target())).map((s) => s.applied)).toEqual([true, false]);
    expect(await migrate({ ...target(), direction: "down" })).toEqual(["20261207090000000_create_customers"]);
    expect(await tables()).toEqual(["pgmigrations"]);
    expect(await migrate({ ...target(), direction: "down" })).toEqual([]);

    expect(await migrate({ ...target(), count: 1 })).toEqual(["20261207090000000_create_customers"]);
    expect(await migrate(target())).toEqual(["20261207090100000_create_orders"]);
    expect(await migrate({ ...target(), direction: "down", count: 5 })).toEqual(["20261207090100000_create_orders", "20261207090000000_create_customers"]);
    expect(await tables()).toEqual(["pgmigrations"]);
  });

  it("a failing migration leaves nothing of itself, keeps the ones before it, and names its file and line", async () => {
    write("20261207090000000_create_customers", "-- Up Migration\nCREATE TABLE customers (id int);\n-- Down Migration\nDROP TABLE customers;\n");
    // The Up section starts on line 3; the error is at line 7, after a line of characters beyond the BMP.
    write(
      "20261207090100000_create_orders",
      "-- Orders, and a mistake.\n\n-- Up Migration\nCREATE TABLE orders (id int, note text DEFAULT '😀😀 é');\nINSERT INTO orders VALUES (1);\n-- 😀 a comment\nINSERT INTO nowhere VALUES (1);\n-- Down Migration\nDROP TABLE orders;\n",
    );
    write("20261207090200000_later", "-- Up Migration\nCREATE TABLE later (id int);\n-- Down Migration\nDROP TABLE later;\n");
    const error = await migrate(target()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    const failed = error as MigrationError;
    expect(failed.file).toMatch(/migrations\/20261207090100000_create_orders\.sql$/);
    expect(failed.line).toBe(7);
    expect(failed.message).toBe(`${failed.file}:7: relation "nowhere" does not exist — rolled back: nothing of this migration was applied.`);
    expect(await tables()).toEqual(["customers", "pgmigrations"]);
    expect(await recorded()).toEqual(["20261207090000000_create_customers"]);

    // A syntax error: PostgreSQL's position is where the parser stopped.
    write("20261207090100000_create_orders", "-- Up Migration\nCREATE TABLE orders (id int);\n\nCREAT INDEX ON orders (id);\n-- Down Migration\nDROP TABLE orders;\n");
    const syntax = (await migrate(target()).catch((e: unknown) => e)) as MigrationError;
    expect(syntax.line).toBe(4);
    expect(syntax.message).toContain(`create_orders.sql:4: syntax error at or near "CREAT"`);
    expect(await tables()).toEqual(["customers", "pgmigrations"]);

    // Fixed, it applies, and so does the one after it.
    write("20261207090100000_create_orders", "-- Up Migration\nCREATE TABLE orders (id int);\n-- Down Migration\nDROP TABLE orderz;\n");
    expect(await migrate(target())).toEqual(["20261207090100000_create_orders", "20261207090200000_later"]);
    await migrate({ ...target(), direction: "down" });
    // A failing Down section: the migration stays applied, with its table.
    const down = (await migrate({ ...target(), direction: "down" }).catch((e: unknown) => e)) as MigrationError;
    // DROP TABLE's error comes without a position: the message names the section.
    expect(down.line).toBe(null);
    expect(down.message).toMatch(/create_orders\.sql \(its Down section, from line 3\): table "orderz" does not exist — rolled back: the migration is still applied\.$/);
    expect(await tables()).toEqual(["customers", "orders", "pgmigrations"]);
    expect(await recorded()).toEqual(["20261207090000000_create_customers", "20261207090100000_create_orders"]);
  });

  it("refuses to roll back a migration without a Down section, and a new file older than an applied one", async () => {
    write("20261207090100000_one_way", "-- Up Migration\nCREATE TABLE one_way (id int);\n");
    expect(await migrate(target())).toEqual(["20261207090100000_one_way"]);
    const noDown = (await migrate({ ...target(), direction: "down" }).catch((e: unknown) => e)) as MigrationError;
    expect(noDown.message).toMatch(/migrations\/20261207090100000_one_way\.sql has no "-- Down Migration" section, so it cannot be rolled back\.$/);
    write("20261207090000000_older", "-- Up Migration\nSELECT 1;\n-- Down Migration\nSELECT 1;\n");
    const order = (await migrate(target()).catch((e: unknown) => e)) as MigrationError;
    expect(order.message).toBe(
      "20261207090000000_older is older than 20261207090100000_one_way, which is already applied: give it a newer timestamp (rename the file) so that migrations apply in order.",
    );
    expect(await tables()).toEqual(["one_way", "pgmigrations"]);
  });

  it("status lists pending files and applied migrations whose file is gone, without creating anything", async () => {
    write("20261207090000000_a", "-- Up Migration\nCREATE TABLE a (id int);\n-- Down Migration\nDROP TABLE a;\n");
    expect((await migrationStatus(target())).map((s) => [s.name, s.applied])).toEqual([["20261207090000000_a", false]]);
    expect(await tables()).toEqual([]);
    await migrate(target());
    write("20261207090100000_b", "-- Up Migration\nSELECT 1;\n-- Down Migration\nSELECT 1;\n");
    await migrate(target());
    const { rmSync } = await import("node:fs");
    rmSync(join(dir, "migrations", "20261207090100000_b.sql"));
    expect((await migrationStatus(target())).map((s) => [s.name, s.applied, s.file === null])).toEqual([
      ["20261207090000000_a", true, false],
      ["20261207090100000_b", true, true],
    ]);
    // Rolling it back needs its Down section, which went with the file.
    await expect(migrate({ ...target(), direction: "down" })).rejects.toThrow(/^Cannot roll back 20261207090100000_b: its file is no longer in .*migrations\.$/);
    expect(await recorded()).toEqual(["20261207090000000_a", "20261207090100000_b"]);
  });

  it("seed runs its file in one transaction: a failure keeps nothing of it and names the line", async () => {
    write("20261207090000000_a", "-- Up Migration\nCREATE TABLE a (id int PRIMARY KEY);\n-- Down Migration\nDROP TABLE a;\n");
    await migrate(target());
    const file = join(dir, "seed.sql");
    writeFileSync(file, "INSERT INTO a VALUES (1);\nINSERT INTO a VALUES (2);\nINSERT INTO b VALUES (3);\n");
    const failed = (await seed({ url: POSTGRES_URL, schema, file }).catch((e: unknown) => e)) as MigrationError;
    expect(failed).toBeInstanceOf(MigrationError);
    expect(failed.line).toBe(3);
    expect(failed.message).toMatch(/seed\.sql:3: relation "b" does not exist — rolled back: nothing of the seed was applied\.$/);
    expect((await client.query(`SELECT count(*)::int AS n FROM "${schema}".a`)).rows[0].n).toBe(0);
    writeFileSync(file, "INSERT INTO a VALUES (1), (2) ON CONFLICT DO NOTHING;\n");
    await seed({ url: POSTGRES_URL, schema, file });
    await seed({ url: POSTGRES_URL, schema, file });
    expect((await client.query(`SELECT count(*)::int AS n FROM "${schema}".a`)).rows[0].n).toBe(2);
  });

  it("checkMigrations runs each migration up, down and up, and names a Down section that does not undo its Up section", async () => {
    write("20261207090000000_create_a", "-- Up Migration\nCREATE TYPE mood AS ENUM ('ok', 'sad');\nCREATE TABLE a (id bigserial PRIMARY KEY, m mood NOT NULL DEFAULT 'ok');\n-- Down Migration\nDROP TABLE a;\nDROP TYPE mood;\n");
    write(
      "20261207090100000_add_paid",
      "-- Up Migration\nALTER TABLE a ADD COLUMN paid boolean NOT NULL DEFAULT false;\nCREATE INDEX a_paid ON a (paid);\n-- Down Migration\nALTER TABLE a DROP COLUMN paid;\n",
    );
    expect(await checkMigrations({ ...target() })).toEqual(["20261207090000000_create_a", "20261207090100000_add_paid"]);
    expect((await migrationStatus(target())).map((m) => m.applied)).toEqual([true, true]);
    // Again on a schema with migrations applied: refused, nothing run.
    await expect(checkMigrations(target())).rejects.toThrow(`checkMigrations needs a schema where no migration is applied yet, and ${schema} has 2: give it a schema of its own.`);

    await migrate({ ...target(), direction: "down", count: 2 });
    write("20261207090100000_add_paid", "-- Up Migration\nALTER TABLE a ADD COLUMN paid boolean NOT NULL DEFAULT false;\nCREATE INDEX a_paid ON a (paid);\n-- Down Migration\nDROP INDEX a_paid;\n");
    const error = (await checkMigrations(target()).catch((e: unknown) => e)) as MigrationError;
    expect(error).toBeInstanceOf(MigrationError);
    expect(error.message).toMatch(
      /migrations\/20261207090100000_add_paid\.sql: its Down section does not give back the schema from before its Up section: left behind: column a\.paid boolean NOT NULL DEFAULT false\.$/,
    );
    // A Down section that drops too much.
    await migrate({ ...target(), direction: "down", count: 2 });
    write("20261207090100000_add_paid", "-- Up Migration\nALTER TABLE a ADD COLUMN paid boolean;\n-- Down Migration\nALTER TABLE a DROP COLUMN paid;\nALTER TABLE a ALTER COLUMN m DROP DEFAULT;\n");
    const tooMuch = (await checkMigrations(target()).catch((e: unknown) => e)) as MigrationError;
    expect(tooMuch.message).toMatch(/add_paid\.sql: its Down section does not give back the schema from before its Up section: left behind: column a\.m mood NOT NULL; missing: column a\.m mood NOT NULL DEFAULT 'ok'::mood\.$/);
  });

  it("given a database opened with openDatabase, migrates the schema that database uses", async () => {
    write("20261207090000000_create_a", "-- Up Migration\nCREATE TABLE a (id int);\n-- Down Migration\nDROP TABLE a;\n");
    const db = openDatabase({ url: POSTGRES_URL, schema, poolSize: 2 });
    try {
      expect(await migrate({ database: db, dir: target().dir })).toEqual(["20261207090000000_create_a"]);
      expect(await recorded()).toEqual(["20261207090000000_create_a"]);
      expect(await db.query("SELECT count(*)::int AS n FROM a")).toEqual([{ n: 0 }]);
      expect((await migrationStatus({ database: db, dir: target().dir })).map((m) => m.applied)).toEqual([true]);
    } finally {
      await db.close();
    }
  });

  it("with every migration applied, an app's start does not wait while another process migrates; with one pending, it does", async () => {
    write("20261207090000000_create_a", "-- Up Migration\nCREATE TABLE a (id int);\n-- Down Migration\nDROP TABLE a;\n");
    const db = openDatabase({ url: POSTGRES_URL, schema, poolSize: 2 });
    const lines: string[] = [];
    const log = (line: string) => lines.push(line);
    try {
      expect(await migrate({ database: db, dir: target().dir, log })).toEqual(["20261207090000000_create_a"]);
      // Another process holds the migration lock (as one applying migrations would).
      const key = String(migrationLockKey(schema));
      await client.query("SELECT pg_advisory_lock($1)", [key]);
      lines.length = 0;
      expect(await migrate({ database: db, dir: target().dir, log })).toEqual([]);
      expect(lines).toEqual([]);
      // A new file: this start must wait for the other process, then apply it.
      write("20261207090100000_create_b", "-- Up Migration\nCREATE TABLE b (id int);\n-- Down Migration\nDROP TABLE b;\n");
      const waiting = migrate({ database: db, dir: target().dir, log });
      await expect.poll(() => lines).toEqual(["Another process is migrating this database: waiting for it to finish"]);
      await client.query("SELECT pg_advisory_unlock($1)", [key]);
      expect(await waiting).toEqual(["20261207090100000_create_b"]);
      expect(await recorded()).toEqual(["20261207090000000_create_a", "20261207090100000_create_b"]);
    } finally {
      await db.close();
    }
  });

  it("says what is missing: no database, no folder, a bad count", async () => {
    const saved = process.env.DATABASE_URL;
    delete process.env.DATABASE_URL;
    try {
      await expect(migrate({ dir: target().dir })).rejects.toThrow("No database to migrate: pass database or url, or set DATABASE_URL.");
    } finally {
      if (saved !== undefined) process.env.DATABASE_URL = saved;
    }
    await expect(migrate({ ...target(), dir: join(dir, "nope") })).rejects.toThrow(/^The migrations folder .*nope does not exist\.$/);
    await expect(migrate({ ...target(), count: 0 })).rejects.toThrow("count must be a positive whole number, not 0.");
    await expect(migrate({ ...target(), url: "postgres://postgres@127.0.0.1:1/test" })).rejects.toThrow(/^Cannot connect to the database: .*ECONNREFUSED/);
  });
});

/**
 * `tornado db …` run as real processes in a small app folder, against the real PostgreSQL (a
 * schema of its own per test, dropped afterwards).
 */

import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createMigration, migrationSlug, migrationTimestamp } from "../../src/db/migration-file.js";
import { migrationLockKey } from "../../runtime/db/migrate.js";
import { runBin, tempDir } from "../helpers/cli.js";
import { POSTGRES_URL, requireService } from "../helpers/services.js";

const pgUrl = new URL(POSTGRES_URL);
const postgres = await requireService("PostgreSQL", pgUrl.hostname, Number(pgUrl.port || 5432));

let dir: string;
let remove: () => void;
beforeEach(() => {
  ({ dir, remove } = tempDir("db"));
  writeFileSync(join(dir, "package.json"), '{ "name": "db-app", "type": "module" }\n');
});
afterEach(() => remove());

/** Waits (up to 20 s) for the embedded database's supervisor to stop once its last lease is gone. */
async function supervisorGone(dbDir: string): Promise<void> {
  const info = join(dbDir, "supervisor.json");
  if (!existsSync(info)) return;
  const { pid } = JSON.parse(readFileSync(info, "utf8")) as { pid: number };
  for (let i = 0; i < 200; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the embedded database's supervisor (pid ${pid}) still runs 20 s after the last command`);
}

const migrations = () => (existsSync(join(dir, "migrations")) ? readdirSync(join(dir, "migrations")).sort() : []);

describe("tornado db create", () => {
  it("writes migrations/<UTC timestamp>_<snake name>.sql with both sections, from the app's root", async () => {
    mkdirSync(join(dir, "src"));
    const before = migrationTimestamp(new Date());
    const { code, stdout, stderr } = await runBin("tornado", ["db", "create", "AddPaidToOrders"], join(dir, "src"));
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const [file, ...others] = migrations();
    expect(others).toEqual([]);
    expect(file).toMatch(/^\d{17}_add_paid_to_orders\.sql$/);
    expect(file!.slice(0, 17) >= before).toBe(true);
    expect(stdout).toBe(`Created migrations/${file}: write its -- Up Migration and -- Down Migration SQL, then run npm run db:migrate.\n`);
    const text = readFileSync(join(dir, "migrations", file!), "utf8");
    expect(text.startsWith("-- Up Migration\n")).toBe(true);
    expect(text).toContain("\n-- Down Migration\n");
  });

  it("refuses a bad name in one sentence, and never overwrites a file", async () => {
    const { code, stdout, stderr } = await runBin("tornado", ["db", "create", "drop;table"], dir);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toBe('error: "drop;table" is not a migration name: use letters, digits, - and _, starting with a letter (for example create_orders).\n');
    expect(migrations()).toEqual([]);

    const now = new Date("2026-12-07T09:30:00.123Z");
    expect(createMigration(dir, "create-orders", undefined, now)).toBe("migrations/20261207093000123_create_orders.sql");
    writeFileSync(join(dir, "migrations/20261207093000123_create_orders.sql"), "-- mine\n");
    expect(() => createMigration(dir, "create_orders", undefined, now)).toThrow(
      "migrations/20261207093000123_create_orders.sql already exists; nothing was written. Run the command again for a new timestamp.",
    );
    expect(readFileSync(join(dir, "migrations/20261207093000123_create_orders.sql"), "utf8")).toBe("-- mine\n");
    expect(migrationSlug("add orders--now")).toBe("add_orders_now");
  });
});

describe("the slow-db template", () => {
  it("gives the app db:create, db:migrate, db:rollback, db:status and db:seed scripts, and node-pg-migrate", async () => {
    const { code } = await runBin("create-tornado-app", ["shop", "--template", "slow-db", "--no-install", "--no-git"], dir);
    expect(code).toBe(0);
    const pkg = JSON.parse(readFileSync(join(dir, "shop", "package.json"), "utf8"));
    expect(pkg.scripts).toMatchObject({
      "db:create": "tornado db create",
      "db:migrate": "tornado db migrate",
      "db:rollback": "tornado db rollback",
      "db:status": "tornado db status",
      "db:seed": "tornado db seed",
    });
    expect(pkg.devDependencies["node-pg-migrate"]).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe("tornado db without DATABASE_URL: the app's embedded PostgreSQL", () => {
  it("migrates, shows status, seeds and rolls back in .tornado/db, and leaves no process behind", async () => {
    mkdirSync(join(dir, "migrations"));
    mkdirSync(join(dir, "db"));
    writeFileSync(join(dir, "migrations/20261207090000000_create_notes.sql"), "-- Up Migration\nCREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL);\n-- Down Migration\nDROP TABLE notes;\n");
    writeFileSync(join(dir, "db/seed.sql"), "INSERT INTO notes VALUES (1, 'hello') ON CONFLICT DO NOTHING;\nSELECT 1/0;\n");
    // PostgreSQL refuses root, so under root the embedded one runs as nobody, who must be able to enter the folder.
    chmodSync(dir, 0o755);
    // A short grace: a command may arrive while the previous one's PostgreSQL is stopping, and
    // still gets one.
    const env = { DATABASE_URL: "", DATABASE_SCHEMA: "", EMBEDDED_DB_GRACE_MS: "200" };
    const db = (...args: string[]) => runBin("tornado", ["db", ...args], dir, env);
    const banner = `Database: embedded PostgreSQL (no DATABASE_URL), files in ${join(dir, ".tornado/db")}.\n`;
    try {
      let run = await db("migrate");
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(`${banner}Applying 20261207090000000_create_notes\nApplied 1 migration.\n`);
      run = await db("status");
      expect(run.stdout).toMatch(new RegExp(`^${banner.replace(/[.()/]/g, "\\$&")}applied {2}20261207090000000_create_notes {2}\\S+\\n1 applied, 0 pending\\.\\n$`));
      // The seed's second statement fails: nothing of it stays.
      run = await db("seed");
      expect(run.code).toBe(1);
      expect(run.stderr).toBe("error: db/seed.sql: division by zero — rolled back: nothing of the seed was applied.\n");
      run = await db("rollback");
      expect(run.stdout).toBe(`${banner}Rolling back 20261207090000000_create_notes\nRolled back 1 migration.\n`);
    } finally {
      await supervisorGone(join(dir, ".tornado/db"));
    }
  }, 180_000);
});

describe.skipIf(!postgres)("tornado db on PostgreSQL", () => {
  let schema: string;
  let client: pg.Client;
  let env: NodeJS.ProcessEnv;
  beforeEach(async () => {
    schema = `h16m_${randomBytes(6).toString("hex")}`;
    env = { DATABASE_URL: POSTGRES_URL, DATABASE_SCHEMA: schema };
    client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    mkdirSync(join(dir, "migrations"));
  });
  afterEach(async () => {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  });
  const write = (name: string, text: string) => writeFileSync(join(dir, "migrations", `${name}.sql`), text);
  const db = (...args: string[]) => runBin("tornado", ["db", ...args], dir, env);
  const recorded = async () => (await client.query<{ name: string }>(`SELECT name FROM "${schema}".pgmigrations ORDER BY id`)).rows.map((r) => r.name);

  it("migrate, status, rollback and seed say what they did; DATABASE_URL and DATABASE_SCHEMA may come from .env", async () => {
    write("20261207090000000_create_orders", "-- Up Migration\nCREATE TABLE orders (id int PRIMARY KEY, customer text NOT NULL);\n-- Down Migration\nDROP TABLE orders;\n");
    write("20261207090100000_add_paid", "-- Up Migration\nALTER TABLE orders ADD COLUMN paid boolean NOT NULL DEFAULT false;\n-- Down Migration\nALTER TABLE orders DROP COLUMN paid;\n");
    writeFileSync(join(dir, ".env"), `DATABASE_URL=${POSTGRES_URL}\nDATABASE_SCHEMA=${schema}\n`);
    env = { DATABASE_URL: undefined, DATABASE_SCHEMA: undefined };

    let run = await db("status");
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe("pending  20261207090000000_create_orders\npending  20261207090100000_add_paid\n0 applied, 2 pending.\n");

    run = await db("migrate");
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toBe("Applying 20261207090000000_create_orders\nApplying 20261207090100000_add_paid\nApplied 2 migrations.\n");
    expect((await db("migrate")).stdout).toBe("No pending migrations: the database is up to date.\n");

    run = await db("status");
    expect(run.stdout).toMatch(/^applied {2}20261207090000000_create_orders {2}\d{4}-\d\d-\d\dT[\d:.]+Z\napplied {2}20261207090100000_add_paid {2}.+\n2 applied, 0 pending\.\n$/);
    const json = JSON.parse((await db("status", "--json")).stdout) as { name: string; applied: boolean; file: string }[];
    expect(json.map((m) => [m.name, m.applied, m.file])).toEqual([
      ["20261207090000000_create_orders", true, "migrations/20261207090000000_create_orders.sql"],
      ["20261207090100000_add_paid", true, "migrations/20261207090100000_add_paid.sql"],
    ]);

    mkdirSync(join(dir, "db"));
    writeFileSync(join(dir, "db/seed.sql"), "INSERT INTO orders (id, customer, paid) VALUES (1, 'ada', true) ON CONFLICT DO NOTHING;\n");
    run = await db("seed");
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe("Ran db/seed.sql.\n");
    expect((await client.query(`SELECT customer, paid FROM "${schema}".orders`)).rows).toEqual([{ customer: "ada", paid: true }]);

    run = await db("rollback");
    expect(run.stdout).toBe("Rolling back 20261207090100000_add_paid\nRolled back 1 migration.\n");
    expect(await recorded()).toEqual(["20261207090000000_create_orders"]);
    run = await db("rollback", "--count", "5");
    expect(run.stdout).toBe("Rolling back 20261207090000000_create_orders\nRolled back 1 migration.\n");
    expect((await db("rollback")).stdout).toBe("No applied migrations to roll back.\n");
    expect(await recorded()).toEqual([]);
  });

  it("a failed migration exits 1 with one line naming its file and line, and leaves the schema as it was", async () => {
    write("20261207090000000_create_orders", "-- Up Migration\nCREATE TABLE orders (id int);\n-- Down Migration\nDROP TABLE orders;\n");
    write("20261207090100000_broken", "-- Up Migration\nCREATE TABLE broken (id int);\nALTER TABLE orders\n  ADD COLUMN paid booleen;\n-- Down Migration\nDROP TABLE broken;\n");
    const run = await db("migrate");
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("Applying 20261207090000000_create_orders\nApplying 20261207090100000_broken\n");
    expect(run.stderr).toBe('error: migrations/20261207090100000_broken.sql:4: type "booleen" does not exist — rolled back: nothing of this migration was applied.\n');
    expect(await recorded()).toEqual(["20261207090000000_create_orders"]);
    const tables = await client.query("SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1", [schema]);
    expect(tables.rows.map((r) => r.table_name)).toEqual(["orders", "pgmigrations"]);
  });

  it("two processes migrating at once apply each migration once: one applies, the other waits and finds nothing to do", async () => {
    // The first migration goes on only once another session waits for the advisory lock (and fails
    // after 15 s without one), so the two runs overlap for sure; CREATE TABLE without IF NOT EXISTS
    // would fail if it ran twice.
    const key = migrationLockKey(schema);
    const waitForRival = `DO $$
BEGIN
  FOR i IN 1..150 LOOP
    IF EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND pid <> pg_backend_pid()
               AND classid::bigint = (${key}::bigint >> 32) AND objid::bigint = (${key}::bigint & 4294967295)) THEN RETURN; END IF;
    PERFORM pg_sleep(0.1);
  END LOOP;
  RAISE EXCEPTION 'no other process waited for the migration lock';
END $$;`;
    write("20261207090000000_slow", `-- Up Migration\n${waitForRival}\nCREATE TABLE slow (id int);\n-- Down Migration\nDROP TABLE slow;\n`);
    write("20261207090100000_next", "-- Up Migration\nCREATE TABLE next (id int);\n-- Down Migration\nDROP TABLE next;\n");
    const runs = await Promise.all([db("migrate"), db("migrate")]);
    for (const run of runs) {
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
    }
    const outputs = runs.map((r) => r.stdout).sort();
    expect(outputs).toEqual([
      "Another process is migrating this database: waiting for it to finish\nNo pending migrations: the database is up to date.\n",
      "Applying 20261207090000000_slow\nApplying 20261207090100000_next\nApplied 2 migrations.\n",
    ]);
    expect(await recorded()).toEqual(["20261207090000000_slow", "20261207090100000_next"]);
  });

  it("a bad --count, or an app without migrations, is one sentence", async () => {
    const run = await db("rollback", "--count", "two");
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('error: --count must be a positive whole number, not "two".\n');
    rmSync(join(dir, "migrations"), { recursive: true });
    for (const command of ["migrate", "rollback"]) {
      const none = await db(command);
      expect(none.code).toBe(1);
      expect(none.stdout).toBe("");
      expect(none.stderr).toBe("error: This app has no migrations/ folder yet: create the first migration with npm run db:create -- create_orders.\n");
    }
    expect((await db("status")).stdout).toBe("No migrations yet: create one with npm run db:create -- create_orders.\n");
  });
});

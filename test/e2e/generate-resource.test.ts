/**
 * `tornado generate resource` and `tornado destroy resource` on a freshly created rest app, run
 * as a user runs them (the app's own `node_modules/.bin/tornado`), with the generated migration
 * and repository exercised on the real PostgreSQL in a schema of this file's own.
 */

import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appSnapshot, runCommand, type RunResult } from "../helpers/cli.js";
import { createApp, type CreatedApp } from "../helpers/dev.js";
import { POSTGRES_URL, requireService } from "../helpers/services.js";

const postgres = await requireService("PostgreSQL", new URL(POSTGRES_URL).hostname, Number(new URL(POSTGRES_URL).port || 5432));
const schema = `h16_resource_${process.pid}`;
const FIELDS = ["customer:string", "total:decimal", "paid:boolean", "note:text?", "user:references"];

let created: CreatedApp;
let app: string;
let client: pg.Client;
// The app's files as create-tornado-app wrote them.
let original: Map<string, string>;

beforeAll(async () => {
  created = await createApp("resource");
  app = created.app;
  if (postgres) await setUpDatabase();
  original = snapshot();
  // The rest template keeps its users in the database: the table `user:references` points at.
  expect(original.get("migrations/20261207000000000_create_users.sql")).toContain("CREATE TABLE users (");
}, 300_000);

async function setUpDatabase(): Promise<void> {
  client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  await client.query(`CREATE SCHEMA "${schema}"`);
}
afterAll(async () => {
  if (client !== undefined) {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  }
  created?.remove();
});

const tornado = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> => runCommand(join(app, "node_modules/.bin/tornado"), args, app, env);

const snapshot = () => appSnapshot(app);

const read = (path: string) => readFileSync(join(app, path), "utf8");
const migrationFile = () => readdirSync(join(app, "migrations")).find((f) => f.endsWith("_create_orders.sql"))!;
/** The generated repository's shape, as this test uses it. */
interface Queryable {
  query<Row>(sql: string, params?: unknown[]): Promise<Row[]>;
}
type Order = { id: string; customer: string; total: string; paid: boolean; note: string | null; userId: string; createdAt: string; updatedAt: string };
type OrderFields = { customer: string; total: string; paid: boolean; note?: string | null; userId: string };
interface Repository {
  list(page?: { limit?: number; offset?: number }): Promise<{ items: Order[]; total: number }>;
  get(id: string): Promise<Order | undefined>;
  create(fields: OrderFields): Promise<Order>;
  update(id: string, fields: Partial<OrderFields>, options?: { replace?: boolean }): Promise<Order | undefined>;
  delete(id: string): Promise<boolean>;
}
const section = (sql: string, which: "Up" | "Down") => sql.split(/^-- (?:Up|Down) Migration$/m)[which === "Up" ? 1 : 2]!;

describe("tornado generate resource", () => {
  it("--dry-run shows every file it would write, as a diff, and writes nothing", async () => {
    const result = await tornado(["generate", "resource", "orders", ...FIELDS, "--dry-run"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^--- \/dev\/null\n\+\+\+ b\/migrations\/\d{17}_create_orders\.sql\n/m);
    for (const file of ["src/repositories/orders.ts", "src/handlers/orders.ts", "test/orders.test.ts", ".tornado/manifest.json"]) {
      expect(result.stdout).toContain(`--- /dev/null\n+++ b/${file}\n`);
    }
    expect(result.stdout).toContain("--- a/src/app.ts\n+++ b/src/app.ts\n");
    expect(result.stdout).toContain("+  user_id bigint NOT NULL REFERENCES users (id),\n");
    expect(result.stdout).toContain("Dry run: 6 files would change; nothing was written.");
    expect(snapshot()).toEqual(original);
  });

  it("writes a migration, repository, handlers, test and routes; run twice, it changes nothing", async () => {
    const before = Date.now();
    const result = await tornado(["generate", "resource", "orders", ...FIELDS]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("resource orders: table orders; classes OrdersHandler, OrderHandler; routes /orders, /orders/:id");
    const changed = [...snapshot().keys()].filter((f) => original.get(f) !== snapshot().get(f)).sort();
    const migration = migrationFile();
    expect(changed).toEqual([".tornado/manifest.json", `migrations/${migration}`, "src/app.ts", "src/handlers/orders.ts", "src/repositories/orders.ts", "test/orders.test.ts"]);
    // Named by the UTC time it was made: YYYYMMDDHHmmssSSS.
    const stamp = migration.slice(0, 17);
    const made = Date.UTC(+stamp.slice(0, 4), +stamp.slice(4, 6) - 1, +stamp.slice(6, 8), +stamp.slice(8, 10), +stamp.slice(10, 12), +stamp.slice(12, 14), +stamp.slice(14));
    expect(made).toBeGreaterThanOrEqual(before - 1000);
    expect(made).toBeLessThanOrEqual(Date.now());
    expect(read(`migrations/${migration}`)).toBe(
      [
        "-- Up Migration",
        "CREATE TABLE orders (",
        "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,",
        "  customer varchar(255) NOT NULL,",
        "  total numeric NOT NULL,",
        "  paid boolean NOT NULL,",
        "  note text,",
        "  user_id bigint NOT NULL REFERENCES users (id),",
        "  created_at timestamptz NOT NULL DEFAULT now(),",
        "  updated_at timestamptz NOT NULL DEFAULT now()",
        ");",
        "CREATE INDEX orders_user_id_index ON orders (user_id);",
        "",
        "-- Down Migration",
        "DROP TABLE orders;",
        "",
      ].join("\n"),
    );
    const appFile = read("src/app.ts");
    expect(appFile).toContain('import { OrderHandler, OrdersHandler } from "./handlers/orders.js";\n');
    expect(appFile).toContain('url("/orders/:id", OrderHandler, { name: "order" }),');
    // Only the import and the two routes were added to the app file, byte for byte.
    const added = appFile.split("\n").filter((line) => !original.get("src/app.ts")!.split("\n").includes(line));
    expect(added).toEqual(['import { OrderHandler, OrdersHandler } from "./handlers/orders.js";', '      url("/orders", OrdersHandler, { name: "orders" }),', '      url("/orders/:id", OrderHandler, { name: "order" }),']);

    const after = snapshot();
    const again = await tornado(["generate", "resource", "orders", ...FIELDS]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("Nothing to change");
    expect(snapshot()).toEqual(after);
  });

  it("passes its own test on a new app with nothing set up by hand: the embedded database", async () => {
    const tests = await runCommand("npm", ["test"], app, { DATABASE_URL: "" });
    expect(tests.code, tests.stdout + tests.stderr).toBe(0);
    expect(tests.stdout).toMatch(/✓ test\/orders\.test\.ts \(6 tests\)/);
    expect(tests.stdout).toMatch(/✓ test\/users\.test\.ts \(\d+ tests\)/);
    expect(tests.stdout + tests.stderr).not.toMatch(/\[[WE] \d{6} /);
  }, 300_000);

  it("answers a bad field spec with one sentence naming it and a non-zero exit, and writes nothing", async () => {
    const before = snapshot();
    const cases: [string[], string][] = [
      [["total:money"], 'error: Field "total:money" has an unknown type "money": use one of string, text, int, bigint, float, decimal, boolean, date, timestamp, uuid, json, references.\n'],
      [["customer:string", "note"], 'error: Field "note" has no type: write note:TYPE, TYPE one of string, text, int, bigint, float, decimal, boolean, date, timestamp, uuid, json, references (add ? to allow null).\n'],
      [["created_at:timestamp"], 'error: Field "created_at:timestamp" would be the column created_at, which every resource has already (id, created_at, updated_at): rename it.\n'],
      [["a:int", "A:text"], 'error: Fields "a:int" and "A:text" are both the column a: give one another name.\n'],
      [["x:int??"], 'error: Field "x:int??" is not name:type: write it as x:TYPE, TYPE one of string, text, int, bigint, float, decimal, boolean, date, timestamp, uuid, json, references, with ? after the type to allow null (for example x:text?).\n'],
      [[], "error: A resource needs at least one field after its name, as name:type (for example: orders customer:string total:decimal); types: string, text, int, bigint, float, decimal, boolean, date, timestamp, uuid, json, references.\n"],
    ];
    for (const [fields, message] of cases) {
      const result = await tornado(["generate", "resource", "invoices", ...fields]);
      expect(result.stderr).toBe(message);
      expect(result.code).toBe(1);
    }
    expect(snapshot()).toEqual(before);
  });

  it("does not overwrite a file of the user's without --force", async () => {
    writeFileSync(join(app, "src/repositories/invoices.ts"), "// mine\n");
    const before = snapshot();
    const result = await tornado(["generate", "resource", "invoices", "amount:int"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe("error: src/repositories/invoices.ts already exists with other content; nothing was written. Pass --force to overwrite it, or choose another name.\n");
    expect(snapshot()).toEqual(before);
    rmSync(join(app, "src/repositories/invoices.ts"));
  });
});

describe.skipIf(!postgres)("the generated migration and repository on PostgreSQL", () => {
  it("the migration creates the table with its types, NOT NULLs, foreign key and index, and drops it going down", async () => {
    const sql = read(`migrations/${migrationFile()}`);
    await client.query(`SET search_path TO "${schema}"`);
    await client.query(section(read("migrations/20261207000000000_create_users.sql"), "Up"));
    await client.query(section(sql, "Up"));
    const columns = await client.query<{ column_name: string; data_type: string; is_nullable: string }>(
      "SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'orders' ORDER BY ordinal_position",
      [schema],
    );
    expect(columns.rows.map((c) => `${c.column_name} ${c.data_type}${c.is_nullable === "NO" ? " NOT NULL" : ""}`)).toEqual([
      "id bigint NOT NULL",
      "customer character varying NOT NULL",
      "total numeric NOT NULL",
      "paid boolean NOT NULL",
      "note text",
      "user_id bigint NOT NULL",
      "created_at timestamp with time zone NOT NULL",
      "updated_at timestamp with time zone NOT NULL",
    ]);
    const index = await client.query("SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = 'orders_user_id_index'", [schema]);
    expect(index.rows).toEqual([{ indexdef: `CREATE INDEX orders_user_id_index ON ${schema}.orders USING btree (user_id)` }]);
    await client.query(section(sql, "Down"));
    expect((await client.query("SELECT to_regclass('orders') AS t")).rows).toEqual([{ t: null }]);
    await client.query(section(sql, "Up"));
  });

  it("the repository lists (with limit, offset and total), gets, creates, updates and deletes, with parameters only", async () => {
    await client.query(`SET search_path TO "${schema}"`);
    const queries: { sql: string; params: unknown[] }[] = [];
    const db = {
      async query<Row>(sql: string, params: unknown[] = []): Promise<Row[]> {
        queries.push({ sql, params });
        return (await client.query(sql, params)).rows as Row[];
      },
    };
    const { OrderRepository } = (await import(join(app, "src/repositories/orders.ts"))) as { OrderRepository: new (db: Queryable) => Repository };
    const orders = new OrderRepository(db);
    const [{ id: userId }] = (await client.query<{ id: string }>("INSERT INTO users (name, email) VALUES ('Ada', 'ada@example.com') RETURNING id::text AS id")).rows as [{ id: string }];
    const evil = "Robert'); DROP TABLE orders; --";
    const first = await orders.create({ customer: evil, total: "19.99", paid: false, userId });
    expect(first).toEqual({ id: "1", customer: evil, total: "19.99", paid: false, note: null, userId, createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), updatedAt: first.createdAt });
    // The client's text is a parameter, never SQL.
    expect(queries.every((q) => !q.sql.includes("Robert"))).toBe(true);
    await orders.create({ customer: "b", total: "1234.50", paid: true, note: "second", userId });
    await orders.create({ customer: "c", total: "0", paid: true, userId });
    expect(await orders.get("2")).toMatchObject({ customer: "b", total: "1234.50", note: "second" });
    expect(await orders.get("99")).toBeUndefined();
    const page = await orders.list({ limit: 2, offset: 1 });
    expect(page.total).toBe(3);
    expect(page.items.map((o) => o.customer)).toEqual(["b", "c"]);
    expect(await orders.list({ limit: 5, offset: 10 })).toEqual({ items: [], total: 3 });

    const patched = await orders.update("2", { paid: false });
    expect(patched).toMatchObject({ customer: "b", paid: false, note: "second" });
    expect(Date.parse(patched!.updatedAt)).toBeGreaterThanOrEqual(Date.parse(patched!.createdAt));
    // A replace sets every field: the note left out becomes NULL.
    expect(await orders.update("2", { customer: "B", total: "2", paid: true, userId }, { replace: true })).toMatchObject({ customer: "B", total: "2", note: null });
    expect(await orders.update("99", { paid: true })).toBeUndefined();
    await expect(orders.create({ customer: "x", total: "1", paid: true, userId: "999999" })).rejects.toMatchObject({ code: "23503", constraint: "orders_user_id_fkey" });
    expect(await orders.delete("2")).toBe(true);
    expect(await orders.delete("2")).toBe(false);
    expect((await orders.list()).total).toBe(2);
    await client.query("DROP TABLE orders, users");
  });
});

describe.skipIf(!postgres)("tornado destroy resource", () => {
  it("refuses while its migration is applied, naming the rollback; then removes everything generate wrote", async () => {
    const env = { DATABASE_URL: POSTGRES_URL, DATABASE_SCHEMA: schema };
    const migrated = await tornado(["db", "migrate"], env);
    expect(migrated.code, migrated.stderr).toBe(0);
    const generated = snapshot();

    const refused = await tornado(["destroy", "resource", "orders"], env);
    expect(refused.stderr).toBe(`error: migrations/${migrationFile()} is applied to the database at DATABASE_URL: roll it back first with npm run db:rollback, then run destroy again. Nothing was removed.\n`);
    expect(refused.code).toBe(1);
    expect(snapshot()).toEqual(generated);

    // A file edited since generate wrote it is refused too.
    const rolledBack = await tornado(["db", "rollback"], env);
    expect(rolledBack.code, rolledBack.stderr).toBe(0);
    writeFileSync(join(app, "src/handlers/orders.ts"), `${read("src/handlers/orders.ts")}// mine\n`);
    const edited = await tornado(["destroy", "resource", "orders"], env);
    expect(edited.stderr).toBe("error: src/handlers/orders.ts was edited after generate wrote it; nothing was removed. Pass --force to delete it anyway.\n");
    writeFileSync(join(app, "src/handlers/orders.ts"), generated.get("src/handlers/orders.ts")!);

    const destroyed = await tornado(["destroy", "resource", "orders"], env);
    expect(destroyed.stderr).toBe("");
    expect(destroyed.code).toBe(0);
    expect(snapshot()).toEqual(original);
    expect(readdirSync(join(app, "migrations"))).toEqual(["20261207000000000_create_users.sql"]);
  }, 180_000);
});

describe.skipIf(!postgres)("a generated resource's own test", () => {
  it("type-checks and passes against PostgreSQL, for every field type, a reference and reserved words as names", async () => {
    const env = { DATABASE_URL: POSTGRES_URL };
    const fields = ["order:string", "body:text?", "count:int", "big:bigint", "ratio:float", "price:decimal?", "paid:boolean", "day:date", "at:timestamp?", "ref:uuid", "meta:json", "group:references", "user_group:references?"];
    // Generated before the tables it references: it says so (their migrations must come first).
    const early = await tornado(["generate", "resource", "events", ...fields]);
    expect(early.code, early.stderr).toBe(0);
    expect(early.stdout).toContain(
      "No migration in migrations/ creates the table groups, which group:references points at: its migration must come first: destroy this resource, generate groups (or write its migration), then generate this one again.\n",
    );
    expect(early.stdout).toContain("No migration in migrations/ creates the table user_groups, which user_group:references? points at:");
    expect((await tornado(["destroy", "resource", "events"])).code).toBe(0);

    for (const [name, field] of [["groups", "name:string"], ["user-groups", "label:string"]]) {
      const parent = await tornado(["generate", "resource", name!, field!]);
      expect(parent.code, parent.stderr).toBe(0);
    }
    const generated = await tornado(["generate", "resource", "events", ...fields]);
    expect(generated.code, generated.stderr).toBe(0);
    expect(generated.stdout).not.toContain("No migration");
    const migration = read(`migrations/${readdirSync(join(app, "migrations")).find((f) => f.endsWith("_create_events.sql"))!}`);
    // "order" and "group" are reserved in SQL: quoted wherever they appear.
    expect(migration).toContain('  "order" varchar(255) NOT NULL,\n');
    expect(migration).toContain("  group_id bigint NOT NULL REFERENCES groups (id),\n  user_group_id bigint REFERENCES user_groups (id),\n");

    const typecheck = await runCommand("npm", ["run", "typecheck"], app);
    expect(typecheck.code, typecheck.stdout + typecheck.stderr).toBe(0);
    const tests = await runCommand("npm", ["test"], app, env);
    expect(tests.code, tests.stdout + tests.stderr).toBe(0);
    expect(tests.stdout).toMatch(/✓ test\/events\.test\.ts \(7 tests\)/);
    expect(tests.stdout).toMatch(/✓ test\/groups\.test\.ts \(5 tests\)/);
    // Unasserted warnings would be printed: the generated tests assert theirs (expectLog).
    expect(tests.stdout + tests.stderr).not.toMatch(/\[[WE] \d{6} /);
    // Each test file migrated a schema of its own and dropped it.
    expect((await client.query("SELECT nspname FROM pg_namespace WHERE nspname ~ '^test_(events|groups|user_groups|users)_'")).rows).toEqual([]);

    for (const name of ["events", "user-groups", "groups"]) expect((await tornado(["destroy", "resource", name], env)).code).toBe(0);
  }, 300_000);
});

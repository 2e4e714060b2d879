/**
 * Applying pending SQL migrations without node-pg-migrate: what an app's production install
 * runs at start, where node-pg-migrate (with glob, jiti and yargs: 22 packages, about 9 MB) is a
 * development dependency. It reads the same files (`.sql`, with `-- Up Migration` and
 * `-- Down Migration` sections), in node-pg-migrate's order, and keeps the same record (the
 * `pgmigrations` table, made as node-pg-migrate makes it), so `tornado db status` and
 * `db:rollback` on a developer's machine see what production applied, and the other way round.
 * Going up only: rolling back and `.js`/`.ts` migrations need node-pg-migrate.
 */

import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

// Nothing from ./migrate.js (which loads this file): what it needs comes in `SqlMigrationRun`.
type PgClient = import("pg").Client;
const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * What `applyPendingSql` runs and how it reports, from `migrate()`.
 *
 * @example
 * const run: SqlMigrationRun = { dir: "migrations", schema: "public", table: "pgmigrations", count: Infinity, log: console.log, refuse: (m) => new Error(m), onFailure: (e) => e as Error };
 */
export interface SqlMigrationRun {
  /** The migrations folder. */
  dir: string;
  /** The schema the migrations and their table live in (created if missing). */
  schema: string;
  /** The table of applied migrations (node-pg-migrate's `pgmigrations`). */
  table: string;
  /** How many pending migrations to apply at most. */
  count: number;
  /** Gets `Applying <name>` as each starts. */
  log: (line: string) => void;
  /** The error to throw for a folder this cannot run (`file`: the migration at fault, if one). */
  refuse: (message: string, file: string | null) => Error;
  /** The error to throw when PostgreSQL refuses `sql`, the Up section of `file` (after `linesBefore` lines). */
  onFailure: (error: unknown, file: string, sql: string, linesBefore: number) => Error;
}

// node-pg-migrate's marker of the Up and Down sections (src/sqlMigration.ts).
const MARKER = { up: /^\s*--[\s-]*up\s+migration/im, down: /^\s*--[\s-]*down\s+migration/im } as const;

/**
 * The migration files in `dir` in the order node-pg-migrate runs them: every file not starting
 * with a dot, by the number its name starts with, then by name.
 *
 * @example
 * await migrationFiles("migrations") // ["20261207000000000_create_users.sql", ...]
 */
export async function migrationFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries.filter((e) => (e.isFile() || e.isSymbolicLink()) && !e.name.startsWith(".")).map((e) => e.name);
  const prefix = (name: string) => BigInt(/^\d+/.exec(name)?.[0] ?? "0");
  return names.sort((a, b) => {
    const [x, y] = [prefix(a), prefix(b)];
    return x !== y ? (x < y ? -1 : 1) : a.localeCompare(b, undefined, { numeric: true });
  });
}

/**
 * The Up section of a migration file, as node-pg-migrate cuts it (from its marker to the Down
 * marker; the whole file when it has no Up marker), and the number of lines before it.
 *
 * @example
 * upSection("-- Up Migration\nCREATE TABLE t ();\n-- Down Migration\nDROP TABLE t;\n") // { sql: "-- Up Migration\nCREATE TABLE t ();\n", linesBefore: 0 }
 */
export function upSection(text: string): { sql: string; linesBefore: number } {
  const up = text.search(MARKER.up);
  const down = text.search(MARKER.down);
  if (up < 0) return { sql: text, linesBefore: 0 };
  return { sql: text.slice(up, down < up ? undefined : down), linesBefore: text.slice(0, up).split("\n").length - 1 };
}

/**
 * Applies the pending migrations of `dir` on `client` in `schema`, each in its own transaction
 * with its row in `pgmigrations`, and resolves with their names. The caller holds the
 * migration lock.
 *
 * @example
 * await applyPendingSql(client, { dir: "migrations", schema: "public", table: "pgmigrations", count: Infinity, log: console.log, refuse, onFailure });
 */
export async function applyPendingSql(client: PgClient, options: SqlMigrationRun): Promise<string[]> {
  const { dir, schema } = options;
  const files = await migrationFiles(dir);
  const other = files.find((name) => !name.endsWith(".sql"));
  if (other !== undefined) {
    throw options.refuse(`is not a .sql migration: running it needs node-pg-migrate (npm install node-pg-migrate)`, join(dir, other));
  }
  const table = `${quote(schema)}.${quote(options.table)}`;
  // As node-pg-migrate's runner: the schema made, first (and alone) on the search path, its table.
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${quote(schema)}`);
  await client.query(`SET search_path TO ${quote(schema)}`);
  await client.query(`CREATE TABLE IF NOT EXISTS ${table} (id SERIAL PRIMARY KEY, name varchar(255) NOT NULL, run_on timestamp NOT NULL)`);
  const applied = (await client.query<{ name: string }>(`SELECT name FROM ${table} ORDER BY run_on, id`)).rows.map((row) => row.name);
  const names = files.map((file) => file.slice(0, -".sql".length));
  // node-pg-migrate's checkOrder: what is applied is the start of the files' order.
  for (let i = 0; i < Math.min(applied.length, names.length); i++) {
    if (applied[i] !== names[i]) {
      throw options.refuse(`${names[i]} is older than ${applied[i]}, which is already applied: give it a newer timestamp (rename the file) so that migrations apply in order.`, null);
    }
  }
  const pending = names.filter((name) => !applied.includes(name)).slice(0, options.count);
  for (const name of pending) {
    const file = join(dir, `${name}.sql`);
    const { sql, linesBefore } = upSection(await readFile(file, "utf8"));
    options.log(`Applying ${name}`);
    await client.query("BEGIN");
    try {
      await client.query(sql);
      await client.query(`INSERT INTO ${table} (name, run_on) VALUES ($1, NOW())`, [name]);
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw options.onFailure(error, file, sql, linesBefore);
    }
  }
  return pending;
}

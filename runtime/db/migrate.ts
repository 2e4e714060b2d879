/**
 * Schema migrations on PostgreSQL, run by node-pg-migrate: plain `.sql` files in `migrations/`,
 * each with a `-- Up Migration` and a `-- Down Migration` section. node-pg-migrate and `pg` are
 * optional peer dependencies, loaded only when one of these functions runs, so an app without a
 * database never loads them. Without node-pg-migrate (an app's production install), `migrate`
 * going up applies pending `.sql` migrations itself (./migrate-sql.ts), recording them alike.
 *
 * Several processes may migrate at once: each run holds an advisory lock for its schema (a later
 * run says it waits, waits, then finds nothing left to do), so every migration is applied once. Each
 * migration runs in its own transaction: one that fails leaves nothing of itself behind, and the
 * `MigrationError` names its file and line.
 *
 * @example
 * import { migrate } from "tornado/db";
 * await migrate({ url: process.env.DATABASE_URL, log: console.log }); // ["20261207093000000_create_orders"]
 */

import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { basename, extname, join, relative, resolve, sep } from "node:path";
import { applyPendingSql, migrationFiles } from "./migrate-sql.js";

/**
 * What `migrate`, `migrationStatus` and `seed` connect with: any object with the
 * `connectionString()` of `tornado/db`'s `Database`.
 *
 * @example
 * const target: ConnectionSource = openDatabase();
 */
export interface ConnectionSource {
  connectionString(): Promise<string>;
  /** When present, the schema defaults to the one its connections look in first. */
  query?(sql: string): Promise<Record<string, unknown>[]>;
}

/**
 * Where the migrations are and which database they run on. The database is `database`, else
 * `url`, else `DATABASE_URL`; the schema is `schema`, else `DATABASE_SCHEMA`, else `public`.
 *
 * @example
 * const options: MigrationTarget = { url: "postgres://127.0.0.1/app", dir: "migrations" };
 */
export interface MigrationTarget {
  /** A database opened with `openDatabase()`; its `connectionString()` is used. */
  database?: ConnectionSource;
  /** A PostgreSQL URL, when `database` is not given. */
  url?: string;
  /** The folder of migration files, relative to the working folder (default `migrations`). */
  dir?: string;
  /**
   * The schema the migrations and their `pgmigrations` table live in (created if missing).
   * Default: `database`'s own schema, else DATABASE_SCHEMA, else `public`.
   */
  schema?: string;
}

/**
 * Options of `migrate`: the target, which way, how many, and where progress lines go.
 *
 * @example
 * await migrate({ direction: "down", count: 1, log: console.log });
 */
export interface MigrateOptions extends MigrationTarget {
  /** `up` applies pending migrations (the default); `down` rolls back applied ones, newest first. */
  direction?: "up" | "down";
  /** How many to run: every pending one going up, 1 going down, by default. */
  count?: number;
  /** Gets one line per migration as it starts (`Applying 2026…_create_orders`). */
  log?: (line: string) => void;
}

/**
 * One migration as `migrationStatus` sees it.
 *
 * @example
 * const row: MigrationState = { name: "20261207093000000_create_orders", applied: true, appliedAt: new Date(), file: "migrations/20261207093000000_create_orders.sql" };
 */
export interface MigrationState {
  /** The file name without `.sql`, as recorded in `pgmigrations`. */
  name: string;
  applied: boolean;
  /** When it was applied (the database's clock), or `null`. */
  appliedAt: Date | null;
  /** Its file relative to the working folder, or `null` for an applied migration whose file is gone. */
  file: string | null;
}

/**
 * A migration or seed that failed, or a run that could not start. `file` and `line` say where,
 * when known; the message already starts with them (`migrations/…sql:4: syntax error…`).
 *
 * @example
 * catch (e) { if (e instanceof MigrationError) console.error(e.file, e.line, e.message); }
 */
export class MigrationError extends Error {
  readonly code = "ERR_MIGRATION_FAILED";
  constructor(
    message: string,
    /** The file that failed, relative to the working folder, or `null`. */
    readonly file: string | null = null,
    /** Its 1-based line, from PostgreSQL's error position, or `null` when PostgreSQL gave none. */
    readonly line: number | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "MigrationError";
  }
}

/**
 * The advisory lock key migrations of `schema` hold while they run: one per schema (node-pg-migrate's
 * default is one per database), so that apps and tests in different schemas of one database do
 * not wait for each other. 48 bits of SHA-256 of `tornado migrations <schema>`.
 *
 * @example
 * await client.query("SELECT pg_try_advisory_lock($1)", [migrationLockKey("public")]);
 */
export function migrationLockKey(schema: string): number {
  return createHash("sha256").update(`tornado migrations ${schema}`).digest().readUIntBE(0, 6);
}

/**
 * The table node-pg-migrate records applied migrations in (column `name`).
 *
 * @example
 * `SELECT name FROM ${MIGRATIONS_TABLE}`
 */
export const MIGRATIONS_TABLE = "pgmigrations";

// node-pg-migrate's own marker rule (src/sqlMigration.ts): a comment line "-- Up Migration".
const SECTION_MARKER = { up: /^\s*--[\s-]*up\s+migration/im, down: /^\s*--[\s-]*down\s+migration/im } as const;

/**
 * Applies pending migrations (or, with `direction: "down"`, rolls back the newest applied ones)
 * and resolves with the names it ran, in order. Waits while another process migrates the same
 * database, then runs only what is still pending.
 *
 * @example
 * const ran = await migrate({ database: db });               // every pending migration
 * await migrate({ database: db, direction: "down", count: 2 }); // the two newest, newest first
 */
export async function migrate(options: MigrateOptions = {}): Promise<string[]> {
  const direction = options.direction ?? "up";
  if (direction !== "up" && direction !== "down") throw new MigrationError(`direction must be "up" or "down", not ${JSON.stringify(direction)}.`);
  const count = options.count ?? (direction === "up" ? Number.POSITIVE_INFINITY : 1);
  if (!(count === Number.POSITIVE_INFINITY || (Number.isInteger(count) && count >= 1))) {
    throw new MigrationError(`count must be a positive whole number, not ${String(options.count)}.`);
  }
  const dir = options.dir ?? "migrations";
  if (!existsSync(dir)) throw new MigrationError(`The migrations folder ${dir} does not exist.`);
  const { url, schema } = await resolveTarget(options);
  // Every file applied, in order, seen through the app's own pool: nothing to do, and no
  // connection, lock or runner of our own (an app calls this at every start, and `tornado dev`
  // at every restart). Anything else (a pending file, one out of order, one gone) takes the
  // whole path below, which applies or explains it.
  if (direction === "up" && options.database?.query !== undefined && (await upToDate(options.database, dir, schema))) return [];
  // Without node-pg-migrate (an app's production install), pending .sql migrations still apply.
  const runner = await loadRunner(direction);
  const lockKey = migrationLockKey(schema);
  const log = options.log ?? (() => {});
  let current: { name: string; direction: "up" | "down" } | null = null;
  const onLine = (line: unknown) => {
    const match = /^### MIGRATION (.+) \((UP|DOWN)\) ###$/.exec(String(line));
    if (match === null) return; // node-pg-migrate's other lines: the error is reported once, below
    current = { name: match[1]!, direction: match[2] === "UP" ? "up" : "down" };
    log(`${current.direction === "up" ? "Applying" : "Rolling back"} ${current.name}`);
  };
  // The lock is taken here, on the connection node-pg-migrate then runs on (`dbClient`, `noLock`),
  // so that a run that has to wait can say so: a try first, then a wait. It is a session lock,
  // released below, or by PostgreSQL if this process dies.
  return withClient(url, async (client) => {
    const [attempt] = (await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1) AS locked", [String(lockKey)])).rows;
    if (attempt?.locked !== true) {
      log("Another process is migrating this database: waiting for it to finish");
      await client.query("SELECT pg_advisory_lock($1)", [String(lockKey)]);
    }
    try {
      if (runner === null) return await applyPendingSql(client, { dir, schema, table: MIGRATIONS_TABLE, count, log, refuse, onFailure: sqlFailure });
      const ran = await runner({
        dbClient: client,
        noLock: true,
        dir,
        direction,
        count,
        migrationsTable: MIGRATIONS_TABLE,
        schema,
        createSchema: true,
        checkOrder: true,
        singleTransaction: false, // one transaction per migration
        logger: { debug: () => {}, info: onLine, warn: () => {}, error: () => {} },
      });
      return ran.map((m) => m.name);
    } catch (error) {
      // node-pg-migrate leaves the failed migration's transaction open (it would end with its own
      // connection): roll it back, so that nothing of the migration stays.
      await client.query("ROLLBACK").catch(() => {});
      throw await explain(error, dir, current);
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [String(lockKey)]).catch(() => {});
    }
  });
}

// Whether the migrations table lists exactly the files of `dir`, in their order.
async function upToDate(database: ConnectionSource, dir: string, schema: string): Promise<boolean> {
  try {
    const table = `${quoteIdentifier(schema)}.${MIGRATIONS_TABLE}`;
    const [exists] = await database.query!(`SELECT to_regclass('${table.replaceAll("'", "''")}') IS NOT NULL AS found`);
    if (exists?.found !== true) return false;
    const applied = (await database.query!(`SELECT name FROM ${table} ORDER BY id`)).map((row) => row.name);
    const files = (await migrationFiles(dir)).map((file) => basename(file, extname(file)));
    return applied.length === files.length && files.every((name, i) => applied[i] === name);
  } catch {
    return false; // the whole path says what is wrong
  }
}

/**
 * Every migration, oldest first: those with a file in `dir` and those applied whose file is gone,
 * each with whether it is applied. Reads only; creates nothing.
 *
 * @example
 * for (const m of await migrationStatus({ database: db })) console.log(m.applied ? "up  " : "down", m.name);
 */
export async function migrationStatus(options: MigrationTarget = {}): Promise<MigrationState[]> {
  const dir = options.dir ?? "migrations";
  const { url, schema } = await resolveTarget(options);
  const { getMigrationFilePaths } = await loadPeer<typeof import("node-pg-migrate/migration")>("node-pg-migrate/migration");
  const files = existsSync(dir) ? await getMigrationFilePaths(dir) : [];
  const applied = await withClient(url, async (client) => {
    const table = `${quoteIdentifier(schema)}.${MIGRATIONS_TABLE}`;
    const exists = await client.query<{ found: string | null }>("SELECT to_regclass($1) AS found", [table]);
    if (exists.rows[0]?.found == null) return [];
    // run_on is a timestamp without time zone, written as now() in the session's TimeZone.
    return (await client.query<{ name: string; run_on: Date }>(`SELECT name, run_on AT TIME ZONE current_setting('TimeZone') AS run_on FROM ${table} ORDER BY id`)).rows;
  });
  const appliedAt = new Map(applied.map((row) => [row.name, row.run_on]));
  const rows: MigrationState[] = files.map((path) => {
    const name = basename(path, extname(path));
    return { name, applied: appliedAt.has(name), appliedAt: appliedAt.get(name) ?? null, file: shown(path) };
  });
  const known = new Set(rows.map((row) => row.name));
  const gone = applied.filter((row) => !known.has(row.name)).map((row) => ({ name: row.name, applied: true, appliedAt: row.run_on, file: null }));
  return [...gone, ...rows].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Runs a seed file (plain SQL, default `db/seed.sql`) in one transaction, with the schema first
 * on the search path (then `public`, as `tornado/db`'s connections have it). A failure rolls all of it back and names the file and line. Write seeds so that a
 * second run changes nothing (`ON CONFLICT DO NOTHING`, `WHERE NOT EXISTS`).
 *
 * @example
 * await seed({ database: db }); // runs db/seed.sql
 */
export async function seed(options: Omit<MigrationTarget, "dir"> & { file?: string } = {}): Promise<void> {
  const file = options.file ?? join("db", "seed.sql");
  if (!existsSync(file)) throw new MigrationError(`The seed file ${file} does not exist.`);
  const sql = await readFile(file, "utf8");
  const { url, schema } = await resolveTarget(options);
  await withClient(url, async (client) => {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(schema)}`);
    await client.query("BEGIN");
    try {
      await client.query(`SET LOCAL search_path TO ${quoteIdentifier(schema)}, public`);
      await client.query(sql);
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw failure(error, shown(file), sql, 0, "rolled back: nothing of the seed was applied");
    }
  });
}

/**
 * The 1-based line of `text` holding character `position` (1-based, as PostgreSQL counts the
 * characters of a query in its error's `position`).
 *
 * @example
 * lineAt("SELECT 1;\nSELEC 2;", 11) // 2
 */
export function lineAt(text: string, position: number): number {
  let line = 1;
  let seen = 0;
  for (const char of text) {
    if (++seen >= position) break;
    if (char === "\n") line++;
  }
  return line;
}

// --- internals ---------------------------------------------------------------------------------

/** A `pg` client (the type only: `pg` itself is loaded when needed). @example let client: PgClient; */
export type PgClient = import("pg").Client;

/**
 * Connects one `pg` client to `url`, runs `work` with it and ends it; a failure to connect is a
 * `MigrationError`.
 *
 * @example
 * await withClient(url, (client) => client.query("SELECT 1"));
 */
export async function withClient<T>(url: string, work: (client: PgClient) => Promise<T>): Promise<T> {
  const pg = (await loadPeer<{ default: typeof import("pg") }>("pg")).default;
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => {}); // a dropped connection fails the query in progress, reported there
  try {
    await client.connect();
  } catch (error) {
    throw new MigrationError(`Cannot connect to the database: ${(error as Error).message}.`, null, null, { cause: error });
  }
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => {});
  }
}

// node-pg-migrate's runner, or null going up without it (then migrate-sql.ts applies the files).
async function loadRunner(direction: "up" | "down"): Promise<typeof import("node-pg-migrate").runner | null> {
  try {
    return (await import("node-pg-migrate")).runner;
  } catch (error) {
    if ((error as NodeJS.ErrnoException)?.code !== "ERR_MODULE_NOT_FOUND" || direction === "down") return (await loadPeer<typeof import("node-pg-migrate")>("node-pg-migrate")).runner;
    return null;
  }
}

const refuse = (message: string, file: string | null) => new MigrationError(file === null ? message : `${shown(file)} ${message}.`, file === null ? null : shown(file));

// As explain() names a section: from its marker's own line (the section may start with blank lines).
const sqlFailure = (error: unknown, file: string, sql: string, linesBefore: number) => {
  const marker = linesBefore + sql.slice(0, sql.search(/\S/) + 1).split("\n").length;
  return failure(error, shown(file), sql, linesBefore, "rolled back: nothing of this migration was applied", { name: `its Up section, from line ${marker}` });
};

async function loadPeer<T>(name: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException)?.code !== "ERR_MODULE_NOT_FOUND") throw error;
    const pkg = name.split("/")[0];
    throw new MigrationError(`Migrations need the package ${pkg}, which is not installed: add it with npm install node-pg-migrate pg.`, null, null, { cause: error });
  }
}

/**
 * The URL and schema of the target: `database`'s connection string (and the schema its
 * connections use), else `url`, else DATABASE_URL; the schema `schema` when given.
 *
 * @example
 * await resolveTarget({ url: "postgres://127.0.0.1/app" }) // { url: "postgres://127.0.0.1/app", schema: "public" }
 */
export async function resolveTarget(options: MigrationTarget): Promise<{ url: string; schema: string }> {
  const { database } = options;
  if (database !== undefined) {
    const url = await database.connectionString();
    if (options.schema !== undefined || database.query === undefined) return { url, schema: schemaName(options.schema) };
    const [row] = await database.query("SELECT current_schema() AS schema");
    return { url, schema: schemaName(typeof row?.schema === "string" ? row.schema : undefined) };
  }
  const url = options.url ?? process.env.DATABASE_URL;
  if (!url) throw new MigrationError("No database to migrate: pass database or url, or set DATABASE_URL.");
  return { url, schema: schemaName(options.schema) };
}

/**
 * The schema to use: `schema`, else DATABASE_SCHEMA, else `public`; a name that is not plain is a
 * `MigrationError`.
 *
 * @example
 * schemaName(undefined) // "public"
 */
export function schemaName(schema: string | undefined): string {
  const name = schema ?? (process.env.DATABASE_SCHEMA || "public");
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) {
    throw new MigrationError(`"${name}" is not a schema name migrations accept: use letters, digits and _.`);
  }
  return name;
}

/**
 * A name as a quoted SQL identifier.
 *
 * @example
 * quoteIdentifier("test_1") // "\"test_1\""
 */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * A path as the user would type it: relative to the working folder, with `/`.
 *
 * @example
 * shown("/home/me/app/migrations/1_a.sql") // "migrations/1_a.sql" in /home/me/app
 */
export function shown(path: string): string {
  const rel = relative(process.cwd(), resolve(path));
  return (rel.startsWith("..") ? resolve(path) : rel).split(sep).join("/");
}

interface PgError {
  message: string;
  position?: string;
  detail?: string;
  hint?: string;
  code?: string;
}

/** A failure of `sql` (which starts after line `lineOffset` of its file) as a `MigrationError`. */
function failure(error: unknown, file: string, sql: string, lineOffset: number, outcome: string, section?: { name: string }): MigrationError {
  const pgError = error as PgError;
  const position = Number(pgError?.position);
  const line = Number.isInteger(position) && position >= 1 ? lineOffset + lineAt(sql, position) : null;
  const extra = [pgError?.detail, pgError?.hint].filter(Boolean).join(" ");
  // Errors raised while a statement runs (a missing table in DROP TABLE) come without a position:
  // then the section is named, from its first line.
  const where = line !== null ? `${file}:${line}` : section ? `${file} (${section.name})` : file;
  return new MigrationError(`${where}: ${pgError?.message ?? String(error)}${extra ? ` (${extra})` : ""} — ${outcome}.`, file, line, { cause: error });
}

/** node-pg-migrate's error, with the failed migration's file and line when it has them. */
async function explain(error: unknown, dir: string, current: { name: string; direction: "up" | "down" } | null): Promise<MigrationError> {
  if (error instanceof MigrationError) return error;
  const message = (error as Error)?.message ?? String(error);
  if (/^User has disabled down migration on file: (.+)$/.exec(message)) {
    const name = message.slice(message.indexOf(": ") + 2);
    return new MigrationError(`${shown(join(dir, `${name}.sql`))} has no "-- Down Migration" section, so it cannot be rolled back.`, shown(join(dir, `${name}.sql`)), null, { cause: error });
  }
  const order = /^Not run migration (.+) is preceding already run migration (.+)$/.exec(message);
  if (order) {
    return new MigrationError(
      `${order[1]} is older than ${order[2]}, which is already applied: give it a newer timestamp (rename the file) so that migrations apply in order.`,
      null,
      null,
      { cause: error },
    );
  }
  const deleted = /^Definitions of migrations (.+) have been deleted\.$/.exec(message);
  if (deleted) return new MigrationError(`Cannot roll back ${deleted[1]}: its file is no longer in ${dir}.`, null, null, { cause: error });
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "28P01" || code === "3D000") {
    return new MigrationError(`Cannot connect to the database: ${message}.`, null, null, { cause: error });
  }
  if (current === null || typeof (error as PgError)?.code !== "string") {
    return new MigrationError(message, null, null, { cause: error });
  }
  // The failed statement was the migration's section as node-pg-migrate sent it: from its marker
  // line (or the file's start) to the other marker.
  const path = join(dir, `${current.name}.sql`);
  const outcome = current.direction === "up" ? "rolled back: nothing of this migration was applied" : "rolled back: the migration is still applied";
  if (!existsSync(path)) return failure(error, shown(path), "", 0, outcome);
  const text = await readFile(path, "utf8");
  const start = Math.max(0, text.search(SECTION_MARKER[current.direction]));
  const before = lineAt(text, [...text.slice(0, start)].length + 1) - 1;
  const section = text.slice(start);
  // The marker may follow blank lines the section's text starts with: name the marker's own line.
  const marker = before + (section.slice(0, section.search(/\S/) + 1).split("\n").length - 1);
  return failure(error, shown(path), section, before, outcome, { name: `its ${current.direction === "up" ? "Up" : "Down"} section, from line ${marker + 1}` });
}

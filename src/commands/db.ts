/**
 * `tornado db create|migrate|rollback|status|seed`: the app's migrations (node-pg-migrate, plain
 * `.sql` files in `migrations/`) and its seed file (`db/seed.sql`), run on `DATABASE_URL` or, without
 * one, on the app's embedded PostgreSQL.
 */

import { existsSync } from "node:fs";
import { Command } from "commander";
import { loadDotenv } from "../cli/env.js";
import { UserError } from "../cli/errors.js";
import { style } from "../cli/output.js";
import { scriptCommand } from "../cli/scripts.js";
import { createMigration, MIGRATIONS_DIR } from "../db/migration-file.js";
import { findAppRoot } from "../generate/app.js";
import { migrate, migrationStatus, MigrationError, openDatabase, seed, type MigrationState, type MigrationTarget } from "../../runtime/db.js";

/**
 * Where `tornado db seed` reads the seed SQL, relative to the app's root.
 *
 * @example
 * join(root, SEED_FILE) // "/home/me/my-api/db/seed.sql"
 */
export const SEED_FILE = "db/seed.sql";

const say = (line: string) => process.stdout.write(`${line}\n`);
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/**
 * Parses `--count`: a positive whole number.
 *
 * @example
 * parseCount("2") // 2
 */
export function parseCount(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UserError(`--count must be a positive whole number, not "${value}".`);
  return Number(value);
}

/**
 * The database the commands run on, from the app's environment (`.env` under the real
 * environment): `DATABASE_URL`, else the app's embedded PostgreSQL (`EMBEDDED_DB_DIR`, default
 * `.tornado/db`, started or joined as the app does); in the schema `DATABASE_SCHEMA` (default
 * `public`).
 */
async function target(root: string): Promise<MigrationTarget & { close(): Promise<void> }> {
  const env = { ...loadDotenv(root), ...process.env };
  const schema = env.DATABASE_SCHEMA || undefined;
  if (env.DATABASE_URL) return { url: env.DATABASE_URL, schema, close: async () => {} };
  const database = openDatabase({ dir: env.EMBEDDED_DB_DIR || undefined, schema, poolSize: 1 });
  say(`Database: ${database.description.replace(/ \(pool of .*\)$/, "")}.`);
  try {
    await database.ready;
  } catch (error) {
    throw new UserError(`Without DATABASE_URL the commands use the app's embedded PostgreSQL, which did not open: ${(error as Error).message}.`);
  }
  return { database, schema, close: () => database.close() };
}

/**
 * Runs `work` in the app's root on its database; a `MigrationError` becomes one line and exit 1.
 * `needsMigrations`: refuse at once when the app has no migrations folder yet.
 */
async function inApp(work: (root: string, db: MigrationTarget) => Promise<void>, needsMigrations = false): Promise<void> {
  const root = findAppRoot(process.cwd());
  // Paths in messages are relative to the app's root, as the user sees them in the project.
  process.chdir(root);
  if (needsMigrations && !existsSync(MIGRATIONS_DIR)) {
    throw new UserError(`This app has no ${MIGRATIONS_DIR}/ folder yet: create the first migration with ${scriptCommand("db:create", ["create_orders"])}.`);
  }
  const db = await target(root);
  try {
    await work(root, db);
  } catch (error) {
    if (error instanceof MigrationError) throw new UserError(error.message);
    throw error;
  } finally {
    await db.close();
  }
}

/**
 * The status table: one migration per line, oldest first, and a count.
 *
 * @example
 * formatStatus([{ name: "20261207093000000_create_orders", applied: false, appliedAt: null, file: "migrations/…" }])
 */
export function formatStatus(rows: readonly MigrationState[]): string {
  if (rows.length === 0) return `No migrations yet: create one with ${scriptCommand("db:create", ["create_orders"])}.`;
  const lines = rows.map((row) => {
    const state = row.applied ? style.green("applied") : style.yellow("pending");
    const when = row.appliedAt ? `  ${style.dim(row.appliedAt.toISOString())}` : "";
    const gone = row.file === null ? `  ${style.red("(its file is gone)")}` : "";
    return `${state}  ${row.name}${when}${gone}`;
  });
  const applied = rows.filter((row) => row.applied).length;
  return `${lines.join("\n")}\n${applied} applied, ${rows.length - applied} pending.`;
}

/**
 * Builds `tornado db` and its subcommands.
 *
 * @example
 * program.addCommand(dbCommand());
 */
export function dbCommand(): Command {
  const db = new Command("db")
    .description("The app's database: create and run migrations (migrations/*.sql), show their status, run the seed file.")
    .addHelpText(
      "after",
      `\nIn an app: ${scriptCommand("db:create", ["create_orders"], "npm")}, npm run db:migrate, npm run db:rollback, npm run db:status, npm run db:seed.\nThe database is DATABASE_URL (from the environment or .env), else the app's embedded PostgreSQL (.tornado/db); in the schema DATABASE_SCHEMA (default public).`,
    )
    .exitOverride();

  db.command("create")
    .argument("<name>", "what the migration does, in any case: create_orders, AddPaidToOrders")
    .description(`Writes ${MIGRATIONS_DIR}/<timestamp>_<name>.sql with an Up and a Down section to fill in; never overwrites.`)
    .exitOverride()
    .action((name: string) => {
      const root = findAppRoot(process.cwd());
      const file = createMigration(root, name);
      say(`Created ${file}: write its -- Up Migration and -- Down Migration SQL, then run npm run db:migrate.`);
    });

  db.command("migrate")
    .description("Applies every pending migration, oldest first, each in its own transaction; waits while another process migrates.")
    .option("--count <n>", "apply at most this many")
    .exitOverride()
    .action((options: { count?: string }) =>
      inApp(async (_root, target) => {
        const ran = await migrate({ ...target, count: options.count === undefined ? undefined : parseCount(options.count), log: say });
        say(ran.length === 0 ? "No pending migrations: the database is up to date." : `Applied ${plural(ran.length, "migration")}.`);
      }, true),
    );

  db.command("rollback")
    .description("Rolls back the newest applied migration (or the newest --count), running its Down section in a transaction.")
    .option("--count <n>", "how many to roll back, newest first", "1")
    .exitOverride()
    .action((options: { count: string }) =>
      inApp(async (_root, target) => {
        const ran = await migrate({ ...target, direction: "down", count: parseCount(options.count), log: say });
        say(ran.length === 0 ? "No applied migrations to roll back." : `Rolled back ${plural(ran.length, "migration")}.`);
      }, true),
    );

  db.command("status")
    .description("Lists every migration, oldest first, applied or pending.")
    .option("--json", "print JSON instead of a table")
    .exitOverride()
    .action((options: { json?: boolean }) =>
      inApp(async (_root, target) => {
        const rows = await migrationStatus(target);
        say(options.json ? JSON.stringify(rows, null, 2) : formatStatus(rows));
      }),
    );

  db.command("seed")
    .description(`Runs the seed file (${SEED_FILE}, plain SQL) in one transaction; write it so that running it twice changes nothing.`)
    .option("--file <file>", "another seed file", SEED_FILE)
    .exitOverride()
    .action((options: { file: string }) =>
      inApp(async (_root, target) => {
        await seed({ ...target, file: options.file });
        say(`Ran ${options.file}.`);
      }),
    );
  return db;
}

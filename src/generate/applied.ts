/**
 * Before `tornado destroy resource` deletes a migration: is it applied to the app's database
 * (a row in `pgmigrations`)? Deleting the file of an applied migration would leave its table
 * behind with nothing to roll it back.
 */

import { existsSync, readdirSync } from "node:fs";
import { basename, relative, resolve } from "node:path";
import { loadDotenv } from "../cli/env.js";
import { UserError } from "../cli/errors.js";
import { scriptCommand } from "../cli/scripts.js";
import { migrationStatus, openDatabase, type MigrationState } from "../../runtime/db.js";

/**
 * Where the applied migrations are looked up: the app's `DATABASE_URL` and `DATABASE_SCHEMA`
 * (the environment over `.env`); without a URL, its embedded PostgreSQL when its folder
 * (`EMBEDDED_DB_DIR`, default `.tornado/db`) exists; `null` when the app has no database yet.
 *
 * @example
 * appDatabaseTarget("/home/me/my-api") // { url: "postgres://…", schema: undefined, label: "the database at DATABASE_URL" }
 */
export function appDatabaseTarget(
  root: string,
  environment: NodeJS.ProcessEnv = process.env,
): { url?: string; embeddedDir?: string; schema: string | undefined; label: string } | null {
  const env = { ...loadDotenv(root, environment), ...environment };
  const schema = env.DATABASE_SCHEMA || undefined;
  if (env.DATABASE_URL) return { url: env.DATABASE_URL, schema, label: "the database at DATABASE_URL" };
  const dir = resolve(root, env.EMBEDDED_DB_DIR || ".tornado/db");
  if (!existsSync(dir) || readdirSync(dir).length === 0) return null;
  return { embeddedDir: dir, schema, label: `the embedded database in ${relative(root, dir) || dir}` };
}

/**
 * The rollback that undoes `file` and every migration applied after it, as a command line:
 * `npm run db:rollback` for the newest, `npm run db:rollback -- --count 3` for one further back.
 *
 * @example
 * rollbackCommand(states, "20261207085216743_create_orders") // "npm run db:rollback"
 */
export function rollbackCommand(states: readonly MigrationState[], name: string): string {
  const count = states.filter((s) => s.applied && s.name >= name).length;
  return scriptCommand("db:rollback", count > 1 ? ["--count", String(count)] : []);
}

/**
 * Refuses (a `UserError`) when one of `files` (migrations, relative to the app root) is applied
 * to the app's database (DATABASE_URL, or the embedded one), naming the rollback to run first.
 * An app with no database yet has applied nothing; a database that cannot be reached is a
 * refusal too (it might be applied).
 *
 * @example
 * await refuseAppliedMigrations(root, ["migrations/20261207085216743_create_orders.sql"]);
 */
export async function refuseAppliedMigrations(root: string, files: readonly string[]): Promise<void> {
  if (files.length === 0) return;
  const target = appDatabaseTarget(root);
  if (target === null) return;
  let states: MigrationState[];
  const cwd = process.cwd();
  const database = target.embeddedDir !== undefined ? openDatabase({ dir: target.embeddedDir, schema: target.schema, poolSize: 1 }) : undefined;
  try {
    process.chdir(root);
    states = await migrationStatus({ url: target.url, database, schema: target.schema, dir: "migrations" });
  } catch (error) {
    throw new UserError(
      `Could not check whether ${files.join(", ")} ${files.length === 1 ? "is" : "are"} applied to ${target.label} (${(error as Error).message.split("\n")[0]}); start the database and run again. Nothing was removed.`,
    );
  } finally {
    process.chdir(cwd);
    await database?.close();
  }
  for (const file of files) {
    const name = basename(file, ".sql");
    if (states.some((s) => s.applied && s.name === name)) {
      throw new UserError(`${file} is applied to ${target.label}: roll it back first with ${rollbackCommand(states, name)}, then run destroy again. Nothing was removed.`);
    }
  }
}

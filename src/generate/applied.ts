/**
 * Before `tornado destroy resource` deletes a migration: is it applied to the app's database
 * (a row in `pgmigrations`)? Deleting the file of an applied migration would leave its table
 * behind with nothing to roll it back.
 */

import { basename } from "node:path";
import { loadDotenv } from "../cli/env.js";
import { UserError } from "../cli/errors.js";
import { scriptCommand } from "../cli/scripts.js";
import { migrationStatus, type MigrationState } from "../../runtime/db.js";

/**
 * Where the applied migrations are looked up: the app's `DATABASE_URL` and `DATABASE_SCHEMA`
 * (the environment over `.env`), or `null` when the app names no database.
 *
 * @example
 * appDatabaseTarget("/home/me/my-api") // { url: "postgres://…", schema: undefined }
 */
export function appDatabaseTarget(root: string, environment: NodeJS.ProcessEnv = process.env): { url: string; schema: string | undefined } | null {
  const env = { ...loadDotenv(root, environment), ...environment };
  if (!env.DATABASE_URL) return null;
  return { url: env.DATABASE_URL, schema: env.DATABASE_SCHEMA || undefined };
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
 * to the app's database, naming the rollback to run first. An app that names no database has
 * applied nothing; a database that cannot be reached is a refusal too (it might be applied).
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
  try {
    process.chdir(root);
    states = await migrationStatus({ ...target, dir: "migrations" });
  } catch (error) {
    throw new UserError(
      `Could not check whether ${files.join(", ")} ${files.length === 1 ? "is" : "are"} applied to DATABASE_URL (${(error as Error).message.split("\n")[0]}); start the database and run again. Nothing was removed.`,
    );
  } finally {
    process.chdir(cwd);
  }
  for (const file of files) {
    const name = basename(file, ".sql");
    if (states.some((s) => s.applied && s.name === name)) {
      throw new UserError(`${file} is applied to the database (DATABASE_URL): roll it back first with ${rollbackCommand(states, name)}, then run destroy again. Nothing was removed.`);
    }
  }
}

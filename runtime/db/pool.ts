/**
 * The one implementation of `Database`: a `pg` pool, whatever the server (DATABASE_URL or the
 * embedded one). It keeps apart the two ways a query can take too long:
 * - waiting for a free connection, bounded by `acquireTimeout`: `DatabaseBusyError` (503), and
 *   the query never starts;
 * - running, bounded by PostgreSQL's own `statement_timeout` (set on every connection), which
 *   starts only once the statement reaches the server: `QueryTimeoutError` (504).
 * An aborted signal cancels the statement in the server with `pg_cancel_backend`, sent on a
 * connection of its own (the pool may be full of the very queries that need cancelling).
 */

import type { Client, Pool, PoolClient, PoolConfig } from "pg";
import { appLog } from "../log.js";
import { DatabaseBusyError, DatabaseUnavailableError, QueryCancelledError, QueryTimeoutError } from "./errors.js";
import { quoteIdentifier, type Database, type DatabaseStatus, type QueryCounts, type QueryOptions, type Queryable, type ResolvedOptions } from "./types.js";

// SQLSTATE 57014: "canceling statement due to user request" or "… due to statement timeout".
const QUERY_CANCELED = "57014";

type PgModule = typeof import("pg");

/** A server to connect to, and how to let go of it once the pool is closed. */
export interface Target {
  url: string;
  /** Called once by `close()`, after the pool has ended. */
  release(): Promise<void>;
}

/**
 * A `Database` over a `pg` pool. `open` finds the server (embedded: starts or joins it).
 *
 * @example
 * const db = new PoolDatabase("postgres", "PostgreSQL at …", resolveOptions(), async () => ({ url, release: async () => {} }));
 */
export class PoolDatabase implements Database {
  readonly kind: "postgres" | "embedded";
  readonly description: string;
  readonly ready: Promise<void>;
  private state: DatabaseStatus = "starting";
  private pg: PgModule | undefined;
  private pool: Pool | undefined;
  private poolConfig: PoolConfig | undefined;
  private target: Target | undefined;
  private canceller: Promise<Client> | undefined;
  private running = 0;
  private waiting = 0;
  private cancelled = 0;
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(kind: "postgres" | "embedded", description: string, private readonly options: ResolvedOptions, open: () => Promise<Target>) {
    this.kind = kind;
    this.description = description;
    this.ready = this.open(open);
    this.ready.then(
      () => (this.state = "ready"),
      () => (this.state = "failed"),
    );
  }

  get status(): DatabaseStatus {
    return this.state;
  }

  async connectionString(): Promise<string> {
    await this.ready;
    return this.target!.url;
  }

  async query<Row = Record<string, unknown>>(sql: string, params: unknown[] = [], { signal, statementTimeout }: QueryOptions = {}): Promise<Row[]> {
    if (statementTimeout !== undefined && (!Number.isInteger(statementTimeout) || statementTimeout < 1)) {
      throw new RangeError(`statementTimeout must be a positive whole number of ms, not ${statementTimeout}`);
    }
    await this.whenReady(signal);
    const client = await this.acquire(signal);
    let broken: Error | undefined;
    try {
      const timeout = statementTimeout ?? this.options.statementTimeout;
      if (timeout === this.options.statementTimeout) return await this.run<Row>(client, sql, params, signal);
      await client.query(`SET statement_timeout = ${timeout}`);
      try {
        return await this.run<Row>(client, sql, params, signal, timeout);
      } finally {
        await client.query(`SET statement_timeout = ${this.options.statementTimeout}`);
      }
    } catch (error) {
      broken = brokenConnection(error);
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    await this.whenReady(undefined);
    const client = await this.acquire(undefined);
    let broken: Error | undefined;
    try {
      await this.run(client, "BEGIN", [], undefined);
      const tx: Queryable = { query: (sql, params = [], { signal } = {}) => this.run(client, sql, params, signal) };
      let result: T;
      try {
        result = await work(tx);
      } catch (error) {
        await this.run(client, "ROLLBACK", [], undefined).catch((rollbackError: unknown) => (broken = rollbackError as Error));
        throw error;
      }
      await this.run(client, "COMMIT", [], undefined);
      return result;
    } catch (error) {
      broken ??= brokenConnection(error);
      throw error;
    } finally {
      client.release(broken);
    }
  }

  counts(): QueryCounts {
    return { running: this.running, waiting: this.waiting, cancelled: this.cancelled };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      // A database that failed to open has let go of everything already.
      if (!(await this.ready.then(() => true, () => false))) return;
      const canceller = this.canceller;
      this.canceller = undefined;
      await Promise.all([this.pool!.end(), canceller?.then((c) => c.end()).catch(() => {})]);
      await this.target!.release();
    })();
    return this.closing;
  }

  private async open(open: () => Promise<Target>): Promise<void> {
    try {
      this.pg = (await import("pg")).default as unknown as PgModule;
    } catch (error) {
      throw new DatabaseUnavailableError("tornado/db needs the `pg` package: add it to the app's dependencies (npm install pg)", { cause: error });
    }
    try {
      this.target = await open();
    } catch (error) {
      if (error instanceof DatabaseUnavailableError) throw error;
      throw new DatabaseUnavailableError(`cannot open the database: ${(error as Error).message}`, { cause: error });
    }
    const { schema, statementTimeout, poolSize } = this.options;
    // Every connection looks up names in `schema` first, and PostgreSQL stops its statements
    // after `statementTimeout` ms of running (the wait for a connection is not counted).
    this.poolConfig = { connectionString: this.target.url, options: `-c search_path=${quoteIdentifier(schema)},public -c statement_timeout=${statementTimeout}` };
    const pool = new this.pg.Pool({ ...this.poolConfig, max: poolSize });
    this.pool = pool;
    // An idle connection can fail (the server restarted); pg then discards it. Without a
    // listener the error would end the process.
    pool.on("error", (error) => appLog.error(`database: an idle connection failed: ${error.message}`));
    try {
      // Connects once, so that `ready` means the server takes queries.
      if (schema === "public") await pool.query("SELECT 1");
      else {
        await pool.query(
          `DO $$ BEGIN PERFORM pg_advisory_xact_lock(hashtext('tornado/db schema ' || ${literal(schema)}));
             EXECUTE 'CREATE SCHEMA IF NOT EXISTS ' || ${literal(quoteIdentifier(schema))}; END $$`,
        );
      }
      if (this.options.setup) {
        await this.options.setup({ query: async (sql, params = [], { signal } = {}) => this.runOnPool(sql, params, signal) }, { url: this.target.url, schema });
      }
    } catch (error) {
      await Promise.all([pool.end().catch(() => {}), this.target.release().catch(() => {})]);
      const address = redact(this.target.url);
      throw new DatabaseUnavailableError(`cannot prepare the database at ${address}: ${(error as Error).message}`, { cause: error });
    }
  }

  private async runOnPool<Row>(sql: string, params: unknown[], signal: AbortSignal | undefined): Promise<Row[]> {
    const client = await this.acquire(signal);
    let broken: Error | undefined;
    try {
      return await this.run<Row>(client, sql, params, signal);
    } catch (error) {
      broken = brokenConnection(error);
      throw error;
    } finally {
      client.release(broken);
    }
  }

  // Queries made while the database opens wait for it (counted as waiting).
  private async whenReady(signal: AbortSignal | undefined): Promise<void> {
    if (this.closed) throw new DatabaseUnavailableError("the database is closed");
    if (this.state === "ready") return;
    this.waiting++;
    try {
      await (signal ? Promise.race([this.ready, aborted(signal)]) : this.ready);
    } catch (error) {
      if (signal?.aborted) {
        this.cancelled++;
        throw cancelledError(signal);
      }
      throw error;
    } finally {
      this.waiting--;
    }
  }

  // Waits at most acquireTimeout for a connection. A query that gives up (timeout, abort) is
  // never run: the connection, when pg hands it over, goes straight back to the pool.
  private async acquire(signal: AbortSignal | undefined): Promise<PoolClient> {
    if (this.closed) throw new DatabaseUnavailableError("the database is closed");
    if (signal?.aborted) {
      this.cancelled++;
      throw cancelledError(signal);
    }
    const { acquireTimeout, poolSize } = this.options;
    this.waiting++;
    const connecting = this.pool!.connect();
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      return await Promise.race([
        connecting,
        new Promise<never>((_resolve, reject) => {
          const giveUp = (error: Error) => {
            connecting.then((client) => client.release(), () => {});
            reject(error);
          };
          timer = setTimeout(() => {
            giveUp(new DatabaseBusyError(`the database is busy: no connection came free in ${acquireTimeout} ms (all ${poolSize} are in use)`, acquireTimeout / 1000));
          }, acquireTimeout);
          if (signal) {
            onAbort = () => {
              this.cancelled++;
              giveUp(cancelledError(signal));
            };
            signal.addEventListener("abort", onAbort, { once: true });
          }
        }),
      ]);
    } catch (error) {
      if (error instanceof DatabaseBusyError || error instanceof QueryCancelledError) throw error;
      throw new DatabaseUnavailableError(`cannot connect to the database: ${(error as Error).message}`, { cause: error });
    } finally {
      this.waiting--;
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener("abort", onAbort);
    }
  }

  // Runs one statement on `client`; an abort of `signal` cancels it in the server. Resolves
  // only once a cancel aimed at this connection has been handled, so that it can never hit the
  // next statement to use it.
  private async run<Row>(client: PoolClient, sql: string, params: unknown[], signal: AbortSignal | undefined, timeout = this.options.statementTimeout): Promise<Row[]> {
    if (signal?.aborted) {
      this.cancelled++;
      throw cancelledError(signal);
    }
    let cancelling: Promise<void> | undefined;
    const cancel = () => {
      this.cancelled++;
      cancelling = this.cancelBackend(client).catch((error: Error) => appLog.error(`database: could not cancel a query: ${error.message}`));
    };
    signal?.addEventListener("abort", cancel, { once: true });
    this.running++;
    try {
      const result = await client.query(sql, params);
      return (Array.isArray(result) ? (result.at(-1)?.rows ?? []) : result.rows) as Row[];
    } catch (error) {
      if ((error as { code?: string }).code === QUERY_CANCELED) {
        if (signal?.aborted) throw cancelledError(signal, error);
        if (/statement timeout/.test((error as Error).message)) {
          this.cancelled++;
          throw new QueryTimeoutError(timeout, { cause: error });
        }
      }
      throw error;
    } finally {
      this.running--;
      signal?.removeEventListener("abort", cancel);
      await cancelling;
    }
  }

  private async cancelBackend(client: PoolClient): Promise<void> {
    const pid = (client as unknown as { processID?: number }).processID;
    if (!pid) throw new Error("the connection's server process is unknown");
    this.canceller ??= this.openCanceller();
    const canceller = await this.canceller;
    await canceller.query("SELECT pg_cancel_backend($1)", [pid]);
  }

  private openCanceller(): Promise<Client> {
    const client = new this.pg!.Client(this.poolConfig);
    const forget = () => {
      if (this.canceller === opened) this.canceller = undefined;
    };
    client.on("error", forget);
    const opened = client.connect().then(() => client);
    opened.catch(forget);
    return opened;
  }
}

// An error from PostgreSQL leaves the connection usable; any other (the connection broke)
// means it must not go back to the pool.
function brokenConnection(error: unknown): Error | undefined {
  if (error instanceof QueryCancelledError || error instanceof QueryTimeoutError) return undefined;
  const code = (error as { code?: unknown }).code;
  const fromServer = typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) && (error as { severity?: unknown }).severity !== undefined;
  return fromServer ? undefined : (error as Error);
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

function cancelledError(signal: AbortSignal, cause?: unknown): QueryCancelledError {
  const reason: unknown = signal.reason;
  const why = reason instanceof Error ? `: ${reason.message}` : "";
  return new QueryCancelledError(`the query was cancelled${why}`, { cause });
}

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * A URL with its password replaced by `***`, for logs.
 *
 * @example
 * redact("postgres://u:secret@h/db") // "postgres://u:***@h/db"
 */
export function redact(url: string): string {
  try {
    const address = new URL(url);
    if (address.password) address.password = "***";
    return address.href;
  } catch {
    return "(a database URL that does not parse)";
  }
}

/**
 * PostgreSQL through a `pg` pool. A query whose signal is aborted is stopped on the server with
 * `pg_cancel_backend(pid)`, sent on a connection of its own: the pool may be full of the very
 * queries that need cancelling.
 */

import pg from "pg";
import { DatabaseUnavailableError, QueryCancelledError, trackStatus, type Database, type DatabaseStatus, type QueryCounts, type QueryOptions } from "./database.js";
import { quoteIdentifier, schemaSql } from "./schema.js";

// SQLSTATE 57014: "canceling statement due to user request", what pg_cancel_backend causes.
const QUERY_CANCELED = "57014";

/** How to reach PostgreSQL. */
export interface PostgresOptions {
  url: string;
  /** The schema holding the tables; created if missing, and first on the search path. */
  schema: string;
  poolSize: number;
}

/**
 * A PostgreSQL database behind a pool of `poolSize` connections.
 *
 * @example
 * const db = new PostgresDatabase({ url: "postgres://postgres@127.0.0.1:5432/app", schema: "public", poolSize: 10 });
 */
export class PostgresDatabase implements Database {
  readonly kind = "postgres";
  readonly description: string;
  readonly ready: Promise<void>;
  private readonly readiness: { status: DatabaseStatus };
  private readonly config: pg.PoolConfig;
  private readonly pool: pg.Pool;
  // The server process behind each connection, for pg_cancel_backend.
  private readonly backendPids = new WeakMap<pg.PoolClient, number>();
  private canceller: Promise<pg.Client> | undefined;
  private running = 0;
  private waiting = 0;
  private cancelled = 0;
  private closed = false;

  constructor({ url, schema, poolSize }: PostgresOptions) {
    const address = new URL(url);
    address.password = address.password ? "***" : "";
    this.description = `PostgreSQL at ${address.href} (schema ${schema}, pool of ${poolSize} connections)`;
    // Every connection looks up unqualified names in `schema` first.
    this.config = { connectionString: url, options: `-c search_path=${quoteIdentifier(schema)}` };
    this.pool = new pg.Pool({ ...this.config, max: poolSize });
    // An idle connection can fail (the server restarted); pg then discards it. Without a
    // listener the error would end the process.
    this.pool.on("error", (error) => console.error(`PostgreSQL: an idle connection failed: ${error.message}`));
    this.ready = this.createSchema(schema).catch((error: Error) => {
      throw new DatabaseUnavailableError(`cannot prepare PostgreSQL at ${address.href}: ${error.message}`, { cause: error });
    });
    this.ready.catch(() => {}); // reported by whoever awaits it (main.ts, or a query)
    this.readiness = trackStatus(this.ready);
  }

  get status(): DatabaseStatus {
    return this.readiness.status;
  }

  async query<Row = Record<string, unknown>>(sql: string, params: unknown[] = [], { signal }: QueryOptions = {}): Promise<Row[]> {
    if (this.closed) throw new DatabaseUnavailableError("the database is closed");
    await this.ready;
    const client = await this.connect(signal);
    let cancelling: Promise<void> | undefined;
    let broken: Error | undefined;
    const cancel = () => {
      this.cancelled++;
      cancelling = this.cancelBackend(client);
    };
    this.running++;
    try {
      if (!this.backendPids.has(client)) {
        const [row] = (await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows;
        this.backendPids.set(client, row!.pid);
      }
      if (signal?.aborted) {
        this.cancelled++;
        throw abortedError(signal);
      }
      signal?.addEventListener("abort", cancel, { once: true });
      const result = await client.query(sql, params);
      return result.rows as Row[];
    } catch (error) {
      if (signal?.aborted && (error as { code?: string }).code === QUERY_CANCELED) throw abortedError(signal);
      // An error from PostgreSQL leaves the connection usable; any other (the connection
      // broke) means it must not go back to the pool.
      if (!(error instanceof pg.DatabaseError)) broken = error as Error;
      throw error;
    } finally {
      signal?.removeEventListener("abort", cancel);
      this.running--;
      // A connection goes back to the pool only once a cancel aimed at it has been handled, so
      // that it can never hit the next query to use it.
      void Promise.resolve(cancelling)
        .catch((error: Error) => console.error(`PostgreSQL: could not cancel a query: ${error.message}`))
        .finally(() => client.release(broken));
    }
  }

  counts(): QueryCounts {
    return { running: this.running, waiting: this.waiting, cancelled: this.cancelled };
  }

  async close(): Promise<void> {
    this.closed = true;
    const canceller = this.canceller;
    this.canceller = undefined;
    await Promise.all([this.pool.end(), canceller?.then((c) => c.end()).catch(() => {})]);
  }

  private async createSchema(schema: string): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query(schemaSql(schema));
      client.release();
    } catch (error) {
      // A failed multi-statement transaction leaves the connection in it: throw it away.
      client.release(error as Error);
      throw error;
    }
  }

  // Waits for a connection; a query aborted while waiting gives up its place (the connection,
  // when it comes, goes straight back to the pool).
  private async connect(signal: AbortSignal | undefined): Promise<pg.PoolClient> {
    if (signal?.aborted) {
      this.cancelled++;
      throw abortedError(signal);
    }
    this.waiting++;
    const connecting = this.pool.connect();
    let onAbort: (() => void) | undefined;
    try {
      if (!signal) return await connecting;
      return await Promise.race([
        connecting,
        new Promise<never>((_resolve, reject) => {
          onAbort = () => {
            this.cancelled++;
            connecting.then((client) => client.release(), () => {});
            reject(abortedError(signal));
          };
          signal.addEventListener("abort", onAbort, { once: true });
        }),
      ]);
    } finally {
      this.waiting--;
      if (onAbort) signal?.removeEventListener("abort", onAbort);
    }
  }

  private async cancelBackend(client: pg.PoolClient): Promise<void> {
    const pid = this.backendPids.get(client)!;
    this.canceller ??= this.openCanceller();
    const canceller = await this.canceller;
    await canceller.query("SELECT pg_cancel_backend($1)", [pid]);
  }

  private openCanceller(): Promise<pg.Client> {
    const client = new pg.Client(this.config);
    const forget = () => {
      if (this.canceller === opened) this.canceller = undefined;
    };
    client.on("error", forget);
    const opened = client.connect().then(() => client);
    opened.catch(forget);
    return opened;
  }
}

function abortedError(signal: AbortSignal): QueryCancelledError {
  const reason: unknown = signal.reason;
  return new QueryCancelledError(reason instanceof Error ? `the query was cancelled: ${reason.message}` : undefined);
}

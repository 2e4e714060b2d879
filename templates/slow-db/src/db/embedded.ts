/**
 * The embedded database: PGlite (PostgreSQL compiled to WebAssembly) in a worker thread, with
 * its files in a folder of the app. No server to install, and the same SQL as PostgreSQL.
 *
 * PGlite runs one statement at a time, so queries queue here, in the server's thread, and go
 * to the worker one by one. Cancelling a query that is still queued removes it. A statement
 * that is already running cannot be interrupted from outside (PGlite has no second
 * connection for pg_cancel_backend, and statement_timeout never fires inside WebAssembly), so
 * cancelling it ends the worker thread, which stops the statement at once, and a new worker
 * reopens the folder: like PostgreSQL after a crash, it rolls back what was not committed.
 * Reopening takes about a second; queries queued meanwhile wait for it.
 */

import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { DatabaseUnavailableError, QueryCancelledError, trackStatus, type Database, type DatabaseStatus, type QueryCounts, type QueryOptions } from "./database.js";
import { EMBEDDED_WORKER_SOURCE, type Statement, type StatementReply, type WorkerConfig, type WorkerReply, type WorkerRequest } from "./embedded-worker.js";
import { acquireOwnerLock } from "./owner-lock.js";
import { schemaSql } from "./schema.js";

interface Job {
  id: number;
  request: WorkerRequest;
  resolve(rows: Record<string, unknown>[]): void;
  reject(error: Error): void;
  /** Detaches the job from its signal. */
  done(): void;
}

/** Where the embedded database keeps its files. */
export interface EmbeddedOptions {
  /** The folder: PGlite's files go in `<dir>/data`, the owning process in `<dir>/owner.pid`. */
  dir: string;
}

/**
 * PGlite in a worker thread, one statement at a time.
 *
 * @example
 * const db = new EmbeddedDatabase({ dir: ".pglite" });
 * await db.ready;
 */
export class EmbeddedDatabase implements Database {
  readonly kind = "embedded";
  readonly description: string;
  readonly ready: Promise<void>;
  private readonly readiness: { status: DatabaseStatus };
  private readonly config: WorkerConfig;
  private worker: Worker | undefined; // set while a worker is open and taking statements
  private readonly queue: Job[] = [];
  private current: Job | undefined;
  private nextId = 1;
  private cancelled = 0;
  private closed = false;
  private readonly closing = new AbortController();
  private failure: Error | undefined;
  private releaseLock: (() => void) | undefined;

  constructor({ dir }: EmbeddedOptions) {
    const pglite = createRequire(import.meta.url).resolve("@electric-sql/pglite");
    this.config = { pgliteUrl: pathToFileURL(pglite).href, dataDir: join(dir, "data") };
    this.description = `embedded PGlite (no DATABASE_URL), files in ${join(dir, "data")}, queries run in a worker thread`;
    this.ready = this.open(dir);
    this.ready.catch(() => {}); // reported by whoever awaits it (main.ts, or a query)
    this.readiness = trackStatus(this.ready);
  }

  get status(): DatabaseStatus {
    return this.failure ? "failed" : this.readiness.status;
  }

  async query<Row = Record<string, unknown>>(sql: string, params: unknown[] = [], { signal }: QueryOptions = {}): Promise<Row[]> {
    await this.ready;
    return (await this.enqueue({ sql, params, multi: false }, signal)) as Row[];
  }

  counts(): QueryCounts {
    return { running: this.current ? 1 : 0, waiting: this.queue.length, cancelled: this.cancelled };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    for (const job of this.queue.splice(0)) {
      job.done();
      job.reject(new DatabaseUnavailableError("the database is closed"));
    }
    const worker = this.worker;
    this.worker = undefined;
    const running = this.current;
    this.current = undefined;
    running?.done();
    running?.reject(new DatabaseUnavailableError("the database was closed while the query ran"));
    // Between statements, PGlite closes cleanly (a checkpoint); in the middle of one (the
    // server did not wait for it) the worker just ends, and the next start recovers.
    if (worker && !running) {
      worker.ref();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 5000);
        worker.once("message", () => resolve(clearTimeout(timer)));
        worker.postMessage({ id: 0, close: true } satisfies WorkerRequest);
      });
    }
    await worker?.terminate();
    this.releaseLock?.();
  }

  private async open(dir: string): Promise<void> {
    mkdirSync(dir, { recursive: true });
    this.releaseLock = await acquireOwnerLock(
      join(dir, "owner.pid"),
      (pid) => console.log(`Database: waiting for process ${pid} to let go of ${dir} (the embedded database serves one process; set DATABASE_URL to run several)`),
      this.closing.signal,
    );
    try {
      if (this.closed) throw new DatabaseUnavailableError("the database is closed");
      await this.startWorker();
      await this.enqueue({ sql: schemaSql("public"), params: [], multi: true }, undefined);
    } catch (error) {
      const worker = this.worker;
      this.worker = undefined;
      await worker?.terminate();
      this.releaseLock();
      throw error instanceof DatabaseUnavailableError ? error : new DatabaseUnavailableError(`cannot open the embedded database in ${dir}: ${(error as Error).message}`, { cause: error });
    }
  }

  private enqueue(statement: Statement, signal: AbortSignal | undefined): Promise<Record<string, unknown>[]> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new DatabaseUnavailableError("the database is closed"));
    if (signal?.aborted) {
      this.cancelled++;
      return Promise.reject(cancelledError(signal));
    }
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      const onAbort = () => this.cancel(job, signal!);
      const job: Job = { id, request: { ...statement, id }, resolve, reject, done: () => signal?.removeEventListener("abort", onAbort) };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.queue.push(job);
      this.pump();
    });
  }

  // Sends the next statement when the worker is open and idle.
  private pump(): void {
    if (!this.worker || this.current || this.queue.length === 0) return;
    const job = this.queue.shift()!;
    this.current = job;
    this.worker.ref();
    this.worker.postMessage(job.request);
  }

  private settle(reply: StatementReply): void {
    const job = this.current;
    if (!job || job.id !== reply.id) return;
    this.current = undefined;
    this.worker?.unref(); // an idle database does not keep the process alive
    job.done();
    if ("error" in reply) job.reject(Object.assign(new Error(reply.error.message), { code: reply.error.code }));
    else job.resolve(reply.rows);
    this.pump();
  }

  private cancel(job: Job, signal: AbortSignal): void {
    const queued = this.queue.indexOf(job);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
    } else if (this.current === job) {
      this.current = undefined;
      this.restartWorker();
    } else {
      return; // already answered
    }
    this.cancelled++;
    job.reject(cancelledError(signal));
  }

  // Ends the worker (stopping whatever statement it runs) and opens a new one on the same files.
  private restartWorker(error?: Error): void {
    const old = this.worker;
    this.worker = undefined;
    void old?.terminate();
    const running = this.current;
    this.current = undefined;
    if (running && error) {
      running.done();
      running.reject(error);
    }
    if (this.closed) return;
    this.startWorker().then(
      () => this.pump(),
      (failure: Error) => {
        this.failure = new DatabaseUnavailableError(`the embedded database could not be reopened: ${failure.message}`, { cause: failure });
        console.error(`Database: ${this.failure.message}`);
        for (const job of this.queue.splice(0)) {
          job.done();
          job.reject(this.failure);
        }
      },
    );
  }

  private startWorker(): Promise<void> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(EMBEDDED_WORKER_SOURCE, { eval: true, workerData: this.config });
      let opened = false;
      worker.on("message", (reply: WorkerReply) => {
        if ("type" in reply) {
          if (reply.type === "failed") {
            reject(new Error(reply.message));
            void worker.terminate();
          } else if (this.closed) {
            reject(new DatabaseUnavailableError("the database is closed"));
            void worker.terminate();
          } else {
            opened = true;
            this.worker = worker;
            worker.unref();
            resolve();
            this.pump();
          }
        } else if (worker === this.worker) {
          this.settle(reply);
        }
      });
      worker.on("error", (error) => {
        if (!opened) reject(error);
        else if (worker === this.worker) this.crashed(error);
      });
      worker.on("exit", (code) => {
        if (!opened) reject(new Error(`the worker exited (code ${code}) before the database opened`));
        else if (worker === this.worker && !this.closed) this.crashed(new Error(`the worker exited (code ${code})`));
      });
    });
  }

  private crashed(error: Error): void {
    console.error(`Database: the embedded database's worker failed (${error.message}); reopening it`);
    this.restartWorker(error);
  }
}

function cancelledError(signal: AbortSignal): QueryCancelledError {
  const reason: unknown = signal.reason;
  return new QueryCancelledError(reason instanceof Error ? `the query was cancelled: ${reason.message}` : undefined);
}

import { Finish, HTTPError, RequestHandler, type ErrorDetails } from "tornado";
import { TimeoutError, withTimeout } from "tornado/gen";
import type { Releaser } from "tornado/locks";
import type { AppSettings } from "../app.js";
import { DatabaseUnavailableError, QueryCancelledError, type Database } from "../db/database.js";
import type { Turns } from "../turns.js";

/**
 * Base for this app's handlers: JSON error bodies, and `query()`, which runs a statement under
 * the query timeout and stops it when the client goes away.
 */
export class DatabaseHandler extends RequestHandler {
  override get settings(): AppSettings {
    return super.settings;
  }

  protected get db(): Database {
    const db = this.settings.db;
    if (!db) throw new Error("the db setting is missing");
    return db;
  }

  /**
   * Runs one statement and resolves with its rows. Past `timeoutMs` (the queryTimeoutMs
   * setting) the answer is a 504 and the statement is stopped in the database; if the client
   * disconnects first, the statement is stopped too and the handler ends there (logged as 499).
   */
  protected async query<Row = Record<string, unknown>>(sql: string, params: unknown[] = [], timeoutMs = this.settings.queryTimeoutMs ?? 5000): Promise<Row[]> {
    // Time spent waiting for a database that is still opening (the embedded one creates its
    // files and orders on first start) is not the query's: answer at once that it is starting.
    if (this.db.status === "starting") {
      throw new HTTPError(503, "the database is still starting; try again in a few seconds", { headers: { "Retry-After": "2" } });
    }
    const cancel = new AbortController();
    const clientGone = this.request.signal;
    const onClientGone = () => cancel.abort(new Error("the client went away"));
    if (clientGone.aborted) onClientGone();
    else clientGone.addEventListener("abort", onClientGone, { once: true });
    const running = this.db.query<Row>(sql, params, { signal: cancel.signal });
    try {
      // The statement we cancel below then fails with QueryCancelledError: expected, so
      // withTimeout does not log it as a late failure.
      return await withTimeout(running, timeoutMs, { quietExceptions: QueryCancelledError });
    } catch (error) {
      if (error instanceof TimeoutError) {
        // withTimeout only stops waiting: stopping the statement itself is up to us.
        cancel.abort(new Error(`it ran past ${timeoutMs} ms`));
        throw new HTTPError(504, `the query took longer than ${timeoutMs} ms and was cancelled`);
      }
      if (clientGone.aborted) this.endForGoneClient();
      if (error instanceof DatabaseUnavailableError) throw new HTTPError(503, error.message, { headers: { "Retry-After": "5" } });
      throw error;
    } finally {
      clientGone.removeEventListener("abort", onClientGone);
    }
  }

  /**
   * Takes a turn from `turns` (see `Turns.take`): a 503 with Retry-After when there are too
   * many already; if the client leaves while waiting, the request ends there (499).
   *
   * @example
   * const turn = await this.takeTurn(this.settings.slowQueries);
   * try { … } finally { turn.release(); }
   */
  protected async takeTurn(turns: Turns | undefined): Promise<Releaser> {
    if (!turns) throw new Error("a Turns setting (heavyQueries, slowQueries, executorJobs) is missing");
    try {
      return await turns.take(this.request.signal);
    } catch (error) {
      if (this.request.signal.aborted) this.endForGoneClient();
      throw error;
    }
  }

  /**
   * Ends a request whose client has gone: nothing is sent (there is nobody to send it to), and
   * the access log shows 499, nginx's "client closed request".
   */
  protected endForGoneClient(): never {
    this.setStatus(499, "Client Closed Request");
    throw new Finish();
  }

  /**
   * The query argument `name` as a number from `min` to `max`; `fallback` when absent.
   *
   * @example
   * const seconds = this.numberArgument("seconds", 2, 0, 60);
   */
  protected numberArgument(name: string, fallback: number, min: number, max: number): number {
    const text = this.getQueryArgument(name, undefined);
    if (text === undefined) return fallback;
    const value = Number(text);
    if (text.trim() === "" || !Number.isFinite(value) || value < min || value > max) {
      throw new HTTPError(400, `${name} must be a number from ${min} to ${max}`);
    }
    return value;
  }

  /** Every error is JSON: `{ "error": { "status", "message" } }`. */
  override writeError(status: number, { error }: ErrorDetails): void {
    const explained = error instanceof HTTPError && error.logMessage && status !== 500;
    this.finish({ error: { status, message: explained ? error.logMessage : this.reason } });
  }
}

/** Answers paths no route matches with a JSON 404. */
export class NotFoundHandler extends DatabaseHandler {
  override prepare(): void {
    throw new HTTPError(404, `no route for ${this.request.path}`);
  }
}

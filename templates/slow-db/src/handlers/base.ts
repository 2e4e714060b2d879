import type { Releaser } from "tornado/locks";
import {
  type ErrorDetails,
  Finish,
  type HandlerSchemas,
  HTTPError,
  RequestHandler,
  RequestValidationError,
  withSchemas,
} from "tornado/web";
import type { AppSettings } from "../app.js";
import { type Database, DatabaseBusyError, DatabaseUnavailableError, QueryTimeoutError } from "../db/database.js";
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
   * Runs one statement and resolves with its rows. Waiting too long for one of the pool's
   * connections is a 503 with Retry-After (the statement never started); running past
   * `timeoutMs` (the queryTimeoutMs setting) is a 504, and PostgreSQL stops the statement; if
   * the client disconnects first, the statement is stopped too and the handler ends there
   * (logged as 499).
   */
  protected async query<Row = Record<string, unknown>>(
    sql: string,
    params: unknown[] = [],
    timeoutMs = this.settings.queryTimeoutMs,
  ): Promise<Row[]> {
    // Time spent waiting for a database that is still opening (the embedded one creates its
    // files and orders on first start) is not the query's: answer at once that it is starting.
    if (this.db.status === "starting") {
      throw new HTTPError(503, "the database is still starting; try again in a few seconds", {
        headers: { "Retry-After": "2" },
      });
    }
    try {
      return await this.db.query<Row>(sql, params, { signal: this.request.signal, statementTimeout: timeoutMs });
    } catch (error) {
      if (this.request.signal.aborted) this.endForGoneClient();
      if (error instanceof QueryTimeoutError) {
        throw new HTTPError(504, `the query took longer than ${error.timeoutMs} ms and was cancelled`);
      }
      if (error instanceof DatabaseBusyError) {
        throw new HTTPError(503, error.message, { headers: { "Retry-After": String(error.retryAfterSeconds) } });
      }
      if (error instanceof DatabaseUnavailableError)
        throw new HTTPError(503, error.message, { headers: { "Retry-After": "5" } });
      throw error;
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

  /** Every error is JSON: `{ "error": { "status", "message", "issues"? } }`. */
  override writeError(status: number, { error }: ErrorDetails): void {
    this.finish(errorBody(status, error, this.reason));
  }
}

// An issue's location names the field, and a field's name comes from the client: a bounded piece of it.
const MAX_LOCATION_LENGTH = 60;

/**
 * This app's error body (the `ApiError` schema): an HTTPError's message was written for the
 * client, any other error's is not (500); a request that failed its schemas lists its issues.
 *
 * @example
 * this.finish(errorBody(504, new HTTPError(504, "the query took too long"), "Gateway Timeout"));
 */
export function errorBody(
  status: number,
  error: unknown,
  reason: string,
): { error: { status: number; message: string; issues?: { location: string; message: string }[] } } {
  if (error instanceof RequestValidationError) {
    const issues = error.issues.map(({ location, message }) => ({
      location: location.length > MAX_LOCATION_LENGTH ? `${location.slice(0, MAX_LOCATION_LENGTH)}…` : location,
      message,
    }));
    return { error: { status, message: "Invalid request", issues } };
  }
  const explained = status !== 500 && error instanceof HTTPError && error.logMessage;
  return { error: { status, message: explained ? error.logMessage! : reason } };
}

/**
 * `withSchemas` over `DatabaseHandler`: each method declares its query, body and responses
 * (zod), checked before the method runs (a 400 listing each issue) and described at
 * `/openapi.json`. Errors keep this app's JSON shape.
 *
 * @example
 * export class SlowReportHandler extends withDbSchemas({ get: { query: SlowQuery } }) {
 *   async get() { const { seconds } = this.valid("get").query; … }
 * }
 */
export function withDbSchemas<S extends HandlerSchemas>(schemas: S) {
  abstract class SchemaDatabaseHandler extends withSchemas(schemas, DatabaseHandler) {
    override writeError(status: number, { error }: ErrorDetails): void {
      this.finish(errorBody(status, error, this.reason));
    }
  }
  return SchemaDatabaseHandler;
}

/** Answers paths no route matches with a JSON 404. */
export class NotFoundHandler extends DatabaseHandler {
  override prepare(): void {
    throw new HTTPError(404, `no route for ${this.request.path}`);
  }
}

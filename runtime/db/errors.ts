/**
 * The errors `tornado/db` rejects with. Each has a `code`, so that a handler can map it to an
 * answer without importing the class: busy → 503 with Retry-After, timeout → 504.
 */

/**
 * No connection came free within `acquireTimeout`: the database is busy. Answer 503 with
 * `Retry-After: retryAfterSeconds` (the query never started).
 *
 * @example
 * catch (e) { if (e instanceof DatabaseBusyError) throw new HTTPError(503, e.message, { headers: { "Retry-After": String(e.retryAfterSeconds) } }); }
 */
export class DatabaseBusyError extends Error {
  readonly code = "ERR_DATABASE_BUSY";
  /** How long a client might wait before trying again (whole seconds, at least 1). */
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds = 1) {
    super(message);
    this.name = "DatabaseBusyError";
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds));
  }
}

/**
 * The statement ran past `statementTimeout` and PostgreSQL stopped it (answer 504). The time
 * spent waiting for a connection does not count.
 *
 * @example
 * catch (e) { if (e instanceof QueryTimeoutError) throw new HTTPError(504, e.message); }
 */
export class QueryTimeoutError extends Error {
  readonly code = "ERR_QUERY_TIMEOUT";
  /** The statement timeout that ran out, in ms. */
  readonly timeoutMs: number;
  constructor(timeoutMs: number, options?: ErrorOptions) {
    super(`the query ran longer than ${timeoutMs} ms and was cancelled`, options);
    this.name = "QueryTimeoutError";
    this.timeoutMs = timeoutMs;
  }
}

/**
 * The query was stopped because its signal was aborted (a client that left, a deadline of the
 * caller's). A query still waiting for a connection never started; a running one was cancelled
 * in the database.
 *
 * @example
 * catch (e) { if (e instanceof QueryCancelledError) return; }
 */
export class QueryCancelledError extends Error {
  readonly code = "ERR_QUERY_CANCELLED";
  constructor(message = "the query was cancelled", options?: ErrorOptions) {
    super(message, options);
    this.name = "QueryCancelledError";
  }
}

/**
 * The database cannot take queries: it failed to open or start, or it is closed (answer 503).
 *
 * @example
 * catch (e) { if (e instanceof DatabaseUnavailableError) throw new HTTPError(503, e.message, { headers: { "Retry-After": "5" } }); }
 */
export class DatabaseUnavailableError extends Error {
  readonly code = "ERR_DATABASE_UNAVAILABLE";
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DatabaseUnavailableError";
  }
}

/** The errors a handler throws to end a request (Tornado's `HTTPError`, `MissingArgumentError`, `Finish`). */

import { responses } from "../httputil/request.js";
import type { Chunk } from "./handler/types.js";

/**
 * Options for `HTTPError`.
 *
 * @example
 * new HTTPError(429, "rate limited", { reason: "Slow Down", headers: { "Retry-After": "30" } });
 */
export interface HTTPErrorOptions {
  /** The reason phrase on the status line and error page (default: the standard one). */
  reason?: string;
  /** Headers to send with the error response (`Allow`, `Retry-After`, `WWW-Authenticate`, …). */
  headers?: Record<string, string>;
  /** The error that caused this one. */
  cause?: unknown;
}

/**
 * Throw from a handler to answer with an HTTP error status. The `logMessage` goes to the log
 * (warning on `tornado.general`), never to the client; the client sees the status and reason.
 *
 * @example
 * async get(id: string) {
 *   const user = await db.find(id);
 *   if (!user) throw new HTTPError(404, `no user ${id}`);
 *   this.write(user);
 * }
 */
export class HTTPError extends Error {
  /** Stable code to match on. */
  readonly code: string = "ERR_HTTP_ERROR";
  readonly status: number;
  readonly logMessage: string | undefined;
  readonly reason: string | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(status = 500, logMessage?: string, options: HTTPErrorOptions = {}) {
    const reason = options.reason ?? responses[status] ?? "Unknown";
    super(`HTTP ${status}: ${reason}${logMessage ? ` (${logMessage})` : ""}`, { cause: options.cause });
    this.name = "HTTPError";
    this.status = status;
    this.logMessage = logMessage;
    this.reason = options.reason;
    this.headers = options.headers;
  }
}

/**
 * A required argument was missing: a 400 whose log message names it. `getArgument(name)`
 * throws it.
 *
 * @example
 * try { this.getArgument("q"); } catch (e) { if (e instanceof MissingArgumentError) e.argName; } // "q"
 */
export class MissingArgumentError extends HTTPError {
  override readonly code = "ERR_MISSING_ARGUMENT";
  constructor(readonly argName: string) {
    super(400, `Missing argument ${argName}`);
    this.name = "MissingArgumentError";
  }
}

/**
 * Throw to end the request right there, successfully: no error page and no error log.
 * Anything already written is sent, plus `body` when given.
 *
 * @example
 * prepare() {
 *   if (this.request.headers.has("X-Ping")) throw new Finish("pong");
 * }
 */
export class Finish extends Error {
  /** Stable code to match on. */
  readonly code = "ERR_FINISH";
  constructor(readonly body?: Chunk) {
    super("Finish");
    this.name = "Finish";
  }
}

import { HTTPError, RequestHandler, type ErrorDetails } from "tornado";
import type { AppSettings } from "../app.js";

/** A 400 that names the request field that was wrong. */
export class ValidationError extends HTTPError {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(400, `${field}: ${problem}`);
  }
}

/** Base for this API's handlers: JSON error bodies (CORS is the runtime's `cors` setting, in app.ts). */
export class ApiHandler extends RequestHandler {
  override get settings(): AppSettings {
    return super.settings;
  }

  /** Every error is JSON: `{ "error": { "status", "message", "field"? } }`. */
  override writeError(status: number, { error }: ErrorDetails): void {
    // An HTTPError's message was written for the client; any other error's is not (500).
    const explained = status !== 500 && error instanceof HTTPError && error.logMessage;
    this.finish({
      error: {
        status,
        message: explained ? error.logMessage : this.reason,
        ...(error instanceof ValidationError ? { field: error.field } : {}),
      },
    });
  }
}

/**
 * Answers paths no route matches with a JSON 404. It answers in `initialize()`, which runs
 * before the request body is read: a body sent to a path that does not exist is never read or
 * parsed (the connection is closed after the answer instead).
 */
export class NotFoundHandler extends ApiHandler {
  override initialize(): void {
    throw new HTTPError(404, `no route for ${this.request.path}`);
  }
}

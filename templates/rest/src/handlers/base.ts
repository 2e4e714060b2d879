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

const ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
const ALLOWED_HEADERS = "Content-Type, Authorization";

/** Base for this API's handlers: CORS headers, preflight requests and JSON error bodies. */
export class ApiHandler extends RequestHandler {
  override get settings(): AppSettings {
    return super.settings;
  }

  override setDefaultHeaders(): void {
    const origin = this.request.headers.get("Origin");
    const allowed = this.settings.corsOrigins ?? [];
    if (origin !== undefined && (allowed.includes("*") || allowed.includes(origin))) {
      this.setHeader("Access-Control-Allow-Origin", allowed.includes("*") ? "*" : origin);
      this.setHeader("Vary", "Origin");
    }
  }

  /** CORS preflight: says which methods and headers a browser may use. */
  options(): void {
    this.setHeader("Access-Control-Allow-Methods", ALLOWED_METHODS);
    this.setHeader("Access-Control-Allow-Headers", ALLOWED_HEADERS);
    this.setHeader("Access-Control-Max-Age", 600);
    this.setStatus(204);
  }

  /** Every error is JSON: `{ "error": { "status", "message", "field"? } }`. */
  override writeError(status: number, { error }: ErrorDetails): void {
    const clientError = status < 500 && error instanceof HTTPError && error.logMessage;
    this.finish({
      error: {
        status,
        message: clientError ? error.logMessage : this.reason,
        ...(error instanceof ValidationError ? { field: error.field } : {}),
      },
    });
  }
}

/** Answers paths no route matches with a JSON 404. */
export class NotFoundHandler extends ApiHandler {
  override prepare(): void {
    throw new HTTPError(404, `no route for ${this.request.path}`);
  }
}

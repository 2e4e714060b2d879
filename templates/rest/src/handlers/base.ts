import {
  type ErrorDetails,
  type HandlerSchemas,
  HTTPError,
  RequestHandler,
  RequestValidationError,
  withSchemas,
} from "tornado/web";
import type { AppSettings } from "../app.js";

// An issue's location names the field, and a field's name comes from the client: a bounded piece of it.
const MAX_LOCATION_LENGTH = 60;

/**
 * This API's error body: `{ "error": { "status", "message", "issues"? } }` (the `ApiError`
 * schema). An HTTPError's message was written for the client; any other error's is not (500).
 *
 * @example
 * this.finish(errorBody(404, new HTTPError(404, "no user with id 9"), "Not Found"));
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

/** Base for this API's handlers: JSON error bodies (CORS is the runtime's `cors` setting, in app.ts). */
export class ApiHandler extends RequestHandler {
  override get settings(): AppSettings {
    return super.settings;
  }

  /** Every error is JSON: `{ "error": { "status", "message", "issues"? } }`. */
  override writeError(status: number, { error }: ErrorDetails): void {
    this.finish(errorBody(status, error, this.reason));
  }
}

/**
 * `withSchemas` over `ApiHandler`: the methods declare their query, path, body and responses
 * (zod), the request is checked before the method runs (a 400 listing each issue), and
 * `/openapi.json` describes them. Errors keep this API's JSON shape.
 *
 * @example
 * export class ThingsHandler extends withApiSchemas({ post: { body: NewThing, responses: { 201: Thing } } }) {
 *   async post() { this.setStatus(201); this.write(await things.create(this.valid("post").body)); }
 * }
 */
export function withApiSchemas<S extends HandlerSchemas>(schemas: S) {
  abstract class SchemaApiHandler extends withSchemas(schemas, ApiHandler) {
    override writeError(status: number, { error }: ErrorDetails): void {
      this.finish(errorBody(status, error, this.reason));
    }
  }
  return SchemaApiHandler;
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

/**
 * `withSchemas(schemas)`: a `RequestHandler` whose methods declare what they accept and
 * return. The request is validated after `prepare()` and before the method (a 400 listing
 * every issue); `this.valid("post")` hands the method the typed values; responses are checked
 * against their schemas under `debug` (or `validateResponses`), a mismatch logged.
 */

import type { HTTPServerRequest } from "../../httputil/request.js";
import { appLog } from "../../log.js";
import { RequestHandler } from "../handler.js";
import type { Chunk, ErrorDetails } from "../handler/types.js";
import { isThenable } from "../handler/types.js";
import { issueLocation, RequestValidationError } from "./issues.js";
import type { StandardSchemaV1 } from "./standard.js";

// What a handler is made with (application, request), read off RequestHandler so this module
// does not name the Application (which imports the OpenAPI routes that read these schemas).
type HandlerArgs = ConstructorParameters<typeof RequestHandler>;
import { validateRequest, type MethodSchemas, type ValidatedParts } from "./validate.js";

/** The HTTP methods a handler may declare schemas for. @example const m: SchemaMethod = "post"; */
export type SchemaMethod = "get" | "head" | "post" | "put" | "patch" | "delete" | "options";

/**
 * A handler's schemas, per HTTP method.
 *
 * @example
 * const schemas = { get: { query: Page }, post: { body: NewUser, responses: { 201: User } } } satisfies HandlerSchemas;
 */
export type HandlerSchemas = { readonly [M in SchemaMethod]?: MethodSchemas };

type Output<S> = S extends StandardSchemaV1 ? StandardSchemaV1.InferOutput<S> : undefined;

/**
 * The validated, typed parts of a request for one method's schemas (`undefined` for a part
 * without a schema).
 *
 * @example
 * const { body, query }: ValidRequest<{ body: typeof NewUser }> = this.valid("post");
 */
export type ValidRequest<M> = {
  readonly body: Output<M extends { body: infer S } ? S : undefined>;
  readonly query: Output<M extends { query: infer S } ? S : undefined>;
  readonly path: Output<M extends { path: infer S } ? S : undefined>;
  readonly headers: Output<M extends { headers: infer S } ? S : undefined>;
};

/**
 * What `withSchemas` adds to a handler: `valid(method)`.
 *
 * @example
 * const { body } = this.valid("post");
 */
export interface SchemaHandlerMethods<S extends HandlerSchemas> {
  /**
   * The validated request for `method` (the one being served): typed by its schemas.
   *
   * @example
   * async post() { const { body } = this.valid("post"); this.write(await db.insert(body)); }
   */
  valid<M extends keyof S & SchemaMethod>(method: M): ValidRequest<S[M]>;
}

/**
 * The class `withSchemas` returns: a handler class with `schemas` as a static (OpenAPI reads it).
 *
 * @example
 * const Base: SchemaHandlerClass<typeof schemas, RequestHandler> = withSchemas(schemas);
 */
export interface SchemaHandlerClass<S extends HandlerSchemas, H extends RequestHandler> {
  new (...args: HandlerArgs): H & SchemaHandlerMethods<S>;
  readonly schemas: S;
  readonly prototype: H & SchemaHandlerMethods<S>;
}

/**
 * The schemas a handler class declares (through `withSchemas`), or `undefined`.
 *
 * @example
 * schemasOf(UsersHandler)?.post?.body
 */
export function schemasOf(handlerClass: unknown): HandlerSchemas | undefined {
  const schemas = (handlerClass as { schemas?: unknown } | null)?.schemas;
  return schemas !== null && typeof schemas === "object" ? (schemas as HandlerSchemas) : undefined;
}

/**
 * A base class for handlers whose methods declare schemas (any Standard Schema v1 library:
 * zod 4, valibot, arktype). For each method with schemas, the request's path groups, query
 * arguments, headers and JSON body are validated after `prepare()` and before the method; a
 * failure is a 400 whose JSON body lists every issue with its location, e.g.
 * `{"error":{"status":400,"message":"Invalid request","issues":[{"location":"body.email","message":"…"}]}}`
 * (Tornado's HTML error page for a client that asks for `text/html`). Unknown body fields are
 * refused, whatever the library (they are read from the schema's JSON Schema). `base` is the
 * class to extend (default `RequestHandler`).
 *
 * @example
 * const NewUser = z.object({ name: z.string(), email: z.email() });
 * class UsersHandler extends withSchemas({ post: { body: NewUser, responses: { 201: User } } }) {
 *   async post() {
 *     const { body } = this.valid("post"); // { name: string; email: string }
 *     this.setStatus(201);
 *     this.write(await db.insertUser(body));
 *   }
 * }
 */
export function withSchemas<S extends HandlerSchemas, H extends RequestHandler = RequestHandler>(
  schemas: S,
  base: abstract new (...args: HandlerArgs) => H = RequestHandler as never,
): SchemaHandlerClass<S, H> {
  const declared = new Map<string, MethodSchemas>();
  for (const [method, spec] of Object.entries(schemas)) if (spec !== undefined) declared.set(method.toUpperCase(), spec);
  // A base with its own error page (an app's JSON errors) keeps it for every error but a
  // failed validation, whose issues only this class knows how to list.
  const baseWritesErrors = (base as unknown as typeof RequestHandler).prototype.writeError !== RequestHandler.prototype.writeError;
  abstract class SchemaHandler extends (base as unknown as typeof RequestHandler) {
    static readonly schemas = schemas;
    // The validated request, and the object written (when responses are checked): fields rather
    // than WeakMaps keyed by the handler, which cost the garbage collector on every request.
    #parts: { method: string; lower: string; parts: ValidatedParts } | undefined;
    #written: { value: unknown } | undefined;

    // A programming error (a 500, logged) for a method without schemas, another method than the
    // one served, or before validation (in prepare()); never undefined values.
    valid(method: string): ValidatedParts {
      const found = this.#parts;
      // The method as the handler spells it ("post") is compared first: no new string per call.
      if (found !== undefined && (found.lower === method || found.method === method)) return found.parts;
      const name = String(method).toUpperCase();
      if (found !== undefined && found.method === name) return found.parts;
      const call = `valid(${JSON.stringify(method)})`;
      if (!declared.has(name)) throw new TypeError(`${call}: no schemas are declared for ${name} (withSchemas declares ${[...declared.keys()].join(", ") || "none"})`);
      const served = this.request.method === "HEAD" && !declared.has("HEAD") ? "GET" : this.request.method;
      if (served !== name) throw new TypeError(`${call}: this request is a ${this.request.method}; valid() returns the values of the method being served`);
      throw new TypeError(`${call}: the request is not validated yet (it is, after prepare() and before the ${name} method)`);
    }

    protected override _validateRequest(): void | Promise<void> {
      const method = this.request.method;
      const spec = declared.get(method) ?? (method === "HEAD" ? declared.get("GET") : undefined);
      if (spec === undefined) return;
      const served = declared.has(method) ? method : "GET";
      const lower = LOWER[served] ?? served.toLowerCase();
      const result = validateRequest(this, spec);
      if (isThenable(result)) return result.then((parts) => void (this.#parts = { method: served, lower, parts }));
      this.#parts = { method: served, lower, parts: result };
    }

    override write(chunk: Chunk): void {
      if (chunk !== null && typeof chunk === "object" && !(chunk instanceof Uint8Array) && checksResponses(this)) this.#written = { value: chunk };
      super.write(chunk);
    }

    override finish(chunk?: Chunk): void {
      if (chunk !== undefined && chunk !== null) this.write(chunk);
      const written = this.#written;
      if (written !== undefined) checkResponse(this, declared.get(this.request.method === "HEAD" ? "GET" : this.request.method), written.value);
      super.finish();
    }

    override writeError(status: number, details: ErrorDetails = {}): void | Promise<void> {
      this.#written = undefined;
      if (baseWritesErrors && !(details.error instanceof RequestValidationError)) return super.writeError(status, details);
      if (prefersHtml(this.request)) return super.writeError(status, details.error instanceof RequestValidationError ? {} : details);
      const error = details.error;
      const body: Record<string, unknown> = { status, message: error instanceof RequestValidationError ? "Invalid request" : this.reason };
      if (error instanceof RequestValidationError) body.issues = error.issues;
      this.finish({ error: body });
    }
  }
  return SchemaHandler as unknown as SchemaHandlerClass<S, H>;
}

const LOWER: Readonly<Record<string, string>> = { GET: "get", HEAD: "head", POST: "post", PUT: "put", PATCH: "patch", DELETE: "delete", OPTIONS: "options" };

// JSON unless the client asks for HTML (a browser's Accept lists text/html first or alone).
function prefersHtml(request: HTTPServerRequest): boolean {
  const accept = request.headers.get("Accept") ?? "";
  const html = accept.indexOf("text/html");
  if (html === -1) return false;
  const json = accept.indexOf("application/json");
  return json === -1 || html < json;
}

// NODE_ENV is read at the first response written, not at every one (process.env is slow to read).
let nodeEnvTest: boolean | undefined;
function checksResponses(handler: RequestHandler): boolean {
  const setting = handler.settings.validateResponses as boolean | undefined;
  return setting ?? (handler.settings.debug === true || (nodeEnvTest ??= process.env.NODE_ENV === "test"));
}

// A response that does not match its schema is logged (the route, the status, each bad field),
// never changed: the client gets what the handler wrote.
function checkResponse(handler: RequestHandler, spec: MethodSchemas | undefined, value: unknown): void {
  const status = handler.getStatus();
  const declared = spec?.responses?.[status];
  if (declared === undefined) return;
  const schema = "~standard" in declared ? declared : declared.schema;
  if (schema === undefined) return;
  const report = (result: StandardSchemaV1.Result<unknown>) => {
    if (!result.issues) return;
    const route = handler.application.router.find(handler.request.path)?.rule.pattern ?? handler.request.path;
    const fields = result.issues.slice(0, 10).map((issue) => `${issueLocation("response", issue.path)}: ${issue.message}`);
    appLog.error(`Response does not match its schema: ${status} ${handler.request.method} ${route} (${handler.request.path}): ${fields.join("; ")}`);
  };
  try {
    const result = schema["~standard"].validate(value);
    if (isThenable(result)) result.then(report, (e) => appLog.error("Response schema check failed", e));
    else report(result);
  } catch (e) {
    appLog.error("Response schema check failed", e);
  }
}


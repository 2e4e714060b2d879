/**
 * Validates a request against one method's schemas: path groups, query arguments and headers
 * (strings, coerced to the number or boolean their JSON Schema asks for), and the JSON body
 * (checked by checkJsonBody and for unknown fields first). Every issue of every part is
 * collected; any issue is a `RequestValidationError` (400).
 */

import { HTTPError } from "../errors.js";
import type { HandlerArguments } from "../handler/arguments.js";
import { isThenable } from "../handler/types.js";
import { checkJsonBody, issueLocation, MAX_LISTED_ISSUES, RequestValidationError, type ValidationIssue } from "./issues.js";
import { allowedTypes, jsonSchemaOf, objectProperties, resolveRef, type JSONSchema, type JSONSchemaSetting } from "./jsonschema.js";
import type { StandardSchemaV1 } from "./standard.js";

/**
 * The schemas of one HTTP method of a handler, and what OpenAPI says of it.
 *
 * @example
 * const post: MethodSchemas = { body: NewUser, responses: { 201: User }, summary: "Create a user", tags: ["users"] };
 */
export interface MethodSchemas {
  /** The JSON body (`Content-Type: application/json`). */
  body?: StandardSchemaV1;
  /** The query arguments, as an object of fields. */
  query?: StandardSchemaV1;
  /** The path groups, by name (`/users/:id` → `{ id }`). */
  path?: StandardSchemaV1;
  /** Request headers, by lower-case name. */
  headers?: StandardSchemaV1;
  /** The body of each response status; checked under `debug` or `validateResponses`. */
  responses?: { readonly [status: number]: StandardSchemaV1 | ResponseSpec };
  /** OpenAPI: a one-line summary of the operation. */
  summary?: string;
  /** OpenAPI: a longer description. */
  description?: string;
  /** OpenAPI: tags that group operations. */
  tags?: string[];
  /** OpenAPI: the operationId (default: the route name and method). */
  operationId?: string;
  /** OpenAPI: the operation is deprecated. */
  deprecated?: boolean;
}

/**
 * A response with a description, or without a body (`{ description: "Deleted" }` for a 204).
 *
 * @example
 * responses: { 200: { schema: User, description: "The user" }, 404: { description: "No such user" } }
 */
export interface ResponseSpec {
  schema?: StandardSchemaV1;
  description?: string;
}

/** Default deepest nesting of a JSON body under a schema (the `maxJsonDepth` setting). @internal */
export const DEFAULT_MAX_JSON_DEPTH = 64;

type Part = "path" | "query" | "headers" | "body";
const JSON_CONTENT_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * The validated values of a request, as `this.valid(method)` returns them.
 * @internal
 */
export type ValidatedParts = Record<Part, unknown>;

/**
 * Validates `handler`'s request against `schemas`; returns the values (or a promise of them,
 * when a schema validates asynchronously); throws `RequestValidationError` listing the issues.
 * @internal
 */
export function validateRequest(handler: HandlerArguments & { pathKwargs: Record<string, string | null>; pathArgs: (string | null)[] }, schemas: MethodSchemas): ValidatedParts | Promise<ValidatedParts> {
  const settings = handler.settings;
  const converter = settings.jsonSchema as JSONSchemaSetting | undefined;
  const issues: ValidationIssue[] = [];
  const inputs: [Part, StandardSchemaV1, unknown][] = [];
  if (schemas.path) {
    const raw = Object.create(null) as Record<string, string[]>;
    const named = Object.keys(handler.pathKwargs);
    if (named.length > 0) for (const name of named) raw[name] = handler.pathKwargs[name] == null ? [] : [handler.pathKwargs[name]!];
    else handler.pathArgs.forEach((value, i) => (raw[String(i)] = value === null ? [] : [value]));
    inputs.push(["path", schemas.path, coerceFields(raw, jsonSchemaOf(schemas.path, "input", converter), false)]);
  }
  if (schemas.query) {
    const jsonSchema = jsonSchemaOf(schemas.query, "input", converter);
    const names = declaredNames(jsonSchema) ?? Object.keys(handler.request.queryArguments);
    const raw = Object.create(null) as Record<string, string[]>;
    for (const name of names) {
      const values = handler.getQueryArguments(name);
      if (values.length > 0) raw[name] = values;
    }
    inputs.push(["query", schemas.query, coerceFields(raw, jsonSchema, true)]);
  }
  if (schemas.headers) {
    const jsonSchema = jsonSchemaOf(schemas.headers, "input", converter);
    const headers = handler.request.headers;
    const names = declaredNames(jsonSchema) ?? [...new Set([...headers].map(([n]) => n.toLowerCase()))];
    const raw = Object.create(null) as Record<string, string[]>;
    for (const name of names) {
      const values = headers.getList(name);
      if (values.length > 0) raw[name.toLowerCase()] = values;
    }
    inputs.push(["headers", schemas.headers, coerceFields(raw, jsonSchema, false)]);
  }
  if (schemas.body) {
    const body = readJsonBody(handler, schemas.body, converter, issues);
    if (body !== undefined) inputs.push(["body", schemas.body, body.value]);
  }
  const results: (StandardSchemaV1.Result<unknown> | Promise<StandardSchemaV1.Result<unknown>>)[] = [];
  let pending = false;
  for (const [, schema, value] of inputs) {
    const result = schema["~standard"].validate(value);
    if (isThenable(result)) pending = true;
    results.push(result);
  }
  if (pending) return Promise.all(results).then((settled) => collect(inputs, settled, issues));
  return collect(inputs, results as StandardSchemaV1.Result<unknown>[], issues);
}

// The validated values of every part, or a RequestValidationError listing the issues of all.
function collect(inputs: [Part, StandardSchemaV1, unknown][], settled: StandardSchemaV1.Result<unknown>[], issues: ValidationIssue[]): ValidatedParts {
  const out: ValidatedParts = { path: undefined, query: undefined, headers: undefined, body: undefined };
  let total = issues.length;
  for (let i = 0; i < settled.length; i++) {
    const result = settled[i]!;
    const part = inputs[i]![0];
    if (!result.issues) out[part] = result.value;
    else {
      // Only the listed issues get a location (a 10 MB array can fail millions of times).
      total += result.issues.length;
      for (const issue of result.issues.slice(0, Math.max(0, MAX_LISTED_ISSUES - issues.length))) issues.push({ location: issueLocation(part, issue.path), message: issue.message });
    }
  }
  if (total > 0) throw new RequestValidationError(issues, total);
  return out;
}

/** The names of an object schema's declared properties, or null when unknown. */
function declaredNames(jsonSchema: JSONSchema | null): string[] | null {
  if (jsonSchema === null) return null;
  const properties = objectProperties(jsonSchema, jsonSchema);
  return properties === null ? null : [...properties.keys()];
}

// Query, path and header values are strings: each field becomes what its JSON Schema asks for
// (a number, an integer, a boolean, an array of them); text that does not fit stays a string
// for the library to refuse with its own message. Without a JSON Schema, fields stay strings
// (the last value of a repeated one) and `z.coerce` and the like do the work.
function coerceFields(raw: Record<string, string[]>, jsonSchema: JSONSchema | null, arrays: boolean): Record<string, unknown> {
  const out = Object.create(null) as Record<string, unknown>;
  const properties = jsonSchema === null ? null : objectProperties(jsonSchema, jsonSchema);
  for (const name of Object.keys(raw)) {
    const values = raw[name]!;
    if (values.length === 0) continue;
    const fieldSchema = properties?.get(name);
    const types = fieldSchema === undefined ? new Set<string>() : allowedTypes(jsonSchema!, fieldSchema);
    if (arrays && types.has("array")) {
      const items = resolveRef(jsonSchema!, fieldSchema)?.items;
      const itemTypes = items === undefined ? new Set<string>() : allowedTypes(jsonSchema!, items);
      out[name] = values.map((v) => coerceValue(v, itemTypes));
    } else {
      out[name] = coerceValue(values[values.length - 1]!, types);
    }
  }
  return out;
}

function coerceValue(value: string, types: Set<string>): unknown {
  if (types.has("string") || types.size === 0) return value;
  if ((types.has("number") || types.has("integer")) && NUMBER.test(value)) return Number(value);
  if (types.has("boolean") && (value === "true" || value === "false")) return value === "true";
  if (types.has("null") && value === "") return null;
  return value;
}

// The body is JSON (415 for another type), parsed by jsonBody() (400 when missing or
// malformed), then checked before any library sees it; its issues are added to `issues`.
function readJsonBody(handler: HandlerArguments, schema: StandardSchemaV1, converter: JSONSchemaSetting | undefined, issues: ValidationIssue[]): { value: unknown } | undefined {
  const contentType = handler.request.headers.get("Content-Type");
  if (contentType !== undefined && contentType !== "application/json" && !JSON_CONTENT_TYPE.test(contentType)) {
    throw new HTTPError(415, `Expected a JSON body (Content-Type: application/json), not ${contentType.slice(0, 60)}`);
  }
  const value = handler.jsonBody<unknown>();
  const maxDepth = (handler.settings.maxJsonDepth as number | undefined) ?? DEFAULT_MAX_JSON_DEPTH;
  // One walk checks what no library should see (a hostile body is listed alone) and, given the
  // JSON Schema, the unknown fields (listed with the library's issues, so that a 400 lists
  // every issue at once).
  if (!checkJsonBody(value, maxDepth, issues, jsonSchemaOf(schema, "input", converter))) return undefined;
  return { value };
}

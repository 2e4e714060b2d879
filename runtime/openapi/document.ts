/**
 * The OpenAPI 3.1 document of an app, from its route table and its handlers' schemas
 * (`withSchemas`): paths from `:id` and regex groups, operationIds from route names, the
 * parameters, request bodies and responses in JSON Schema from the schema library's converter.
 */

import { responses as reasons } from "../httputil/request.js";
import { schemasOf, type SchemaMethod } from "../web/schema/handler.js";
import { jsonSchemaOf, objectProperties, type JSONSchema, type JSONSchemaSetting } from "../web/schema/jsonschema.js";
import type { StandardSchemaV1 } from "../web/schema/standard.js";
import type { MethodSchemas } from "../web/schema/validate.js";

/**
 * What the document says of the API, and (as the `openapi` setting) where it is served.
 *
 * @example
 * new Application(routes, { openapi: { title: "Users API", version: "1.0.0", docs: true } });
 */
export interface OpenAPIOptions {
  /** The API's title (default "API"). */
  title?: string;
  /** The API's version (default "0.0.0"). */
  version?: string;
  /** A description (Markdown). */
  description?: string;
  /** Servers, e.g. `[{ url: "https://api.example.com" }]`. */
  servers?: { url: string; description?: string }[];
  /** The setting only: also serve a docs page (swagger-ui-dist, from the app's node_modules). Default true. */
  docs?: boolean;
  /** The setting only: the document's path. Default `/openapi.json`. */
  path?: string;
  /** The setting only: the docs page's path. Default `/docs`. */
  docsPath?: string;
  /** The setting only: the folder whose node_modules holds swagger-ui-dist. Default: the working directory. */
  assetsFrom?: string;
}

interface AppLike {
  readonly router: { readonly rules: readonly { readonly pattern: string; readonly handlerClass: unknown; readonly name?: string | undefined }[] };
  readonly settings: Record<string, unknown>;
}

const METHODS: SchemaMethod[] = ["get", "put", "post", "delete", "options", "head", "patch"];

const ERROR_SCHEMA: JSONSchema = {
  type: "object",
  properties: {
    error: {
      type: "object",
      properties: {
        status: { type: "integer" },
        message: { type: "string" },
        issues: {
          type: "array",
          items: { type: "object", properties: { location: { type: "string" }, message: { type: "string" } }, required: ["location", "message"] },
        },
      },
      required: ["status", "message"],
    },
  },
  required: ["error"],
};

/**
 * Builds the OpenAPI 3.1 document of `app`. Handlers without schemas appear with their methods
 * and path parameters only; routes whose pattern is not a plain path with groups are left out.
 *
 * @example
 * const doc = openApiDocument(makeApp(), { title: "Users API", version: "1.0.0" });
 * writeFileSync("openapi.json", JSON.stringify(doc, null, 2));
 */
export function openApiDocument(app: AppLike, options: OpenAPIOptions = {}): Record<string, unknown> {
  const converter = app.settings.jsonSchema as JSONSchemaSetting | undefined;
  const components = new Map<string, JSONSchema>([["Error", ERROR_SCHEMA]]);
  const paths = Object.create(null) as Record<string, Record<string, unknown>>;
  const tags = new Set<string>();
  const operationIds = new Set<string>();
  const toSchema = (schema: StandardSchemaV1, io: "input" | "output"): JSONSchema => hoistDefs(jsonSchemaOf(schema, io, converter) ?? {}, components);
  for (const rule of app.router.rules) {
    const handlerClass = rule.handlerClass as { name?: string; prototype?: object; openapiHidden?: boolean };
    if (handlerClass.openapiHidden) continue;
    const path = openApiPath(rule.pattern);
    if (path === null) continue;
    const schemas = schemasOf(handlerClass) ?? {};
    const methods = METHODS.filter((m) => schemas[m] !== undefined || definesMethod(handlerClass, m));
    if (methods.length === 0) continue;
    const item = (paths[path.path] ??= {});
    for (const method of methods) {
      const spec: MethodSchemas = schemas[method] ?? {};
      const base = camel(`${method} ${rule.name ?? handlerClass.name ?? "handler"}`);
      let operationId = spec.operationId ?? base;
      for (let n = 2; operationIds.has(operationId); n++) operationId = `${base}${n}`;
      operationIds.add(operationId);
      const operation: Record<string, unknown> = { operationId };
      if (spec.summary) operation.summary = spec.summary;
      if (spec.description) operation.description = spec.description;
      if (spec.tags) (operation.tags = spec.tags).forEach((t: string) => tags.add(t));
      if (spec.deprecated) operation.deprecated = true;
      const parameters = [
        ...pathParameters(path.names, spec.path && toSchema(spec.path, "input")),
        ...fieldParameters("query", spec.query && toSchema(spec.query, "input")),
        ...fieldParameters("header", spec.headers && toSchema(spec.headers, "input")),
      ];
      if (parameters.length > 0) operation.parameters = parameters;
      if (spec.body) operation.requestBody = { required: true, content: { "application/json": { schema: toSchema(spec.body, "input") } } };
      operation.responses = responsesOf(spec, toSchema);
      item[method] = operation;
    }
  }
  const info: Record<string, unknown> = { title: options.title ?? "API", version: options.version ?? "0.0.0" };
  if (options.description) info.description = options.description;
  const doc: Record<string, unknown> = { openapi: "3.1.0", info };
  if (options.servers) doc.servers = options.servers;
  doc.paths = paths;
  doc.components = { schemas: Object.fromEntries(components) };
  if (tags.size > 0) doc.tags = [...tags].map((name) => ({ name }));
  return doc;
}

function responsesOf(spec: MethodSchemas, toSchema: (s: StandardSchemaV1, io: "output") => JSONSchema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [status, declared] of Object.entries(spec.responses ?? {})) {
    const schema = "~standard" in declared ? declared : declared.schema;
    const description = ("~standard" in declared ? undefined : declared.description) ?? reasons[Number(status)] ?? "Response";
    out[status] = schema ? { description, content: { "application/json": { schema: toSchema(schema, "output") } } } : { description };
  }
  if (Object.keys(out).length === 0) out["200"] = { description: "OK" };
  const error = (description: string) => ({ description, content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } });
  if ((spec.body || spec.query || spec.path || spec.headers) && out["400"] === undefined) out["400"] = error("The request does not match its schema");
  if (spec.body && out["415"] === undefined) out["415"] = error("The body is not JSON");
  return out;
}

function pathParameters(names: string[], schema: JSONSchema | undefined): Record<string, unknown>[] {
  const properties = schema ? objectProperties(schema, schema) : null;
  return names.map((name) => ({ name, in: "path", required: true, schema: properties?.get(name) ?? { type: "string" } }));
}

function fieldParameters(where: "query" | "header", schema: JSONSchema | undefined): Record<string, unknown>[] {
  const properties = schema ? objectProperties(schema, schema) : null;
  if (properties === null) return [];
  const required = new Set(Array.isArray(schema!.required) ? (schema!.required as string[]) : []);
  return [...properties].map(([name, field]) => ({ name, in: where, required: required.has(name), schema: field }));
}

// `/users/:id` and `/users/(?<id>[^/]+)` → `/users/{id}`; `/items/(\d+)` → `/items/{0}` (the
// key withSchemas gives positional groups). null for a pattern with regex syntax outside groups.
function openApiPath(pattern: string): { path: string; names: string[] } | null {
  const source = pattern.replace(/\/:([A-Za-z_$][\w$]*)/g, "/(?<$1>[^/]+)").replace(/^\^/, "").replace(/\$$/, "");
  let path = "";
  const names: string[] = [];
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === "\\") {
      const next = source[++i];
      if (next === undefined || /[A-Za-z0-9]/.test(next)) return null;
      path += next;
    } else if (c === "(") {
      let depth = 1;
      let j = i + 1;
      for (; j < source.length && depth > 0; j++) {
        if (source[j] === "\\") j++;
        else if (source[j] === "(") depth++;
        else if (source[j] === ")") depth--;
      }
      if (depth !== 0 || /^\(\?[:=!<][=!]?/.test(source.slice(i)) && !source.startsWith("(?<", i)) return null;
      const named = /^\(\?<([A-Za-z_$][\w$]*)>/.exec(source.slice(i));
      if (source.startsWith("(?<", i) && named === null) return null;
      const name = named ? named[1]! : String(names.length);
      names.push(name);
      path += `{${name}}`;
      i = j - 1;
    } else if (/[.*+?^${}|[\]]/.test(c)) {
      return null;
    } else {
      path += c;
    }
  }
  return { path, names };
}

function definesMethod(handlerClass: { prototype?: object }, method: string): boolean {
  let proto = handlerClass.prototype ?? null;
  while (proto !== null && proto !== Object.prototype) {
    const owner = (proto as { constructor?: { name?: string } }).constructor?.name;
    if (owner === "RequestHandler" || owner === "WebSocketHandler") return false;
    if (Object.hasOwn(proto, method)) return true;
    proto = Object.getPrototypeOf(proto) as object | null;
  }
  return false;
}

function camel(words: string): string {
  const parts = words.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return parts.map((p, i) => (i === 0 ? p.toLowerCase() : p[0]!.toUpperCase() + p.slice(1))).join("");
}

// A converter's `$defs` (named or recursive types) move to components.schemas: inside an
// OpenAPI document, `#/$defs/X` would point at the document's root, not the schema's.
function hoistDefs(schema: JSONSchema, components: Map<string, JSONSchema>): JSONSchema {
  const renames = new Map<string, string>();
  const defs = (schema.$defs ?? schema.definitions) as Record<string, JSONSchema> | undefined;
  if (defs && typeof defs === "object") {
    for (const name of Object.keys(defs)) {
      let target = name.replace(/[^A-Za-z0-9._-]/g, "_");
      for (let n = 2; components.has(target) && components.get(target) !== defs[name]; n++) target = `${name}${n}`;
      renames.set(name, target);
    }
  }
  const rewrite = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (node === null || typeof node !== "object") return node;
    const out: JSONSchema = {};
    for (const [key, value] of Object.entries(node)) {
      if (key === "$schema" || key === "$defs" || key === "definitions") continue;
      if (key === "$ref" && typeof value === "string") {
        const m = /^#\/(?:\$defs|definitions)\/(.+)$/.exec(value);
        out.$ref = m && renames.has(m[1]!) ? `#/components/schemas/${renames.get(m[1]!)}` : value === "#" ? value : value;
      } else out[key] = rewrite(value);
    }
    return out;
  };
  for (const [name, target] of renames) components.set(target, rewrite(defs![name]) as JSONSchema);
  return rewrite(schema) as JSONSchema;
}

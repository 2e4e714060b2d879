/**
 * JSON Schema from a Standard Schema: through the library's own converter (Standard JSON
 * Schema, `~standard.jsonSchema`) or the app's `jsonSchema` setting, cached per schema. The
 * runtime reads it for three things: query/path coercion, unknown body fields, and OpenAPI.
 */

import type { StandardSchemaV1 } from "./standard.js";

/** A JSON Schema object, as the converters return it. @example const s: JSONSchema = { type: "string" }; */
export type JSONSchema = Record<string, unknown>;

/**
 * The `jsonSchema` setting: converts a schema for libraries without Standard JSON Schema
 * (valibot: `@valibot/to-json-schema`). Return `undefined` for a schema it does not know.
 *
 * @example
 * import { toJsonSchema } from "@valibot/to-json-schema";
 * new Application(routes, { jsonSchema: (schema) => toJsonSchema(schema as any, { errorMode: "ignore" }) });
 */
export type JSONSchemaSetting = (schema: StandardSchemaV1, io: "input" | "output") => object | undefined;

const STANDARD = {};
const caches = new WeakMap<object, WeakMap<object, Map<string, JSONSchema | null>>>();

/**
 * The JSON Schema (draft 2020-12) of `schema`'s input or output, or `null` when neither the
 * library nor the `jsonSchema` setting converts it (or the conversion throws).
 *
 * @example
 * jsonSchemaOf(z.object({ id: z.number() }), "input") // { type: "object", properties: { id: … } }
 */
export function jsonSchemaOf(schema: StandardSchemaV1, io: "input" | "output", setting?: JSONSchemaSetting): JSONSchema | null {
  const standard = schema["~standard"].jsonSchema;
  const key = standard !== undefined || setting === undefined ? STANDARD : setting;
  let byConverter = caches.get(key);
  if (byConverter === undefined) caches.set(key, (byConverter = new WeakMap()));
  let bySchema = byConverter.get(schema);
  if (bySchema === undefined) byConverter.set(schema, (bySchema = new Map()));
  const cached = bySchema.get(io);
  if (cached !== undefined) return cached;
  let converted: JSONSchema | null = null;
  try {
    if (standard !== undefined) converted = standard[io]({ target: "draft-2020-12" });
    else if (setting !== undefined) converted = (setting(schema, io) as JSONSchema | undefined) ?? null;
  } catch {
    converted = null; // a schema the converter cannot express (a transform, a custom check)
  }
  bySchema.set(io, converted);
  return converted;
}

/**
 * Follows a local `$ref` (`#/$defs/Name`, `#/definitions/Name`) from `root`; other schemas are
 * returned as they are, an unresolvable ref as `null`.
 *
 * @example
 * resolveRef(root, { $ref: "#/$defs/User" })
 */
export function resolveRef(root: JSONSchema, schema: unknown): JSONSchema | null {
  let current = schema;
  // A chain of refs is short; a cycle of bare refs is not a schema, so stop after a few.
  for (let hops = 0; hops < 8; hops++) {
    if (current === null || typeof current !== "object") return null;
    const ref = (current as JSONSchema).$ref;
    if (typeof ref !== "string") return current as JSONSchema;
    const match = /^#\/(\$defs|definitions)\/([^/]+)$/.exec(ref);
    if (match === null) return null;
    const defs = root[match[1]!];
    if (defs === null || typeof defs !== "object" || !Object.hasOwn(defs, match[2]!)) return null;
    current = (defs as JSONSchema)[match[2]!];
  }
  return null;
}

/** The `type`s a JSON Schema allows (from `type`, and the branches of `anyOf`/`oneOf`). @internal */
export function allowedTypes(root: JSONSchema, schema: unknown): Set<string> {
  const types = new Set<string>();
  const visit = (node: unknown, depth: number) => {
    const resolved = resolveRef(root, node);
    if (resolved === null || depth > 4) return;
    const type = resolved.type;
    if (typeof type === "string") types.add(type);
    else if (Array.isArray(type)) for (const t of type) if (typeof t === "string") types.add(t);
    for (const key of ["anyOf", "oneOf"]) {
      const branches = resolved[key];
      if (Array.isArray(branches)) for (const branch of branches) visit(branch, depth + 1);
    }
  };
  visit(schema, 0);
  return types;
}

/** The declared properties of an object schema, or null when it is not one. @internal */
export function objectProperties(root: JSONSchema, schema: unknown): Map<string, unknown> | null {
  const resolved = resolveRef(root, schema);
  const properties = resolved?.properties;
  if (properties === null || typeof properties !== "object") return null;
  let map = PROPERTIES.get(properties);
  if (map === undefined) PROPERTIES.set(properties, (map = new Map(Object.entries(properties as JSONSchema))));
  return map;
}
// The Map of each `properties` object (read on every request; the JSON Schemas are cached, so
// their objects live as long as the schemas). Read-only for callers.
const PROPERTIES = new WeakMap<object, Map<string, unknown>>();

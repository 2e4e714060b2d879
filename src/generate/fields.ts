/**
 * The fields of `tornado generate resource <name> <field:type[?]>...`: parsed and checked, then
 * turned into a column, a zod schema, a TypeScript type and a sample value each.
 */

import { UserError } from "../cli/errors.js";
import { pluralize, splitWords } from "./names.js";

/**
 * The field types `generate resource` knows, in the order its help lists them.
 *
 * @example
 * FIELD_TYPES.includes("decimal") // true
 */
export const FIELD_TYPES = ["string", "text", "int", "bigint", "float", "decimal", "boolean", "date", "timestamp", "uuid", "json", "references"] as const;

/**
 * One field type's name.
 *
 * @example
 * const type: FieldType = "timestamp";
 */
export type FieldType = (typeof FIELD_TYPES)[number];

/**
 * What each type becomes: its PostgreSQL column type, how a row's value is selected (so that
 * every driver returns the same JSON), its zod schema, its TypeScript type, and two sample
 * values (as TypeScript source) for the generated test.
 */
interface TypeInfo {
  column: string;
  select: (column: string) => string;
  zod: string;
  ts: string;
  samples: [string, string];
  /** Sent as text and cast in SQL (`$1::jsonb`). */
  cast?: string;
  /** What the JSON column holds, in the README's table. */
  json: string;
}

const asText = (column: string) => `${column}::text`;
const plain = (column: string) => column;

// Maps, not object literals: a typed type such as "constructor" must not find Object.prototype.
const TYPES: ReadonlyMap<FieldType, TypeInfo> = new Map<FieldType, TypeInfo>([
  ["string", { column: "varchar(255)", select: plain, zod: "z.string().max(255)", ts: "string", samples: ['"first"', '"second"'], json: "string (at most 255 characters)" }],
  ["text", { column: "text", select: plain, zod: "z.string().max(100_000)", ts: "string", samples: ['"a longer text"', '"another text"'], json: "string" }],
  ["int", { column: "integer", select: plain, zod: "z.number().int().min(-2147483648).max(2147483647)", ts: "number", samples: ["42", "-7"], json: "number (32-bit integer)" }],
  ["bigint", { column: "bigint", select: asText, zod: "BigIntString", ts: "string", samples: ['"9007199254740993"', '"-5"'], json: "string of digits (64-bit: beyond a JSON number's precision)" }],
  ["float", { column: "double precision", select: plain, zod: "z.number()", ts: "number", samples: ["1.5", "-0.25"], json: "number" }],
  ["decimal", { column: "numeric", select: asText, zod: "DecimalString", ts: "string", samples: ['"19.99"', '"1234.50"'], json: 'string ("19.99": exact, as PostgreSQL keeps it)' }],
  ["boolean", { column: "boolean", select: plain, zod: "z.boolean()", ts: "boolean", samples: ["true", "false"], json: "boolean" }],
  ["date", { column: "date", select: (c) => `to_char(${c}, 'YYYY-MM-DD')`, zod: "z.iso.date()", ts: "string", samples: ['"2026-12-07"', '"2024-02-29"'], json: 'string ("2026-12-07")' }],
  [
    "timestamp",
    {
      column: "timestamptz",
      select: (c) => `to_char(${c} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`,
      zod: "z.iso.datetime({ offset: true })",
      ts: "string",
      samples: ['"2026-12-07T08:50:00.000Z"', '"2025-01-31T23:59:59.123Z"'],
      json: 'string, ISO 8601 in UTC ("2026-12-07T08:50:00.000Z"); an offset is accepted',
    },
  ],
  ["uuid", { column: "uuid", select: asText, zod: "z.uuid()", ts: "string", samples: ['"0b5d2c6e-4f1a-4c8e-9a43-2f5e8d7c1b90"', '"9f1c3a57-2b64-4e0d-8c71-5a9e3d2f6b18"'], json: "string (a UUID)" }],
  ["json", { column: "jsonb", select: plain, zod: "z.json()", ts: "unknown", samples: ['{ tags: ["a", "b"], n: 1 }', "[1, 2, 3]"], cast: "jsonb", json: "any JSON value" }],
  ["references", { column: "bigint", select: asText, zod: "IdString", ts: "string", samples: ["", ""], json: 'string: the other row\'s id ("1")' }],
]);

/**
 * One parsed field: its names (JSON property in camelCase, column in snake_case), type, whether
 * it may be null, and for `references` the table it points at.
 *
 * @example
 * parseField("user:references") // { property: "userId", column: "user_id", type: "references", references: "users", ... }
 */
export interface Field {
  /** As typed: `note:text?`. */
  spec: string;
  property: string;
  column: string;
  type: FieldType;
  optional: boolean;
  /** The table a `references` field points at (`users` for `user:references`). */
  references?: string;
  /** The singular words of what it references, for messages (`user`). */
  referencesText?: string;
}

// PostgreSQL's reserved key words (appendix C of its manual): a column or table so named must be
// quoted in every statement, so the generator quotes it.
const RESERVED = new Set(
  (
    "all analyse analyze and any array as asc asymmetric authorization binary both case cast check collate collation column concurrently " +
    "constraint create cross current_catalog current_date current_role current_schema current_time current_timestamp current_user default " +
    "deferrable desc distinct do else end except false fetch for foreign freeze from full grant group having ilike in initially inner " +
    "intersect into is isnull join lateral leading left like limit localtime localtimestamp natural not notnull null offset on only or " +
    "order outer overlaps placing primary references returning right select session_user similar some symmetric system_user table " +
    "tablesample then to trailing true union unique user using variadic verbose when where window with"
  ).split(" "),
);

/**
 * A table or column name as SQL needs it: quoted when it is a reserved word.
 *
 * @example
 * sqlName("order") // '"order"'
 */
export function sqlName(name: string): string {
  return RESERVED.has(name) ? `"${name}"` : name;
}

const camel = (words: string[]) => words.map((w, i) => (i === 0 ? w : w[0]!.toUpperCase() + w.slice(1))).join("");
const TAKEN = new Set(["id", "created_at", "updated_at"]);
const typeList = () => FIELD_TYPES.join(", ");

/**
 * Parses one `name:type` (a `?` after the type allows null) into a `Field`; a spec that is not
 * one is a `UserError` naming it.
 *
 * @example
 * parseField("note:text?").optional // true
 */
export function parseField(spec: string): Field {
  const match = /^([A-Za-z][A-Za-z0-9_]*):([A-Za-z]+)(\?)?$/.exec(spec);
  if (match === null) {
    const [name = "", type] = spec.split(":");
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) {
      throw new UserError(`Field "${spec}" has no usable name: write name:type, the name in letters, digits and "_", starting with a letter (for example total:decimal).`);
    }
    if (type === undefined || type === "") throw new UserError(`Field "${spec}" has no type: write ${name}:TYPE, TYPE one of ${typeList()} (add ? to allow null).`);
    throw new UserError(`Field "${spec}" is not name:type: write it as ${name}:TYPE, TYPE one of ${typeList()}, with ? after the type to allow null (for example ${name}:text?).`);
  }
  const [, name, typed, question] = match as unknown as [string, string, string, string | undefined];
  const type = typed.toLowerCase() as FieldType;
  if (!TYPES.has(type)) throw new UserError(`Field "${spec}" has an unknown type "${typed}": use one of ${typeList()}.`);
  const words = splitWords(name);
  const base = { spec, type, optional: question !== undefined };
  if (type === "references") {
    const column = `${words.join("_")}_id`;
    const last = words[words.length - 1]!;
    return { ...base, property: camel([...words, "id"]), column, references: [...words.slice(0, -1), pluralize(last)].join("_"), referencesText: words.join(" ") };
  }
  return { ...base, property: camel(words), column: words.join("_") };
}

/**
 * Parses every field spec and checks them together: at least one, no name twice, none named
 * like the columns every resource has (id, created_at, updated_at).
 *
 * @example
 * parseFields(["customer:string", "total:decimal"]).map((f) => f.column) // ["customer", "total"]
 */
export function parseFields(specs: readonly string[]): Field[] {
  if (specs.length === 0) {
    throw new UserError(`A resource needs at least one field after its name, as name:type (for example: orders customer:string total:decimal); types: ${typeList()}.`);
  }
  const fields = specs.map(parseField);
  const seen = new Map<string, string>();
  for (const field of fields) {
    if (TAKEN.has(field.column)) throw new UserError(`Field "${field.spec}" would be the column ${field.column}, which every resource has already (id, created_at, updated_at): rename it.`);
    const earlier = seen.get(field.column);
    if (earlier !== undefined) throw new UserError(`Fields "${earlier}" and "${field.spec}" are both the column ${field.column}: give one another name.`);
    seen.set(field.column, field.spec);
  }
  return fields;
}

/**
 * What a field type becomes (see `TypeInfo`).
 *
 * @example
 * typeInfo("decimal").column // "numeric"
 */
export function typeInfo(type: FieldType): TypeInfo {
  return TYPES.get(type)!;
}

/**
 * The column definition in `CREATE TABLE`: `total numeric NOT NULL`,
 * `user_id bigint NOT NULL REFERENCES users (id)`.
 *
 * @example
 * columnDefinition(parseField("note:text?")) // "note text"
 */
export function columnDefinition(field: Field): string {
  const nullability = field.optional ? "" : " NOT NULL";
  const reference = field.references !== undefined ? ` REFERENCES ${sqlName(field.references)} (id)` : "";
  return `${sqlName(field.column)} ${typeInfo(field.type).column}${nullability}${reference}`;
}

/**
 * The expression that selects a field as the API returns it, under its JSON name:
 * `total::text AS total`, `user_id::text AS "userId"`.
 *
 * @example
 * selectExpression(parseField("paid:boolean")) // "paid"
 */
export function selectExpression(field: Field): string {
  const expression = typeInfo(field.type).select(sqlName(field.column));
  return expression === field.property ? expression : `${expression} AS "${field.property}"`;
}

/**
 * One row of the README's field-type table, for each type: the type, its column and its JSON.
 *
 * @example
 * fieldTypeTable()[0] // ["string", "varchar(255)", "string (at most 255 characters)"]
 */
export function fieldTypeTable(): [FieldType, string, string][] {
  return FIELD_TYPES.map((type) => [type, type === "references" ? "bigint REFERENCES <plural> (id), indexed" : typeInfo(type).column, typeInfo(type).json]);
}

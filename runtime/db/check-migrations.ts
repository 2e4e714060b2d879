/**
 * `checkMigrations`: every migration up, down and up again on an empty schema, comparing the
 * schema before its Up section with the schema after its Down section.
 */

import { join } from "node:path";
import {
  migrate,
  MigrationError,
  migrationStatus,
  MIGRATIONS_TABLE,
  quoteIdentifier,
  resolveTarget,
  shown,
  withClient,
  type MigrateOptions,
  type PgClient,
} from "./migrate.js";

/**
 * Runs every migration up, down and up again, one at a time, oldest first, on a schema where none
 * is applied yet (a test's own schema), and checks that each Down section gives back exactly the
 * schema from before its Up section (tables, columns and their types, defaults and nullability,
 * constraints, indexes, views, sequences, types, functions, triggers). Resolves with the names it
 * checked, all left applied; a Down section that leaves something behind, or takes too much away,
 * is a `MigrationError` naming its file and what differs.
 *
 * @example
 * it("every migration rolls back cleanly", async () => {
 *   await checkMigrations({ url: process.env.DATABASE_URL, schema: "test_migrations" });
 * });
 */
export async function checkMigrations(options: Omit<MigrateOptions, "direction" | "count"> = {}): Promise<string[]> {
  const { url, schema } = await resolveTarget(options);
  const target = { ...options, database: undefined, url, schema };
  const applied = (await migrationStatus(target)).filter((m) => m.applied);
  if (applied.length > 0) {
    throw new MigrationError(`checkMigrations needs a schema where no migration is applied yet, and ${schema} has ${applied.length}: give it a schema of its own.`);
  }
  const dir = options.dir ?? "migrations";
  const checked: string[] = [];
  await withClient(url, async (client) => {
    // Names in the schema then read as the migrations wrote them (a default of 'ok'::mood).
    await client.query(`SET search_path TO ${quoteIdentifier(schema)}`);
    for (;;) {
      const before = await schemaSnapshot(client, schema);
      const [name] = await migrate({ ...target, count: 1 });
      if (name === undefined) return;
      const after = await schemaSnapshot(client, schema);
      await migrate({ ...target, direction: "down", count: 1 });
      const file = shown(join(dir, `${name}.sql`));
      const undone = differences(before, await schemaSnapshot(client, schema));
      if (undone) throw new MigrationError(`${file}: its Down section does not give back the schema from before its Up section: ${undone}.`, file);
      await migrate({ ...target, count: 1 });
      const again = differences(after, await schemaSnapshot(client, schema));
      if (again) throw new MigrationError(`${file}: applied again after its Down section, it gives another schema: ${again}.`, file);
      checked.push(name);
    }
  });
  return checked;
}

/** What a schema holds, one line per thing, without node-pg-migrate's own table. */
async function schemaSnapshot(client: PgClient, schema: string): Promise<Set<string>> {
  const own = `^${MIGRATIONS_TABLE}(_|$)`;
  const queries = [
    `SELECT 'column ' || table_name || '.' || column_name || ' ' || CASE data_type WHEN 'USER-DEFINED' THEN udt_name ELSE data_type END || coalesce('(' || character_maximum_length || ')', '') ||
       CASE WHEN is_nullable = 'NO' THEN ' NOT NULL' ELSE '' END || coalesce(' DEFAULT ' || column_default, '') AS line
       FROM information_schema.columns WHERE table_schema = $1 AND table_name !~ $2`,
    `SELECT (CASE c.relkind WHEN 'r' THEN 'table ' WHEN 'v' THEN 'view ' WHEN 'm' THEN 'materialized view ' WHEN 'S' THEN 'sequence '
       WHEN 'i' THEN 'index ' WHEN 'p' THEN 'table ' WHEN 'f' THEN 'foreign table ' ELSE 'relation ' END) || c.relname AS line
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname !~ $2 AND c.relkind <> 'c' AND c.relkind <> 't'`,
    `SELECT 'index ' || indexname || ': ' || indexdef AS line FROM pg_indexes WHERE schemaname = $1 AND tablename !~ $2`,
    `SELECT 'constraint ' || con.conname || ' on ' || rel.relname || ': ' || pg_get_constraintdef(con.oid) AS line
       FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace LEFT JOIN pg_class rel ON rel.oid = con.conrelid
       WHERE n.nspname = $1 AND coalesce(rel.relname, '') !~ $2`,
    `SELECT 'type ' || t.typname || coalesce(' (' || (SELECT string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid) || ')', '') AS line
       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = $1 AND t.typtype IN ('e', 'd', 'r', 'm') AND t.typname !~ $2`,
    `SELECT 'function ' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS line
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 AND p.proname !~ $2`,
    `SELECT 'trigger ' || tg.tgname || ' on ' || rel.relname AS line
       FROM pg_trigger tg JOIN pg_class rel ON rel.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = rel.relnamespace
       WHERE n.nspname = $1 AND NOT tg.tgisinternal AND rel.relname !~ $2`,
  ];
  const lines = new Set<string>();
  for (const sql of queries) for (const row of (await client.query<{ line: string }>(sql, [schema, own])).rows) lines.add(row.line);
  return lines;
}

/** How `now` differs from `expected`, in a few words, or `""` when they are the same. */
function differences(expected: Set<string>, now: Set<string>): string {
  const extra = [...now].filter((line) => !expected.has(line)).sort();
  const missing = [...expected].filter((line) => !now.has(line)).sort();
  const list = (lines: string[]) => (lines.length > 5 ? `${lines.slice(0, 5).join("; ")}; and ${lines.length - 5} more` : lines.join("; "));
  return [extra.length > 0 ? `left behind: ${list(extra)}` : "", missing.length > 0 ? `missing: ${list(missing)}` : ""].filter(Boolean).join("; ");
}

/**
 * The migrations in migrations/: each one goes up, down and up again on an empty schema of its
 * own, and its Down section gives back exactly the schema from before its Up section.
 */

import { randomUUID } from "node:crypto";
import { afterAll, expect, inject, it } from "vitest";
import { checkMigrations, migrationStatus, openDatabase, type Database } from "tornado/db";
import { MIGRATIONS_DIR } from "../src/db/schema.js";
import { postgresUrl } from "./support.js";

// A database handle without the app's setup, so its schema starts empty.
const schema = `test_${randomUUID().replaceAll("-", "").slice(0, 16)}`;
const db: Database = openDatabase(postgresUrl ? { url: postgresUrl, schema } : { dir: inject("embeddedDir"), schema });
afterAll(async () => {
  await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await db.close();
});

it("every migration goes up, down and up again, and its Down section undoes its Up section", async () => {
  const target = { url: await db.connectionString(), schema, dir: MIGRATIONS_DIR };
  const checked = await checkMigrations(target);
  const all = await migrationStatus(target);
  expect(checked).toEqual(all.map((m) => m.name));
  expect(all.every((m) => m.applied)).toBe(true);
  expect(checked.length).toBeGreaterThan(0);
});

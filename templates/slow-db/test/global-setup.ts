/**
 * Runs once before the tests. Without PostgreSQL it creates one embedded database (initdb, the
 * schema, the orders: several seconds) that each test file then copies, which is much quicker
 * than creating its own.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { EmbeddedDatabase } from "../src/db/embedded.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** A folder holding a ready embedded database (`data/`), to copy; "" with PostgreSQL. */
    embeddedTemplate: string;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  if (process.env.TEST_DATABASE_URL || process.env.DATABASE_URL) {
    project.provide("embeddedTemplate", "");
    return () => {};
  }
  const dir = mkdtempSync(join(tmpdir(), "slow-db-template-"));
  const db = new EmbeddedDatabase({ dir });
  await db.ready;
  await db.close();
  project.provide("embeddedTemplate", dir);
  return () => rmSync(dir, { recursive: true, force: true });
}

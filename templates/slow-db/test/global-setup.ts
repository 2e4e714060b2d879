/**
 * Runs once before the tests. Without PostgreSQL it starts one embedded PostgreSQL in a
 * temporary folder (initdb on the first run: a second or two) and holds it open while the test
 * files run; each file works in a schema of its own there, as it does on PostgreSQL.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { openDatabase } from "tornado/db";

declare module "vitest" {
  export interface ProvidedContext {
    /** The folder of the embedded PostgreSQL the tests share; "" with PostgreSQL. */
    embeddedDir: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.TEST_DATABASE_URL || process.env.DATABASE_URL) {
    project.provide("embeddedDir", "");
    return async () => {};
  }
  const dir = mkdtempSync(join(tmpdir(), "slow-db-test-"));
  const db = openDatabase({ dir });
  await db.ready;
  project.provide("embeddedDir", dir);
  return async () => {
    await db.close();
    // The files go once PostgreSQL has stopped (a moment after the last lease).
    await waitForStop(dir);
    rmSync(dir, { recursive: true, force: true });
  };
}

async function waitForStop(dir: string): Promise<void> {
  const { existsSync } = await import("node:fs");
  const deadline = Date.now() + 20_000;
  while (existsSync(join(dir, "supervisor.lock")) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
}

/**
 * A slow-db app's database scripts, as a user runs them (`npm run db:…`), in an app created and
 * installed from the npm registry: on the embedded PostgreSQL (no DATABASE_URL) and on the
 * machine's PostgreSQL, two `npm run db:migrate` at once included.
 */

import { randomUUID } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCommand } from "../helpers/cli.js";
import { createApp, type CreatedApp } from "../helpers/dev.js";
import { POSTGRES_URL, requireService } from "../helpers/services.js";

const postgresAddress = new URL(POSTGRES_URL);
const postgres = await requireService("PostgreSQL", postgresAddress.hostname, Number(postgresAddress.port || 5432));

let created: CreatedApp | undefined;
let app: string;
beforeAll(async () => {
  created = await createApp("slowdb-migrate", "slow-db");
  app = created.app;
}, 300_000);
afterAll(async () => {
  await supervisorGone(join(app, ".tornado/db"));
  created?.remove();
});

/** Waits (up to 20 s) for the embedded PostgreSQL's supervisor to stop after the last command. */
async function supervisorGone(dbDir: string): Promise<void> {
  const info = join(dbDir, "supervisor.json");
  if (!existsSync(info)) return;
  const { pid } = JSON.parse(readFileSync(info, "utf8")) as { pid: number };
  for (let i = 0; i < 200; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the embedded PostgreSQL's supervisor (pid ${pid}) still runs 20 s after the last command`);
}

/** `npm run <script> [-- args]` in the app; its output without npm's own header lines. */
async function npmRun(env: NodeJS.ProcessEnv, script: string, ...args: string[]) {
  const run = await runCommand("npm", ["run", "--silent", script, ...(args.length > 0 ? ["--", ...args] : [])], app, env);
  return run;
}

describe("a slow-db app's db scripts", () => {
  it("on the embedded PostgreSQL: migrate, seed, status, create, migrate and rollback", async () => {
    // A short grace: a command may arrive while the previous one's PostgreSQL is stopping.
    const env = { DATABASE_URL: "", DATABASE_SCHEMA: "", EMBEDDED_DB_GRACE_MS: "200" };
    const banner = `Database: embedded PostgreSQL (no DATABASE_URL), files in ${join(app, ".tornado/db")}.\n`;
    const [first] = readdirSync(join(app, "migrations"));
    expect(first).toMatch(/^\d{17}_create_orders\.sql$/);
    const name = first!.replace(/\.sql$/, "");

    let run = await npmRun(env, "db:migrate");
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`${banner}Applying ${name}\nApplied 1 migration.\n`);
    run = await npmRun(env, "db:seed");
    expect(run.stdout).toBe(`${banner}Ran db/seed.sql.\n`);
    run = await npmRun(env, "db:status");
    expect(run.stdout).toMatch(new RegExp(`applied {2}${name} {2}\\S+\\n1 applied, 0 pending\\.\\n$`));

    run = await npmRun(env, "db:create", "add_paid_to_orders");
    expect(run.code).toBe(0);
    const file = /Created (migrations\/\d{17}_add_paid_to_orders\.sql)/.exec(run.stdout)?.[1];
    expect(file, run.stdout).toBeDefined();
    writeFileSync(join(app, file!), "-- Up Migration\nALTER TABLE orders ADD COLUMN paid boolean NOT NULL DEFAULT false;\n-- Down Migration\nALTER TABLE orders DROP COLUMN paid;\n");
    const added = file!.slice("migrations/".length, -".sql".length);
    run = await npmRun(env, "db:migrate");
    expect(run.stdout).toBe(`${banner}Applying ${added}\nApplied 1 migration.\n`);
    run = await npmRun(env, "db:rollback");
    expect(run.stdout).toBe(`${banner}Rolling back ${added}\nRolled back 1 migration.\n`);
    run = await npmRun(env, "db:status");
    expect(run.stdout).toMatch(new RegExp(`pending {2}${added}\\n1 applied, 1 pending\\.\\n$`));
  }, 180_000);

  it.skipIf(!postgres)("on PostgreSQL (DATABASE_URL): two db:migrate at once apply each migration once", async () => {
    const schema = `h16m_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
    const env = { DATABASE_URL: POSTGRES_URL, DATABASE_SCHEMA: schema };
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      const runs = await Promise.all([npmRun(env, "db:migrate"), npmRun(env, "db:migrate")]);
      for (const run of runs) {
        expect(run.stderr).toBe("");
        expect(run.code).toBe(0);
      }
      const applied = runs.filter((run) => run.stdout.startsWith("Applying "));
      expect(applied).toHaveLength(1);
      const names = (await client.query<{ name: string }>(`SELECT name FROM "${schema}".pgmigrations`)).rows.map((r) => r.name);
      expect(new Set(names).size).toBe(names.length);
      expect(applied[0]!.stdout).toBe(`${names.map((n) => `Applying ${n}\n`).join("")}Applied ${names.length} migration${names.length === 1 ? "" : "s"}.\n`);
      const seeded = await npmRun(env, "db:seed");
      expect(seeded.stdout).toBe("Ran db/seed.sql.\n");
      expect((await client.query(`SELECT count(*)::int AS n FROM "${schema}".orders`)).rows[0].n).toBe(10_000);
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    }
  }, 120_000);
});

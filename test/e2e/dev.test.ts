/**
 * `tornado dev` on a real generated app: it serves, restarts on a save without dropping anyone,
 * keeps the last good version when the new one is broken, loads `.env`, restarts on `rs`, exits
 * cleanly on Ctrl-C, and answers bad input with one line and a non-zero exit.
 */
import { execFileSync, spawn } from "node:child_process";
import http from "node:http";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import {
  addExtraRoutes,
  createApp,
  editFile,
  freePort,
  hammer,
  isAlive,
  killProcessesUnder,
  lanAddress,
  occupyPort,
  pollUntil,
  portIsFree,
  processesMatching,
  request,
  saveFiles,
  startTornado,
  stopAll,
  type CreatedApp,
  type HammerStats,
  type Tornado,
} from "../helpers/dev.js";

const INSTALL_TIMEOUT = 300_000;
const STARTED = /started src\/main\.ts in \d+ ms/;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let created: CreatedApp | undefined;
let app: string;
let health: string;
let appFile: string;
let dotenv: string;
let saved: { restore: () => void };

beforeAll(async () => {
  created = await createApp("dev");
  app = created.app;
  addExtraRoutes(app);
  health = join(app, "src/handlers/health.ts");
  appFile = join(app, "src/app.ts");
  dotenv = join(app, ".env");
  writeFileSync(dotenv, 'TORNADO_E2E_GREETING="hello from .env"\n');
  // Entries that never serve: one idles forever, one exits, one just ends.
  writeFileSync(join(app, "src/idle.ts"), "setInterval(() => {}, 1000);\n");
  writeFileSync(join(app, "src/quit.ts"), 'console.log("quitting");\nprocess.exit(0);\n');
  writeFileSync(join(app, "src/ends.ts"), 'console.log("nothing to serve");\n');
  saved = saveFiles([health, appFile, dotenv]);
}, INSTALL_TIMEOUT);

afterEach(async () => {
  await stopAll();
  saved?.restore();
});

afterAll(() => created?.remove());

/** Runs `tornado dev` on a free port. */
async function dev(args: string[] = []): Promise<Tornado> {
  return startTornado(app, ["dev", ...args], { port: await freePort() });
}

const at = (t: Tornado, path: string) => `http://127.0.0.1:${t.port}${path}`;
/**
 * The dev server's own lines in `text`, without the type checker's: it runs beside the app and
 * says "no type errors" once its first pass ends, whenever that is on a loaded machine.
 */
const supervisorLines = (text: string) =>
  text.split("\n").filter((line) => line.startsWith("[tornado]") && !/^\[tornado\] (no type errors$|\S*\d+ type errors? |no type checking:)/.test(line));
const restartLine = (file: string) => new RegExp(`${file.replace(/[.]/g, "\\.")} changed · restarted in \\d+ ms`);

/** Sets the `status` field /health answers with, and waits until it is served. */
async function setHealthStatus(t: Tornado, status: string): Promise<void> {
  const mark = t.mark();
  editFile(health, (s) => s.replace(/status: "[^"]*"/, `status: "${status}"`));
  await t.waitFor(restartLine("src/handlers/health.ts"), { since: mark });
  await pollUntil(() => request(at(t, "/health")), (r) => r.status === 200 && JSON.parse(r.body).status === status);
}

describe("tornado dev", () => {
  it("serves the app, and after a handler is saved serves the new code, with one restart line naming the file", async () => {
    const t = await dev();
    await t.waitFor(STARTED);
    const first = await request(at(t, "/health"));
    expect(first.status).toBe(200);
    expect(JSON.parse(first.body)).toMatchObject({ status: "ok" });

    const mark = t.mark();
    editFile(health, (s) => s.replace('status: "ok"', 'status: "edited"'));
    const edited = await pollUntil(() => request(at(t, "/health")), (r) => r.body.includes('"edited"'));
    expect(edited.status).toBe(200);
    await t.waitFor(restartLine("src/handlers/health.ts"), { since: mark });
    await sleep(500); // a second restart line for the same save would show up by now
    expect(t.output().slice(mark).match(/restarted in/g)).toHaveLength(1);
  }, 60_000);

  it("lets a request in flight during a restart finish with a complete 200", async () => {
    const t = await dev();
    await t.waitFor(STARTED);
    const oldPid = JSON.parse((await request(at(t, "/pid"))).body).pid as number;

    let finished = false;
    const started = t.mark();
    const slow = request(at(t, "/slow?ms=5000")).finally(() => (finished = true));
    await t.waitFor(new RegExp(`slow request started in ${oldPid}`), { since: started });
    const mark = t.mark();
    editFile(health, (s) => s.replace('status: "ok"', 'status: "during-slow"'));
    await t.waitFor(restartLine("src/handlers/health.ts"), { since: mark });
    const restartedWhileInFlight = !finished;

    const response = await slow;
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ slow: "done", pid: oldPid });
    expect(restartedWhileInFlight).toBe(true);
    // The new version serves now, from another process; the old one, drained, has exited.
    const after = await request(at(t, "/pid"));
    expect(JSON.parse(after.body).pid).not.toBe(oldPid);
    await pollUntil(async () => isAlive(oldPid), (alive) => !alive, 15_000);
  }, 60_000);

  it("drops nobody while clients hammer the port through 10 restarts (keep-alive and new connections)", async () => {
    const t = await dev();
    await t.waitFor(STARTED);
    const url = at(t, "/health");
    const load = hammer(url, { keepAlive: 3, fresh: 2 });
    let stats: HammerStats;
    try {
      await sleep(300);
      for (let i = 1; i <= 10; i++) {
        const mark = t.mark();
        editFile(health, (s) => s.replace(/status: "[^"]*"/, `status: "hammer-${i}"`));
        await t.waitFor(restartLine("src/handlers/health.ts"), { since: mark, timeout: 30_000 });
        await sleep(150); // let the old app drain while requests keep coming
      }
      await sleep(500);
    } finally {
      stats = await load.stop();
    }
    const restartLines = t.output().match(/changed · restarted in .*/g) ?? [];
    const waited = restartLines.reduce((sum, line) => sum + Number(/\((\d+)(?: requests?)? waited\)/.exec(line)?.[1] ?? 0), 0);
    console.log(
      `hammer: ${stats.total} requests over ${restartLines.length} restarts: statuses ${JSON.stringify(stats.statuses)}, ` +
        `${stats.reused} on kept-alive connections, ${stats.newConnections} on new connections, ` +
        `${stats.errors.length} errors ${JSON.stringify(stats.errors.slice(0, 10))}; ${waited} connections waited for a new version`,
    );
    expect(stats.errors).toEqual([]);
    expect(Object.keys(stats.statuses)).toEqual(["200"]);
    expect(restartLines).toHaveLength(10);
    expect(stats.total).toBeGreaterThan(100);
    expect(stats.reused).toBeGreaterThan(0);
    expect(JSON.parse((await request(url)).body).status).toBe("hammer-10");
  }, 90_000);

  it("ends on the last version after saves faster than restarts, dropping nobody meanwhile", async () => {
    const t = await dev();
    await t.waitFor(STARTED);
    const url = at(t, "/health");
    const load = hammer(url, { keepAlive: 2, fresh: 1 });
    let stats: HammerStats;
    try {
      for (let i = 1; i <= 8; i++) {
        editFile(health, (s) => s.replace(/status: "[^"]*"/, `status: "burst-${i}"`));
        await sleep(60 + 40 * (i % 3));
      }
      await pollUntil(() => request(url), (r) => r.status === 200 && JSON.parse(r.body).status === "burst-8", 30_000);
      await sleep(500);
    } finally {
      stats = await load.stop();
    }
    expect(stats.errors).toEqual([]);
    expect(Object.keys(stats.statuses)).toEqual(["200"]);
    // Outdated starts were dropped: no more app processes than the one serving and the next one.
    await pollUntil(async () => processesMatching([app, "child.js"]).length, (n) => n <= 2, 15_000);
  }, 60_000);

  it("keeps the last good version serving after a syntax error, names the file and line, and recovers when it is fixed", async () => {
    const t = await dev();
    await t.waitFor(STARTED);
    await setHealthStatus(t, "good");

    // Requests keep flowing through the failed start: those that waited for it go to the old app.
    const load = hammer(at(t, "/health"), { keepAlive: 1, fresh: 1 });
    let stats: HammerStats;
    try {
      const mark = t.mark();
      // The broken line goes right after `get(): void {`, wherever the template has it.
      const brokenLine = readFileSync(health, "utf8").split("\n").findIndex((line) => line.includes("get(): void {")) + 2;
      editFile(health, (s) => s.replace("get(): void {", "get(): void {\n    const broken = ;"));
      await t.waitFor(/src\/handlers\/health\.ts changed: the new version failed to start:\n[^]*the last good version keeps serving/, {
        since: mark,
      });
      await t.waitFor(new RegExp(`src/handlers/health\\.ts:${brokenLine}:\\d+`), { since: mark });
      const stillGood = await request(at(t, "/health"));
      expect(stillGood.status).toBe(200);
      expect(JSON.parse(stillGood.body).status).toBe("good");
    } finally {
      stats = await load.stop();
    }
    expect(stats.errors).toEqual([]);
    expect(Object.keys(stats.statuses)).toEqual(["200"]);

    const fixed = t.mark();
    editFile(health, (s) => s.replace("\n    const broken = ;", "").replace('status: "good"', 'status: "fixed"'));
    await t.waitFor(restartLine("src/handlers/health.ts"), { since: fixed });
    const recovered = await pollUntil(() => request(at(t, "/health")), (r) => r.status === 200 && r.body.includes('"fixed"'));
    expect(JSON.parse(recovered.body).status).toBe("fixed");
  }, 60_000);

  it("answers 503 with the error while no version works, and serves the app after the save that fixes it", async () => {
    const good = readFileSync(appFile, "utf8");
    writeFileSync(appFile, `${good}\nthrow new Error("deliberately broken at import");\n`);
    const t = await dev();
    await t.waitFor(/the app failed to start:\n[^]*requests get a 503 page until the next save/);
    const unavailable = await request(at(t, "/health"));
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers["content-type"]).toMatch(/text\/html/);
    expect(unavailable.body).toContain("deliberately broken at import");
    expect(unavailable.body).toContain("src/app.ts");

    const mark = t.mark();
    writeFileSync(appFile, good);
    await t.waitFor(restartLine("src/app.ts"), { since: mark });
    const served = await pollUntil(() => request(at(t, "/health")), (r) => r.status === 200);
    expect(JSON.parse(served.body).status).toBe("ok");
  }, 60_000);

  it("answers 503 with the error after the app crashes while serving, restarts it 1 s later, and serves a save", async () => {
    const t = await dev();
    await t.waitFor(STARTED);
    const mark = t.mark();
    expect((await request(at(t, "/crash"))).status).toBe(200);
    await t.waitFor(/the app exited \(code 1\):\nError: crashed on purpose[^]*restarting it in 1 s · requests get a 503 page meanwhile/, { since: mark });
    const page = await request(at(t, "/health"));
    expect(page.status).toBe(503);
    expect(page.body).toContain("crashed on purpose");
    expect(page.body).toMatch(/tornado dev restarts it in 1 s/);
    await t.waitFor(/restarted after the crash in \d+ ms/, { since: mark });
    expect((await pollUntil(() => request(at(t, "/health")), (r) => r.status === 200)).status).toBe(200);

    await setHealthStatus(t, "after-crash");
  }, 60_000);

  it("logs an uncaught exception from a handler's timer with its route, and keeps serving without a restart", async () => {
    const t = await dev();
    await t.waitFor(STARTED);
    const mark = t.mark();
    expect((await request(at(t, "/stray"))).status).toBe(200);
    await t.waitFor(/Uncaught exception in a callback \(route \/stray[^]*stray on purpose/, { since: mark });
    expect((await request(at(t, "/health"))).status).toBe(200);
    expect(t.output().slice(mark)).not.toMatch(/exited|restarted/);
  }, 60_000);

  it("gives the app the variables of .env, restarts on `rs` + Enter, and restarts with new values when .env is saved", async () => {
    const t = await dev();
    await t.waitFor(STARTED);
    const greeting = await request(at(t, "/env/TORNADO_E2E_GREETING"));
    expect(JSON.parse(greeting.body)).toEqual({ name: "TORNADO_E2E_GREETING", value: "hello from .env" });

    const before = JSON.parse((await request(at(t, "/pid"))).body).pid as number;
    const mark = t.mark();
    t.type("rs");
    await t.waitFor(/restart requested · restarted in \d+ ms/, { since: mark });
    const after = JSON.parse((await request(at(t, "/pid"))).body).pid as number;
    expect(after).not.toBe(before);

    const envMark = t.mark();
    writeFileSync(dotenv, 'TORNADO_E2E_GREETING="changed in .env"\n');
    await t.waitFor(restartLine(".env"), { since: envMark });
    const changed = await pollUntil(
      () => request(at(t, "/env/TORNADO_E2E_GREETING")),
      (r) => r.status === 200 && JSON.parse(r.body).value === "changed in .env",
    );
    expect(changed.status).toBe(200);
  }, 60_000);

  it("exits 0 on Ctrl-C, leaving no app process behind and the port free", async () => {
    const t = await dev();
    await t.waitFor(STARTED);
    await setHealthStatus(t, "before-ctrl-c");
    // A request in flight and an idle keep-alive connection at the moment of Ctrl-C.
    const keepAlive = new http.Agent({ keepAlive: true });
    await request(at(t, "/health"), { agent: keepAlive });
    const slow = request(at(t, "/slow?ms=500")).catch((error: Error) => error);
    // A process the app started: it goes with the app.
    const grandchild = JSON.parse((await request(at(t, "/spawn"))).body).pid as number;
    onTestFinished(() => {
      if (isAlive(grandchild)) process.kill(grandchild, "SIGKILL");
    });
    expect(isAlive(grandchild)).toBe(true);
    const pids = await pollUntil(
      async () => processesMatching([app, "child.js"]).map((p) => p.pid),
      (list) => list.length >= 2, // the serving app and the next one, ready ahead
    );

    const stopped = t.mark();
    const exit = await t.stop("SIGINT");
    expect(exit).toEqual({ code: 0, signal: null });
    // One calm line: the app drains quietly, its own SIGTERM handler ("SIGTERM: shutting down") never runs.
    const after = t.output().slice(stopped);
    expect(after).not.toContain("shutting down");
    expect(supervisorLines(after)).toEqual(["[tornado] stopping (Ctrl-C)"]);
    await slow;
    keepAlive.destroy();
    await pollUntil(async () => [...pids, grandchild].filter(isAlive), (alive) => alive.length === 0, 5_000);
    expect(processesMatching([app, "child.js"])).toEqual([]);
    expect(await portIsFree(t.port)).toBe(true);
  }, 60_000);

  it("lets go of the port when run as `npm run dev` and npm is stopped (SIGTERM reaches only npm)", async () => {
    const port = await freePort();
    const npm = spawn("npm", ["run", "dev"], { cwd: app, env: { ...process.env, PORT: String(port), NO_COLOR: "1" }, stdio: "ignore" });
    onTestFinished(() => {
      npm.kill("SIGKILL");
      killProcessesUnder(app);
    });
    await pollUntil(() => request(`http://127.0.0.1:${port}/health`).catch(() => ({ status: 0 })), (r) => r.status === 200);
    const tornado = await pollUntil(
      async () => processesMatching([app, "bin/tornado dev"]).filter((p) => p.args.startsWith("node")),
      (list) => list.length === 1,
    );
    npm.kill("SIGTERM");
    await pollUntil(async () => isAlive(tornado[0]!.pid), (alive) => !alive, 10_000);
    await pollUntil(async () => processesMatching([app, "child.js"]), (list) => list.length === 0, 10_000);
    expect(await portIsFree(port)).toBe(true);
  }, 60_000);

  it("listens on 127.0.0.1 only, with PORT from .env when the environment has none, and keeps its lines within 80 columns", async () => {
    const port = await freePort();
    writeFileSync(dotenv, `TORNADO_E2E_GREETING="hello from .env"\nPORT=${port}\n`);
    const t = startTornado(app, ["dev"], { port, env: { PORT: undefined } });
    await t.waitFor(STARTED);
    expect(t.output()).toContain(`[tornado] dev server on http://127.0.0.1:${port} (PORT from .env)\n`);
    expect((await request(at(t, "/health"))).status).toBe(200);
    const lan = lanAddress();
    if (lan !== null) await expect(request(`http://${lan}:${port}/health`)).rejects.toMatchObject({ code: "ECONNREFUSED" });
    await setHealthStatus(t, "within-80-columns");
    expect(await t.stop("SIGINT")).toEqual({ code: 0, signal: null });
    expect(t.output().split("\n").filter((line) => line.length > 80)).toEqual([]);

    // The real environment wins over .env; --port over both.
    const fromEnvironment = await freePort();
    const e = startTornado(app, ["dev"], { port: fromEnvironment });
    await e.waitFor(STARTED);
    expect(e.output()).toContain(`dev server on http://127.0.0.1:${fromEnvironment} (PORT from the environment)`);
    expect(JSON.parse((await request(at(e, "/env/PORT"))).body).value).toBe(String(fromEnvironment));
    await e.stop("SIGINT");
    const fromFlag = await freePort();
    const f = startTornado(app, ["dev", "--port", String(fromFlag)], { port: fromFlag, env: { PORT: String(fromEnvironment) } });
    await f.waitFor(STARTED);
    expect(f.output()).toContain(`dev server on http://127.0.0.1:${fromFlag} (from --port)`);
  }, 60_000);

  it.skipIf(lanAddress() === null)("with --host 0.0.0.0 shows the 503 page's error only to this machine's clients", async () => {
    const good = readFileSync(appFile, "utf8");
    writeFileSync(appFile, `${good}\nthrow new Error("broken, with postgres://app:s3cret@db/app in it");\n`);
    const t = await dev(["--host", "0.0.0.0"]);
    await t.waitFor(/the app failed to start:/);
    expect(t.output()).toContain(`dev server on http://0.0.0.0:${t.port} (PORT from the environment)`);
    const local = await request(at(t, "/health"));
    expect(local.status).toBe(503);
    expect(local.body).toContain("s3cret");
    expect(local.body).toContain("src/app.ts");
    const remote = await request(`http://${lanAddress()}:${t.port}/health`);
    expect(remote.status).toBe(503);
    expect(remote.body).toBe("<html><title>503: Service Unavailable</title><body>503: Service Unavailable</body></html>");
  }, 60_000);

  it("names the file saved by rename (an editor's temporary file, sed -i), never the temporary file", async () => {
    const t = await dev();
    await t.waitFor(STARTED);
    const mark = t.mark();
    // As some editors save: the new text into a temporary file beside it, renamed over the file.
    const temp = join(app, "src/handlers/sedXk3pQa");
    writeFileSync(temp, readFileSync(health, "utf8").replace(/status: "[^"]*"/, 'status: "renamed"'));
    await sleep(100);
    renameSync(temp, health);
    await t.waitFor(restartLine("src/handlers/health.ts"), { since: mark });
    await pollUntil(() => request(at(t, "/health")), (r) => r.status === 200 && JSON.parse(r.body).status === "renamed");
    const sedMark = t.mark();
    execFileSync("sed", ["-i", 's/status: "renamed"/status: "sed"/', health]);
    await t.waitFor(restartLine("src/handlers/health.ts"), { since: sedMark });
    await pollUntil(() => request(at(t, "/health")), (r) => r.status === 200 && JSON.parse(r.body).status === "sed");
    await sleep(1000); // a late event for the temporary file would show up by now
    const lines = supervisorLines(t.output().slice(mark));
    expect(lines, lines.join("\n")).toHaveLength(2);
    expect(lines.every((line) => /^\[tornado\] src\/handlers\/health\.ts changed · restarted in \d+ ms/.test(line))).toBe(true);
  }, 60_000);

  it("leaves no app process behind when the dev server itself is killed (SIGKILL)", async () => {
    const t = await dev();
    await t.waitFor(STARTED);
    expect((await request(at(t, "/health"))).status).toBe(200);
    const pids = await pollUntil(
      async () => processesMatching([app, "child.js"]).map((p) => p.pid),
      (list) => list.length >= 2,
    );
    expect(await t.stop("SIGKILL")).toEqual({ code: null, signal: "SIGKILL" });
    await pollUntil(async () => pids.filter(isAlive), (alive) => alive.length === 0, 10_000);
    expect(await portIsFree(t.port)).toBe(true);
  }, 30_000);
});

describe("tornado dev with bad input", () => {
  it("exits 1 with one line when the entry file does not exist", async () => {
    const t = await dev(["--entry", "src/nope.ts"]);
    const exit = await t.waitForExit();
    expect(exit.code).toBe(1);
    expect(t.stderr().trim().split("\n")).toEqual([
      "error: The entry file src/nope.ts does not exist: pass --entry <file> (default src/main.ts).",
    ]);
  }, 30_000);

  it("exits 1 with one line when the port is in use", async () => {
    const port = await freePort();
    const blocker = await occupyPort(port);
    try {
      const t = startTornado(app, ["dev", "--port", String(port)], { port });
      const exit = await t.waitForExit();
      expect(exit.code).toBe(1);
      expect(t.stderr().trim().split("\n")).toEqual([`error: Port ${port} is already in use: stop the other server or pass --port.`]);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  }, 30_000);

  it("says so when the app never calls listen(), answers 503 meanwhile, and keeps running", async () => {
    const t = await dev(["--entry", "src/idle.ts", "--start-timeout", "2000"]);
    await t.waitFor(/the app failed to start:\nsrc\/idle\.ts did not start a server within 2 s[^]*requests get a 503 page until the next save/);
    const page = await request(at(t, "/health"));
    expect(page.status).toBe(503);
    expect(page.body).toContain("did not start a server within 2 s");
    await sleep(500);
    expect(t.hasExited()).toBe(false);
    expect(processesMatching([app, "child.js"]).length).toBeLessThanOrEqual(1); // only the next one, ready ahead
    expect(await t.stop("SIGINT")).toEqual({ code: 0, signal: null });
  }, 30_000);

  it("says so when the app exits without starting a server (process.exit, or the entry just ends)", async () => {
    for (const entry of ["src/quit.ts", "src/ends.ts"]) {
      const t = await dev(["--entry", entry]);
      const sentence = new RegExp(`${entry.replace(".", "\\.")} exited \\(code 0\\) without starting a server`);
      await t.waitFor(sentence, { timeout: 10_000 });
      const page = await request(at(t, "/"));
      expect(page.status).toBe(503);
      expect(page.body).toMatch(sentence);
      expect(t.hasExited()).toBe(false);
      expect(await t.stop("SIGINT")).toEqual({ code: 0, signal: null });
    }
  }, 40_000);

  it("rejects a bad --start-timeout with one line", async () => {
    const t = await dev(["--start-timeout", "soon"]);
    const exit = await t.waitForExit();
    expect(exit.code).toBe(1);
    expect(t.stderr().trim().split("\n")).toEqual(['error: --start-timeout must be a number of milliseconds above 0, not "soon".']);
  }, 30_000);

  it("rejects a PORT in .env that is not a port with one line naming it", async () => {
    writeFileSync(dotenv, "PORT=eighty\n");
    const t = startTornado(app, ["dev"], { port: 0, env: { PORT: undefined } });
    expect((await t.waitForExit()).code).toBe(1);
    expect(t.stderr().trim().split("\n")).toEqual(['error: PORT in .env must be a port number from 0 to 65535, not "eighty".']);
  }, 30_000);
});

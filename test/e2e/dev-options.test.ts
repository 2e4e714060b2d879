/**
 * `tornado dev`'s knobs on a real generated app: arguments after `--`, `--env-file` and
 * `--node-options` reach the app; extra watched paths, ignore globs, extensions and static
 * folders (from the command line and package.json); `--poll`; and CLI mistakes as one line.
 */
import { existsSync, mkdirSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createApp, editFile, freePort, pollUntil, request, saveFiles, startTornado, stopAll, type CreatedApp, type Tornado } from "../helpers/dev.js";

const INSTALL_TIMEOUT = 300_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// An entry without a database (so it starts fast) that shows what it was given.
const PROBE = `import { getHeapStatistics } from "node:v8";
import { Application, RequestHandler } from "tornado";
import { define, parseCommandLine } from "tornado/options";

const greeting = define("greeting", { default: "none", help: "a word" });
const rest = parseCommandLine();

class Probe extends RequestHandler {
  get(): void {
    this.write({
      version: "v1",
      pid: process.pid,
      greeting: greeting(),
      rest,
      argv1: process.argv[1],
      heapMb: Math.round(getHeapStatistics().heap_size_limit / 1048576),
      secret: process.env.PROBE_SECRET ?? null,
    });
  }
}

await new Application([["/", Probe]], { staticPath: "public", staticHashCache: false }).listen(Number(process.env.PORT));
`;

// An entry that listens, then exits on its own 300 ms later: a crash loop.
const CRASHY = `import { Application, RequestHandler } from "tornado";

class Up extends RequestHandler {
  get(): void {
    this.write("up");
  }
}

await new Application([["/", Up]]).listen(Number(process.env.PORT));
console.log(\`crashy up at \${Date.now()}\`);
setTimeout(() => process.exit(3), 300);
`;

let created: CreatedApp | undefined;
let app: string;
let probe: string;
let manifest: string;
let saved: { restore: () => void };

beforeAll(async () => {
  created = await createApp("dev-options");
  app = created.app;
  probe = join(app, "src/probe.ts");
  writeFileSync(probe, PROBE);
  writeFileSync(join(app, "src/crashy.ts"), CRASHY);
  mkdirSync(join(app, "config"), { recursive: true });
  mkdirSync(join(app, "public"), { recursive: true });
  mkdirSync(join(app, "src/notes"), { recursive: true });
  writeFileSync(join(app, "config/dev.env"), "PROBE_SECRET=from-env-file\n");
  writeFileSync(join(app, "config/settings.json"), '{ "a": 1 }\n');
  writeFileSync(join(app, "public/hello.txt"), "hello one\n");
  writeFileSync(join(app, "src/notes/todo.txt"), "nothing\n");
  manifest = join(app, "package.json");
  saved = saveFiles([probe, join(app, "src/crashy.ts"), manifest, join(app, "config/dev.env"), join(app, "public/hello.txt")]);
}, INSTALL_TIMEOUT);

afterEach(async () => {
  await stopAll();
  saved?.restore();
});

afterAll(() => created?.remove());

async function dev(args: string[]): Promise<Tornado> {
  const t = startTornado(app, ["dev", "--entry", "src/probe.ts", "--no-typecheck", ...args], { port: await freePort() });
  await t.waitFor(/started src\/probe\.ts in \d+ ms/, { timeout: 30_000 });
  return t;
}

const probeOf = async (t: Tornado) => JSON.parse((await request(`http://127.0.0.1:${t.port}/`)).body) as Record<string, unknown>;

/** How many inotify descriptors process `pid` holds (Linux). */
function inotifyDescriptors(pid: number): number {
  const fds = readdirSync(`/proc/${pid}/fd`);
  return fds.filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`) === "anon_inode:inotify";
    } catch {
      return false;
    }
  }).length;
}

/** Waits `ms`, then asserts that nothing restarted since `mark`. */
async function expectNoRestart(t: Tornado, mark: number, ms = 1500): Promise<void> {
  await sleep(ms);
  expect(t.output().slice(mark)).not.toMatch(/restarted in|failed to start/);
}

describe("tornado dev: what reaches the app", () => {
  it("passes arguments after --, the --env-file variables and --node-options to the app, on every restart", async () => {
    const t = await dev(["--env-file", "config/dev.env", "--node-options", "--max-old-space-size=200", "--", "--greeting=hi", "extra"]);
    expect(t.output()).toMatch(/watching src, public, config\/dev\.env, tsconfig\.json, package\.json/);
    const first = await probeOf(t);
    expect(first).toMatchObject({ greeting: "hi", rest: ["extra"], secret: "from-env-file" });
    expect(String(first.argv1)).toMatch(/src\/probe\.ts$/);
    // max-old-space-size=200 gives a heap limit of 200 MiB plus the young generation.
    expect(first.heapMb).toBeGreaterThanOrEqual(195);
    expect(first.heapMb).toBeLessThan(600);

    // The env file is watched: a change restarts, and the new app sees the new value.
    const mark = t.mark();
    writeFileSync(join(app, "config/dev.env"), "PROBE_SECRET=changed\n");
    await t.waitFor(/config\/dev\.env changed · restarted in \d+ ms/, { since: mark });
    const second = await pollUntil(() => probeOf(t), (p) => p.secret === "changed");
    expect(second).toMatchObject({ greeting: "hi", rest: ["extra"] });
    expect(second.pid).not.toBe(first.pid);
  }, 60_000);
});

describe("tornado dev: an app that crashes", () => {
  it("restarts it after 1 s, 2 s, 4 s…, says so on the 503 page, reports the loop once, and a save ends it", async () => {
    const crashy = join(app, "src/crashy.ts");
    const t = startTornado(app, ["dev", "--entry", "src/crashy.ts", "--no-typecheck"], { port: await freePort() });
    await t.waitFor(/started src\/crashy\.ts in \d+ ms/, { timeout: 30_000 });
    await t.waitFor(/the app exited \(code 3\)\n\[tornado\] restarting it in 1 s · requests get a 503 page meanwhile/);
    const page = await request(`http://127.0.0.1:${t.port}/`);
    expect(page.status).toBe(503);
    expect(page.body).toMatch(/tornado dev restarts it in 1 s/);
    expect(page.headers["retry-after"]).toBe("1");

    // Four starts: the first, then after 1, 2 and 4 s (each measured from one start to the next,
    // which also holds the 300 ms the app lives).
    const ups = await pollUntil(
      async () => [...t.output().matchAll(/crashy up at (\d+)/g)].map((m) => Number(m[1])),
      (times) => times.length >= 4,
      40_000,
    );
    const gaps = ups.slice(1, 4).map((at, i) => at - ups[i]!);
    expect(gaps[0]).toBeGreaterThanOrEqual(1250);
    expect(gaps[1]).toBeGreaterThanOrEqual(2250);
    expect(gaps[2]).toBeGreaterThanOrEqual(4250);
    // (A request that reaches the app just as it exits is lost with it: short timeouts.)
    const during = await pollUntil(() => request(`http://127.0.0.1:${t.port}/`, { timeout: 2000 }), (r) => r.status === 503);
    expect(during.body).toMatch(/The app crashed \d+ times in a row: tornado dev restarts it in \d+ s/);

    // Said once: one crash report, one line for the loop, one restart line (the first).
    const out = t.output();
    expect(out.match(/the app exited/g)).toHaveLength(1);
    expect(out.match(/it is in a crash loop/g)).toHaveLength(1);
    expect(out.match(/restarted after the crash/g)).toHaveLength(1);
    // (Lines wrap at 80 columns, continuing indented.)
    expect(out.replace(/\n +/g, " ")).toMatch(/restarting it in 2 s, then waiting twice as long after each crash \(at most 30 s\)/);

    // A save starts the new version at once and it stays up.
    const mark = t.mark();
    editFile(crashy, (s) => s.replace("setTimeout(() => process.exit(3), 300);", ""));
    await t.waitFor(/src\/crashy\.ts changed · restarted in \d+ ms/, { since: mark, timeout: 40_000 });
    await sleep(1000);
    expect((await request(`http://127.0.0.1:${t.port}/`)).body).toBe("up");
    expect(t.output().slice(mark)).not.toMatch(/exited|crash loop|after the crash/);
  }, 90_000);
});

describe("tornado dev: an app that crashes, then fails to start", () => {
  it("keeps trying with the backoff, reports the loop once with the error, and shows the error on the 503 page", async () => {
    // Starts once, exits 300 ms later; from then on it throws as it starts (a database gone?).
    writeFileSync(
      join(app, "src/flaky.ts"),
      `import { existsSync, writeFileSync } from "node:fs";
import { Application, RequestHandler } from "tornado";

class Up extends RequestHandler {
  get(): void {
    this.write("up");
  }
}

if (existsSync("flaky.marker")) {
  console.log(\`flaky attempt at \${Date.now()}\`);
  throw new Error("the database is still down");
}
writeFileSync("flaky.marker", "started once");
await new Application([["/", Up]]).listen(Number(process.env.PORT));
setTimeout(() => process.exit(4), 300);
`,
    );
    const t = startTornado(app, ["dev", "--entry", "src/flaky.ts", "--no-typecheck"], { port: await freePort() });
    try {
      await t.waitFor(/the app exited \(code 4\)\n\[tornado\] restarting it in 1 s/, { timeout: 30_000 });
      await t.waitFor(/the app crashed again: it is in a crash loop\n[^]*Error: the database is still down/);
      const attempts = await pollUntil(
        async () => [...t.output().matchAll(/flaky attempt at (\d+)/g)].map((m) => Number(m[1])),
        (times) => times.length >= 3,
        40_000,
      );
      // The second failed start waited 2 s after the first, the third 4 s after the second.
      expect(attempts[1]! - attempts[0]!).toBeGreaterThanOrEqual(1900);
      expect(attempts[2]! - attempts[1]!).toBeGreaterThanOrEqual(3900);
      const page = await request(`http://127.0.0.1:${t.port}/`);
      expect(page.status).toBe(503);
      expect(page.body).toContain("the database is still down");
      expect(page.body).toMatch(/The app crashed \d+ times in a row: tornado dev restarts it in \d+ s/);
      const out = t.output();
      expect(out.match(/it is in a crash loop/g)).toHaveLength(1);
      expect(out).not.toMatch(/failed to start/);
      expect(out.match(/Error: the database is still down/g)).toHaveLength(1);
    } finally {
      rmSync(join(app, "flaky.marker"), { force: true });
      rmSync(join(app, "src/flaky.ts"), { force: true });
    }
  }, 90_000);
});

describe("tornado dev: what it watches", () => {
  it("follows the tornado.dev key of package.json: extra paths, ignore globs, extensions", async () => {
    editFile(manifest, (text) => {
      const json = JSON.parse(text) as Record<string, unknown>;
      json.tornado = { dev: { watch: ["config"], ignore: ["src/notes/**"], ext: ["ts", "json"], debounce: 60 } };
      return JSON.stringify(json, null, 2) + "\n";
    });
    const t = await dev([]);
    expect(t.output()).toMatch(/watching src, public, config, \.env, tsconfig\.json, package\.json/);
    const pid = (await probeOf(t)).pid;

    // Ignored by the glob, and by the extension list: no restart.
    let mark = t.mark();
    writeFileSync(join(app, "src/notes/todo.ts"), "export const x = 1;\n");
    writeFileSync(join(app, "src/readme.txt"), "not code\n");
    await expectNoRestart(t, mark);
    expect((await probeOf(t)).pid).toBe(pid);

    // The extra watched folder restarts.
    mark = t.mark();
    writeFileSync(join(app, "config/settings.json"), '{ "a": 2 }\n');
    await t.waitFor(/config\/settings\.json changed · restarted in \d+ ms/, { since: mark });
    await pollUntil(() => probeOf(t), (p) => p.pid !== pid);
  }, 60_000);

  it("takes --ignore and --watch on the command line, and serves --static folders without a restart", async () => {
    const t = await dev(["--watch", "config", "--ignore", "*.md", "--static", "public"]);
    const pid = (await probeOf(t)).pid;
    expect((await request(`http://127.0.0.1:${t.port}/static/hello.txt`)).body).toBe("hello one\n");

    let mark = t.mark();
    writeFileSync(join(app, "src/notes/todo.md"), "still nothing\n");
    await expectNoRestart(t, mark);

    mark = t.mark();
    writeFileSync(join(app, "public/hello.txt"), "hello two\n");
    await t.waitFor(/public\/hello\.txt changed · static, served as is \(no restart\)/, { since: mark });
    expect((await request(`http://127.0.0.1:${t.port}/static/hello.txt`)).body).toBe("hello two\n");
    expect((await probeOf(t)).pid).toBe(pid);

    mark = t.mark();
    writeFileSync(join(app, "config/settings.json"), '{ "a": 3 }\n');
    await t.waitFor(/config\/settings\.json changed · restarted in \d+ ms/, { since: mark });
  }, 60_000);

  it("notices a change with --poll, with no file-system watch at all", async () => {
    const t = await dev(["--poll"]);
    expect(t.output()).toMatch(/watching src, public, \.env, tsconfig\.json, package\.json \(polling\)/);
    // On Linux, file-system events come through an inotify descriptor: polling opens none,
    // while watching with events does.
    if (existsSync("/proc/self/fd")) {
      expect(inotifyDescriptors(t.process.pid!)).toBe(0);
      const events = await dev([]);
      expect(inotifyDescriptors(events.process.pid!)).toBeGreaterThan(0);
    }
    const mark = t.mark();
    editFile(probe, (s) => s.replace('version: "v1"', 'version: "polled"'));
    await t.waitFor(/src\/probe\.ts changed · restarted in \d+ ms/, { since: mark });
    await pollUntil(() => probeOf(t), (p) => p.version === "polled");
  }, 60_000);
});

describe("tornado dev: type errors while watching", () => {
  it("prints a type error with file:line after the save, restarts regardless, and says when it is gone", async () => {
    const t = startTornado(app, ["dev", "--entry", "src/probe.ts"], { port: await freePort() });
    await t.waitFor(/started src\/probe\.ts in \d+ ms/, { timeout: 30_000 });
    await t.waitFor(/\[tornado\] no type errors\n/, { timeout: 90_000 });

    let mark = t.mark();
    const line = PROBE.split("\n").length;
    editFile(probe, (s) => `${s}export const wrong: number = "text";\n`);
    await t.waitFor(/src\/probe\.ts changed · restarted in \d+ ms/, { since: mark });
    const reported = await t.waitFor(/\[tornado\] 1 type error \(the app runs anyway\):\n(src\/probe\.ts:\d+:\d+) TS2322: Type 'string' is not assignable to type 'number'\./, {
      since: mark,
      timeout: 60_000,
    });
    expect(reported[1]).toBe(`src/probe.ts:${line}:14`);
    expect((await probeOf(t)).version).toBe("v1");

    mark = t.mark();
    editFile(probe, (s) => s.replace('export const wrong: number = "text";\n', ""));
    await t.waitFor(/\[tornado\] no type errors\n/, { since: mark, timeout: 60_000 });
    expect(t.output().slice(mark)).not.toMatch(/\d+ type errors? \(/);
  }, 180_000);

  it("runs no type checker with --no-typecheck", async () => {
    const t = await dev([]);
    editFile(probe, (s) => `${s}export const wrong: number = "text";\n`);
    await t.waitFor(/src\/probe\.ts changed · restarted in \d+ ms/);
    await sleep(3000);
    expect(t.output()).not.toMatch(/type errors?\b/);
  }, 60_000);
});

describe("tornado dev: mistakes on the command line", () => {
  const cases: [string[], string][] = [
    [["--node-options", "--no-such-flag"], '--node-options "--no-such-flag" is refused by node: '],
    [["--node-options", "--inspect=9230"], "Pass --inspect to tornado dev itself, not in --node-options: it moves the debugger from one app process to the next."],
    [["--node-options", "oops"], '--node-options takes Node flags (e.g. "--max-old-space-size=256"), not "oops".'],
    [["--inspect=here:port"], '--inspect takes [host:]port (e.g. --inspect=9229 or --inspect=0.0.0.0:9229), not "here:port".'],
    [["--debounce", "soon"], '--debounce must be a number of milliseconds (0 or more), not "soon".'],
    [["--watch", "nowhere"], "--watch nowhere does not exist: give a file or folder of the app."],
    [["--ext", "t s"], '--ext takes extensions separated by commas (e.g. ts,json), not "t s".'],
    [["stray"], 'tornado dev takes no argument "stray": arguments for the app go after --, e.g. tornado dev -- --debug.'],
    [["--inspect", "--inspect-brk"], "Pass --inspect or --inspect-brk, not both."],
  ];
  it.each(cases)("%j is one line and exit 1", async (args, sentence) => {
    const t = startTornado(app, ["dev", ...args], { port: await freePort() });
    expect((await t.waitForExit()).code).toBe(1);
    const lines = t.stderr().trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`error: ${sentence}`);
  }, 30_000);

  it("leaves a missing --env-file to Node, which reads that flag itself: one line and a non-zero exit", async () => {
    const t = startTornado(app, ["dev", "--env-file", "missing.env"], { port: await freePort() });
    expect((await t.waitForExit()).code).not.toBe(0);
    expect(t.stderr().trim().split("\n")).toEqual([expect.stringMatching(/node: missing\.env: not found$/)]);
  }, 30_000);
});

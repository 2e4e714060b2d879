/**
 * Helpers for the end-to-end tests of `tornado dev` and `tornado start`: a generated app, the
 * `tornado` command running in it, requests that report their errors by code, and cleanup that
 * leaves no process behind.
 *
 * @example
 * const { app } = await createApp("dev");
 * const t = startTornado(app, ["dev"], { port: await freePort() });
 * await t.waitFor(/started src\/main\.ts/);
 * expect((await request(`http://127.0.0.1:${t.port}/health`)).status).toBe(200);
 * await stopAll();
 */

import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import { createServer, type Server } from "node:net";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { runBin, runCommand, tempDir } from "./cli.js";

/** An app generated with `create-tornado-app app --yes --no-git` in a temp folder. */
export interface CreatedApp {
  /** The temp folder holding the app. */
  dir: string;
  /** The app's folder. */
  app: string;
  /** Removes the temp folder (after ending any process still running from it). */
  remove: () => void;
}

/**
 * Generates an app from `template` (default rest), installed, with this package as
 * `node_modules/tornado`.
 *
 * @example
 * const { app, remove } = await createApp("dev");
 */
export async function createApp(prefix: string, template = "rest"): Promise<CreatedApp> {
  const { dir, remove } = tempDir(prefix);
  const app = join(dir, "app");
  const created = await runBin("create-tornado-app", ["app", "--yes", "--no-git", "--template", template], dir);
  if (created.code !== 0) {
    remove();
    throw new Error(`create-tornado-app failed (${created.code}):\n${created.stdout}\n${created.stderr}`);
  }
  return {
    dir,
    app,
    remove: () => {
      killProcessesUnder(dir);
      remove();
    },
  };
}

/**
 * `createApp`, then `npm run build` in the app (for tests that run `tornado start`).
 *
 * @example
 * const { app, remove } = await createBuiltApp("ws", "websocket");
 */
export async function createBuiltApp(prefix: string, template: string): Promise<CreatedApp> {
  const created = await createApp(prefix, template);
  const build = await runCommand("npm", ["run", "build"], created.app);
  if (build.code !== 0) {
    created.remove();
    throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`);
  }
  return created;
}

/**
 * Handlers the tests add to a generated app: `/slow` (answers after 1.5 s, or `?ms=`), `/pid`
 * (`process.pid`), `/env/:name` (`process.env[name]`), `/spawn` (starts a process that runs
 * until killed, and answers its pid), `/crash` (gives up the process
 * guard, then an uncaught exception 50 ms later), `/stray` (an
 * uncaught exception in a timer 50 ms later), `/throw`
 * (a handler that throws: a 500 and a logged stack).
 */
export const EXTRA_HANDLERS = `import { spawn } from "node:child_process";
import { RequestHandler, removeProcessGuards } from "tornado";

export class SlowHandler extends RequestHandler {
  async get(): Promise<void> {
    console.log(\`slow request started in \${process.pid}\`);
    const ms = Number(this.getQueryArgument("ms", "1500"));
    await new Promise((resolve) => setTimeout(resolve, ms));
    this.write({ slow: "done", pid: process.pid });
  }
}

export class PidHandler extends RequestHandler {
  get(): void {
    this.write({ pid: process.pid });
  }
}

export class SpawnHandler extends RequestHandler {
  get(): void {
    const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
    this.write({ pid: child.pid });
  }
}

export class CrashHandler extends RequestHandler {
  get(): void {
    // An app that prefers to crash gives node's default back; then a stray error ends it.
    removeProcessGuards();
    setTimeout(() => {
      throw new Error("crashed on purpose");
    }, 50);
    this.write({ crashing: true });
  }
}

export class StrayErrorHandler extends RequestHandler {
  get(): void {
    setTimeout(() => {
      throw new Error("stray on purpose");
    }, 50);
    this.write({ stray: true });
  }
}

export class ThrowHandler extends RequestHandler {
  get(): void {
    throw new Error("thrown on purpose");
  }
}

export class EnvHandler extends RequestHandler {
  get(name: string): void {
    this.write({ name, value: process.env[name] ?? null });
  }
}
`;

/**
 * Adds `src/handlers/extra.ts` (see `EXTRA_HANDLERS`) and registers its routes in `src/app.ts`.
 *
 * @example
 * addExtraRoutes(app);
 */
export function addExtraRoutes(app: string): void {
  writeFileSync(join(app, "src/handlers/extra.ts"), EXTRA_HANDLERS);
  const appFile = join(app, "src/app.ts");
  const source = readFileSync(appFile, "utf8");
  const withImport = source.replace(
    'import { HealthHandler } from "./handlers/health.js";',
    'import { HealthHandler } from "./handlers/health.js";\nimport { CrashHandler, EnvHandler, PidHandler, SlowHandler, SpawnHandler, StrayErrorHandler, ThrowHandler } from "./handlers/extra.js";',
  );
  const withRoutes = withImport.replace(
    'url("/health", HealthHandler, { name: "health" }),',
    'url("/health", HealthHandler, { name: "health" }),\n      url("/slow", SlowHandler),\n      url("/pid", PidHandler),\n      url("/env/:name", EnvHandler),\n      url("/spawn", SpawnHandler),\n      url("/crash", CrashHandler),\n      url("/stray", StrayErrorHandler),\n      url("/throw", ThrowHandler),',
  );
  if (withRoutes === source || !withRoutes.includes("SlowHandler)")) throw new Error("src/app.ts no longer looks as expected");
  writeFileSync(appFile, withRoutes);
}

/**
 * A TCP port nobody listens on right now.
 *
 * @example
 * const port = await freePort();
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, () => resolve()));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/**
 * An IPv4 address of this machine that is not loopback (to reach a server as another machine
 * would), or `null` when there is none.
 *
 * @example
 * const lan = lanAddress(); // "192.0.2.2"
 */
export function lanAddress(): string | null {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) if (address.family === "IPv4" && !address.internal) return address.address;
  }
  return null;
}

/**
 * Whether a server can listen on `port` now on all interfaces (so nothing listens on it on
 * any address, loopback included).
 *
 * @example
 * expect(await portIsFree(port)).toBe(true);
 */
export async function portIsFree(port: number): Promise<boolean> {
  const server = createServer();
  const ok = await new Promise<boolean>((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(port, () => resolve(true));
  });
  if (ok) await new Promise<void>((resolve) => server.close(() => resolve()));
  return ok;
}

/**
 * Listens on `port` (to make it "in use"); close the server when done.
 *
 * @example
 * const blocker = await occupyPort(port);
 */
export async function occupyPort(port: number): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, () => resolve());
  });
  return server;
}

/** How a `tornado` process ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running `tornado` command. */
export interface Tornado {
  readonly process: ChildProcessWithoutNullStreams;
  readonly port: number;
  /** stdout and stderr so far, interleaved as they arrived. */
  output(): string;
  stderr(): string;
  /** A position in the output, for `waitFor(…, { since })`. */
  mark(): number;
  /**
   * Resolves with the first match of `pattern` in the output after `since`; rejects after
   * `timeout` ms (or when the process exits first) with the output so far.
   */
  waitFor(pattern: RegExp, options?: { since?: number; timeout?: number }): Promise<RegExpExecArray>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<Exit>;
  /** Whether it has exited. */
  hasExited(): boolean;
  /** Writes a line on its stdin. */
  type(line: string): void;
  /** Waits for the process to exit by itself; rejects (and kills it) after `timeout` ms. */
  waitForExit(timeout?: number): Promise<Exit>;
  /** Sends `signal` and waits for the exit (SIGKILL after `timeout` ms). */
  stop(signal?: NodeJS.Signals, timeout?: number): Promise<Exit>;
}

const running = new Set<Tornado>();

/**
 * Runs `node <app>/node_modules/tornado/bin/tornado.js ...args` in the app, as a user would:
 * stdin piped (not a terminal), `NO_COLOR=1`, `PORT` set.
 *
 * @example
 * const t = startTornado(app, ["dev"], { port });
 */
export function startTornado(app: string, args: string[], options: { port: number; env?: NodeJS.ProcessEnv }): Tornado {
  const bin = join(app, "node_modules/tornado/bin/tornado.js");
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: app,
    env: { ...process.env, NODE_ENV: undefined, NO_COLOR: "1", PORT: String(options.port), ...options.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  let done = false;
  const listeners = new Set<() => void>();
  const changed = () => {
    for (const listener of [...listeners]) listener();
  };
  child.stdout.on("data", (chunk: Buffer) => {
    out += chunk;
    changed();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    out += chunk;
    err += chunk;
    changed();
  });
  child.stdin.on("error", () => {});
  const exited = new Promise<Exit>((resolve) => {
    child.on("close", (code, signal) => {
      done = true;
      running.delete(tornado);
      changed();
      resolve({ code, signal });
    });
  });
  const tornado: Tornado = {
    process: child,
    port: options.port,
    output: () => out,
    stderr: () => err,
    mark: () => out.length,
    exited,
    hasExited: () => done,
    type: (line) => void child.stdin.write(line + "\n"),
    waitFor(pattern, { since = 0, timeout = 20_000 } = {}) {
      const regex = new RegExp(pattern.source, pattern.flags.replace("g", ""));
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = regex.exec(out.slice(since));
          if (match) {
            finish();
            resolve(match);
          } else if (done) {
            finish();
            reject(new Error(`tornado exited before printing ${pattern}; output:\n${out}`));
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`no ${pattern} within ${timeout} ms; output:\n${out}`));
        }, timeout);
        const finish = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    async waitForExit(timeout = 15_000) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => {
          child.kill("SIGKILL");
          reject(new Error(`tornado did not exit within ${timeout} ms; output:\n${out}`));
        }, timeout);
      });
      try {
        return await Promise.race([exited, late]);
      } finally {
        clearTimeout(timer);
      }
    },
    async stop(signal = "SIGINT", timeout = 15_000) {
      if (!done) child.kill(signal);
      let timer: NodeJS.Timeout | undefined;
      const killed = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          if (!done) child.kill("SIGKILL");
          resolve();
        }, timeout);
      });
      await Promise.race([exited, killed]);
      clearTimeout(timer);
      return exited;
    },
  };
  running.add(tornado);
  return tornado;
}

/**
 * Stops every `tornado` process still running (SIGINT, then SIGKILL); for `afterEach`.
 *
 * @example
 * afterEach(() => stopAll());
 */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((t) => t.stop("SIGINT", 10_000)));
}

/** A process from `ps`. */
export interface ProcessInfo {
  pid: number;
  pgid: number;
  args: string;
}

/**
 * The processes whose command line contains every one of `needles`.
 *
 * @example
 * processesMatching([app, "child.js"]) // the dev server's app processes
 */
export function processesMatching(needles: string[]): ProcessInfo[] {
  const text = execFileSync("ps", ["-eo", "pid=,pgid=,args="], { encoding: "utf8" });
  return text
    .split("\n")
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), pgid: Number(m[2]), args: m[3]! }))
    .filter((p) => p.pid !== process.pid && needles.every((needle) => p.args.includes(needle)));
}

/**
 * Whether a process is alive (and not a zombie).
 *
 * @example
 * expect(isAlive(pid)).toBe(false);
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const state = execFileSync("ps", ["-o", "stat=", "-p", String(pid)], { encoding: "utf8" }).trim();
    return state !== "" && !state.startsWith("Z");
  } catch {
    return false;
  }
}

/** SIGKILLs every process whose command line mentions `dir` (a safety net for cleanup). */
export function killProcessesUnder(dir: string): void {
  for (const p of processesMatching([dir])) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** A response, or the error code of a request that failed. */
export interface Reply {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
  /** Whether the request went on a kept-alive connection. */
  reused: boolean;
}

/**
 * GET `url` with node:http (an `agent` for keep-alive, else a new connection each time);
 * rejects with the socket error (its `code`: ECONNREFUSED, ECONNRESET, …).
 *
 * @example
 * const { status, body } = await request(`http://127.0.0.1:${port}/health`);
 */
export function request(url: string, options: { agent?: http.Agent; timeout?: number } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: options.agent ?? false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers, reused: req.reusedSocket }));
      res.on("error", reject);
      res.on("aborted", () => reject(Object.assign(new Error("response aborted"), { code: "ECONNRESET" })));
    });
    req.setTimeout(options.timeout ?? 30_000, () => req.destroy(Object.assign(new Error("request timed out"), { code: "ETIMEDOUT" })));
    req.on("error", reject);
  });
}

/**
 * Calls `probe` until `accept` says yes (errors count as no); resolves with the accepted value,
 * rejects after `timeout` ms with the last value or error.
 *
 * @example
 * await pollUntil(() => request(url), (r) => r.body.includes("ok2"));
 */
export async function pollUntil<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeout = 20_000, interval = 100): Promise<T> {
  const deadline = Date.now() + timeout;
  let last: unknown = "nothing yet";
  for (;;) {
    try {
      const value = await probe();
      if (accept(value)) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeout} ms; last: ${JSON.stringify(last) ?? String(last)}`);
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

/**
 * Rewrites a file of the app through `edit`.
 *
 * @example
 * editFile(join(app, "src/handlers/health.ts"), (s) => s.replace('"ok"', '"ok-2"'));
 */
export function editFile(file: string, edit: (source: string) => string): void {
  const before = readFileSync(file, "utf8");
  const after = edit(before);
  if (after === before) throw new Error(`the edit of ${file} changed nothing`);
  writeFileSync(file, after);
}

/**
 * Remembers the contents of some files so that a test can put them back.
 *
 * @example
 * const saved = saveFiles([health]); … saved.restore();
 */
export function saveFiles(files: string[]): { restore: () => void } {
  const contents = files.map((file) => [file, readFileSync(file, "utf8")] as const);
  return { restore: () => contents.forEach(([file, text]) => writeFileSync(file, text)) };
}

/** What a `hammer` saw. */
export interface HammerStats {
  /** Responses by status code. */
  statuses: Record<number, number>;
  /** Requests sent on a kept-alive connection / on a new one. */
  reused: number;
  newConnections: number;
  /** Requests that got no response, by error code (ECONNREFUSED, ECONNRESET, …), in order. */
  errors: string[];
  total: number;
}

/**
 * Sends GET `url` in loops, back to back, until stopped: `keepAlive` loops share one
 * keep-alive agent, `fresh` loops open a new connection per request.
 *
 * @example
 * const h = hammer(url, { keepAlive: 3, fresh: 2 });
 * // … restarts …
 * const stats = await h.stop();
 * expect(stats.errors).toEqual([]);
 */
export function hammer(url: string, { keepAlive = 3, fresh = 2 } = {}): { stop: () => Promise<HammerStats> } {
  const stats: HammerStats = { statuses: {}, reused: 0, newConnections: 0, errors: [], total: 0 };
  const agent = new http.Agent({ keepAlive: true });
  let running = true;
  const loop = async (loopAgent: http.Agent | undefined) => {
    while (running) {
      stats.total++;
      try {
        const r = await request(url, { agent: loopAgent, timeout: 20_000 });
        stats.statuses[r.status] = (stats.statuses[r.status] ?? 0) + 1;
        if (r.reused) stats.reused++;
        else stats.newConnections++;
      } catch (error) {
        stats.errors.push((error as NodeJS.ErrnoException).code ?? String(error));
      }
    }
  };
  const loops = [...Array.from({ length: keepAlive }, () => loop(agent)), ...Array.from({ length: fresh }, () => loop(undefined))];
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
      return stats;
    },
  };
}

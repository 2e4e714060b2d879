/** `tornado start`: the built app in production, in one process or one per core. */

import cluster, { type Worker } from "node:cluster";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Command } from "commander";
import { UserError } from "../cli/errors.js";
import { whenOrphaned } from "../cli/orphan.js";
import { style } from "../cli/output.js";
import { parseMilliseconds, parsePort } from "./dev.js";

const WORKER_SCRIPT = fileURLToPath(new URL("../start/worker.js", import.meta.url));
// A worker that dies this soon after starting, this many times in a row, will not be replaced.
const CRASH_WINDOW_MS = 2000;
const MAX_QUICK_CRASHES = 5;

const say = (line: string) => process.stdout.write(`${style.dim("[tornado]")} ${line}\n`);

/**
 * Parses `--workers`: a positive integer, or `auto` for one per core.
 *
 * @example
 * parseWorkers("auto") // 2 on a 2-core machine
 */
export function parseWorkers(value: string): number {
  if (value === "auto") return availableParallelism();
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new UserError(`--workers must be a positive number or auto, not "${value}".`);
  return n;
}

function runWorkers(count: number, env: NodeJS.ProcessEnv, drainTimeout: number): Promise<number> {
  cluster.setupPrimary({ exec: WORKER_SCRIPT });
  let stopping = false;
  let failed = false;
  let quickCrashes = 0;
  const startedAt = new Map<Worker, number>();
  const fork = () => startedAt.set(cluster.fork(env), Date.now());
  return new Promise((done) => {
    cluster.on("exit", (worker, code, signal) => {
      const lived = Date.now() - (startedAt.get(worker) ?? 0);
      startedAt.delete(worker);
      if (stopping) {
        if (startedAt.size === 0) done(failed ? 1 : 0);
        return;
      }
      quickCrashes = lived < CRASH_WINDOW_MS ? quickCrashes + 1 : 0;
      if (quickCrashes >= MAX_QUICK_CRASHES) {
        say(style.red(`workers keep exiting right after they start (last: ${signal ?? `code ${code}`}); stopping`));
        stopping = true;
        failed = true;
        for (const w of startedAt.keys()) w.kill("SIGTERM");
        if (startedAt.size === 0) done(1);
        return;
      }
      say(`worker ${worker.process.pid} exited (${signal ?? `code ${code}`}); starting a new one`);
      fork();
    });
    const stop = (why: string) => {
      if (stopping) return;
      stopping = true;
      say(`${why}: draining ${startedAt.size} worker(s)`);
      for (const worker of startedAt.keys()) worker.process.kill("SIGTERM");
      // Whatever is left after the drain deadline is killed.
      setTimeout(() => {
        for (const worker of startedAt.keys()) worker.process.kill("SIGKILL");
      }, drainTimeout + 5000).unref();
    };
    for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => stop(signal));
    whenOrphaned(() => stop("parent process gone"));
    for (let i = 0; i < count; i++) fork();
    say(`started ${count} worker(s)`);
  });
}

// A port in use is one line; any other error of the app is shown with its stack.
function appStartError(entry: string, error: unknown): UserError {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === "EADDRINUSE") return new UserError((error as Error).message);
  const text = error instanceof Error ? (error.stack ?? String(error)) : String(error);
  return new UserError(`${entry} failed to start:\n${text}`);
}

/**
 * The `tornado start` subcommand.
 *
 * @example
 * program.addCommand(startCommand());
 */
export function startCommand(): Command {
  return new Command("start")
    .description("run the built app: one process, or one per core with --workers (SIGTERM drains, then exits 0)")
    .option("-e, --entry <file>", "the built entry", "dist/main.js")
    .option("-w, --workers <n>", "worker processes sharing the port: a number, or auto for one per core", "1")
    .option("-p, --port <port>", "port to listen on (sets PORT for the app)")
    .option("--drain-timeout <ms>", "how long requests in flight may take to finish on SIGTERM", "30000")
    .action(async (options: { entry: string; workers: string; port?: string; drainTimeout: string }) => {
      const entry = resolve(options.entry);
      if (!existsSync(entry)) {
        throw new UserError(`The built entry ${options.entry} does not exist: run \`npm run build\` first, or pass --entry <file>.`);
      }
      const workers = parseWorkers(options.workers);
      const drainTimeout = parseMilliseconds("--drain-timeout", options.drainTimeout);
      const env: NodeJS.ProcessEnv = { ...process.env, TORNADO_START_ENTRY: entry, TORNADO_DRAIN_TIMEOUT: String(drainTimeout) };
      if (options.port !== undefined) env.PORT = String(parsePort(options.port));
      if (workers === 1) {
        Object.assign(process.env, env);
        try {
          await import(pathToFileURL(WORKER_SCRIPT).href);
        } catch (error) {
          // The app's failure, not ours: as `node dist/main.js` would, end the process (whatever
          // it left open) with code 1 once the error is printed.
          setTimeout(() => process.exit(), 100).unref();
          throw appStartError(options.entry, error);
        }
        return;
      }
      process.exitCode = await runWorkers(workers, env, drainTimeout);
    });
}

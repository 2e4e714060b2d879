/**
 * `tornado start` itself, without a command-line parser: the built app in production, in one
 * process or one per core. The app's production install has no commander (it is a development
 * dependency), so bin/tornado.js reaches this through start/cli.ts; `tornado start` under the
 * full CLI (src/commands/start.ts) calls it too.
 */

import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { checkLogFormat, loadDotenv, portOrigin, resolvePort } from "../cli/env.js";
import { UserError } from "../cli/user-error.js";
import { style } from "../cli/output.js";
import { singleProcessReason } from "./manifest.js";

const WORKER_SCRIPT = fileURLToPath(new URL("./worker.js", import.meta.url));

const say = (line: string) => process.stdout.write(`${style.dim("[tornado]")} ${line}\n`);

/** `tornado start`'s options, as typed on the command line. */
export interface StartOptions {
  /** The built entry. Default `dist/main.js`. */
  entry: string;
  /** A positive number, or `auto`. Default `1`. */
  workers: string;
  port?: string;
  /** Milliseconds. Default `30000`. */
  drainTimeout: string;
  /** Milliseconds. Default `5000`. */
  drainDelay: string;
}

/** The defaults of `StartOptions`. @example { ...START_DEFAULTS, workers: "2" } */
export const START_DEFAULTS: StartOptions = { entry: "dist/main.js", workers: "1", drainTimeout: "30000", drainDelay: "5000" };

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

// A port in use is one line; any other error of the app is shown with its stack.
function appStartError(entry: string, error: unknown): UserError {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === "EADDRINUSE") return new UserError((error as Error).message);
  const text = error instanceof Error ? (error.stack ?? String(error)) : String(error);
  return new UserError(`${entry} failed to start:\n${text}`);
}

/**
 * Runs the built app as `tornado start` does: checks the options, loads .env, then serves in
 * this process or in cluster workers until SIGTERM.
 *
 * @example
 * await runStart({ ...START_DEFAULTS, workers: "auto" });
 */
export async function runStart(options: StartOptions): Promise<void> {
  const entry = resolve(options.entry);
  if (!existsSync(entry)) {
    throw new UserError(`The built entry ${options.entry} does not exist: run \`npm run build\` first, or pass --entry <file>.`);
  }
  const workers = parseWorkers(options.workers);
  if (!/^\d+$/.test(options.drainTimeout) || Number(options.drainTimeout) < 1) {
    throw new UserError(`--drain-timeout must be a number of milliseconds above 0, not "${options.drainTimeout}".`);
  }
  const drainTimeout = Number(options.drainTimeout);
  if (!/^\d+$/.test(options.drainDelay)) throw new UserError(`--drain-delay must be a whole number of milliseconds (0 or more), not "${options.drainDelay}".`);
  const drainDelay = Number(options.drainDelay);
  const root = process.cwd();
  const refusal = workers > 1 ? singleProcessReason(root) : null;
  if (refusal !== null) throw new UserError(`This app cannot run with --workers ${options.workers}: ${refusal}.`);
  // The same environment as under `tornado dev`: .env under the real environment.
  const dotenv = loadDotenv(root);
  checkLogFormat({ ...dotenv, ...process.env });
  const { port, source } = resolvePort(options.port, process.env, dotenv);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...dotenv,
    PORT: String(port),
    TORNADO_START_ENTRY: entry,
    TORNADO_DRAIN_TIMEOUT: String(drainTimeout),
    TORNADO_DRAIN_DELAY: String(drainDelay),
  };
  const portLine = `port ${port} (${portOrigin(source)})`;
  if (workers === 1) {
    say(`starting ${options.entry} on ${portLine}`);
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
  // Loaded here so that a single process does not pay for the cluster primary.
  const { runWorkers } = await import("./workers.js");
  process.exitCode = await runWorkers({ count: workers, env, drainTimeout: drainTimeout + drainDelay, portLine });
}

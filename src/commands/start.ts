/** `tornado start`: the built app in production, in one process or one per core. */

import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Command } from "commander";
import { checkLogFormat, loadDotenv, portOrigin, resolvePort } from "../cli/env.js";
import { UserError } from "../cli/errors.js";
import { style } from "../cli/output.js";
import { singleProcessReason } from "../start/manifest.js";
import { parseMilliseconds } from "./dev.js";

const WORKER_SCRIPT = fileURLToPath(new URL("../start/worker.js", import.meta.url));

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
    .option("-p, --port <port>", "port to listen on (sets PORT for the app; default: PORT from the environment, else from .env, else 8888)")
    .option("--drain-timeout <ms>", "how long requests in flight may take to finish on SIGTERM", "30000")
    .option("--drain-delay <ms>", "on SIGTERM, how long to keep serving with readiness at 503 before closing", "5000")
    .action(async (options: { entry: string; workers: string; port?: string; drainTimeout: string; drainDelay: string }) => {
      const entry = resolve(options.entry);
      if (!existsSync(entry)) {
        throw new UserError(`The built entry ${options.entry} does not exist: run \`npm run build\` first, or pass --entry <file>.`);
      }
      const workers = parseWorkers(options.workers);
      const drainTimeout = parseMilliseconds("--drain-timeout", options.drainTimeout);
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
      const { runWorkers } = await import("../start/workers.js");
      process.exitCode = await runWorkers({ count: workers, env, drainTimeout: drainTimeout + drainDelay, portLine });
    });
}

/** `tornado start` in the full CLI: the options, then `runStart` (src/start/run.ts). */

import { Command } from "commander";
import { runStart, START_DEFAULTS, type StartOptions } from "../start/run.js";

export { parseWorkers } from "../start/run.js";

/**
 * The `tornado start` subcommand.
 *
 * @example
 * program.addCommand(startCommand());
 */
export function startCommand(): Command {
  return new Command("start")
    .description(START_DESCRIPTION)
    .option("-e, --entry <file>", "the built entry", START_DEFAULTS.entry)
    .option("-w, --workers <n>", "worker processes sharing the port: a number, or auto for one per core", START_DEFAULTS.workers)
    .option("-p, --port <port>", "port to listen on (sets PORT for the app; default: PORT from the environment, else from .env, else 8888)")
    .option("--drain-timeout <ms>", "how long requests in flight may take to finish on SIGTERM", START_DEFAULTS.drainTimeout)
    .option("--drain-delay <ms>", "on SIGTERM, how long to keep serving with readiness at 503 before closing", START_DEFAULTS.drainDelay)
    .action((options: StartOptions) => runStart(options));
}

/** One line on what `tornado start` does. @example new Command("start").description(START_DESCRIPTION) */
export const START_DESCRIPTION = "run the built app: one process, or one per core with --workers (SIGTERM drains, then exits 0)";

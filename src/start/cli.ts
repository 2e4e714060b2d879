/**
 * `tornado start` as bin/tornado.js runs it: options read with node's own `parseArgs`, so that
 * an app's production install (`npm ci --omit=dev`: no commander, TypeScript, tsx or chokidar)
 * can start. Same options, messages and exit codes as the full CLI's `tornado start`.
 */

import { parseArgs } from "node:util";
import { VERSION } from "../../runtime/version.js";
import { runCli } from "../cli/errors.js";
import { UserError } from "../cli/user-error.js";
import { runStart, START_DEFAULTS } from "./run.js";

const HELP = `Usage: tornado start [options]

run the built app: one process, or one per core with --workers (SIGTERM drains, then exits 0)

Options:
  -e, --entry <file>    the built entry (default: "${START_DEFAULTS.entry}")
  -w, --workers <n>     worker processes sharing the port: a number, or auto for one per core (default: "${START_DEFAULTS.workers}")
  -p, --port <port>     port to listen on (sets PORT for the app; default: PORT from the environment, else from .env, else 8888)
  --drain-timeout <ms>  how long requests in flight may take to finish on SIGTERM (default: "${START_DEFAULTS.drainTimeout}")
  --drain-delay <ms>    on SIGTERM, how long to keep serving with readiness at 503 before closing (default: "${START_DEFAULTS.drainDelay}")
  -h, --help            display help for command
`;

await runCli(async () => {
  let parsed;
  try {
    parsed = parseArgs({
      args: process.argv.slice(3),
      options: {
        entry: { type: "string", short: "e", default: START_DEFAULTS.entry },
        workers: { type: "string", short: "w", default: START_DEFAULTS.workers },
        port: { type: "string", short: "p" },
        "drain-timeout": { type: "string", default: START_DEFAULTS.drainTimeout },
        "drain-delay": { type: "string", default: START_DEFAULTS.drainDelay },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    // "Unknown option '--x'": one sentence, as commander would say it.
    throw new UserError(`${(error as Error).message.replace(/\. To specify a positional argument.*$/s, "")} (tornado start --help lists the options).`);
  }
  const { values } = parsed;
  if (values.help) return void process.stdout.write(HELP);
  if (values.version) return void process.stdout.write(`${VERSION}\n`);
  await runStart({ entry: values.entry, workers: values.workers, port: values.port, drainTimeout: values["drain-timeout"], drainDelay: values["drain-delay"] });
});

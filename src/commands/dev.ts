/** `tornado dev`: run the app from TypeScript source, restarting on change without dropping anyone. */

import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { Command } from "commander";
import { checkLogFormat, loadDotenv, portOrigin, resolvePort } from "../cli/env.js";
import { UserError } from "../cli/errors.js";
import { whenOrphaned } from "../cli/orphan.js";
import { devMessages as say } from "../dev/messages.js";

/**
 * Parses a duration option in milliseconds: a positive integer.
 *
 * @example
 * parseMilliseconds("--start-timeout", "2000") // 2000
 */
export function parseMilliseconds(option: string, value: string): number {
  const ms = Number(value);
  if (!/^\d+$/.test(value) || ms < 1) throw new UserError(say.badMilliseconds(option, value));
  return ms;
}

/**
 * The `tornado dev` subcommand.
 *
 * @example
 * program.addCommand(devCommand());
 */
export function devCommand(): Command {
  return new Command("dev")
    .description("run the app from TypeScript source and restart it on every change, dropping no connection")
    .option("-p, --port <port>", "port to listen on (default: PORT from the environment, else from .env, else 8888)")
    .option("-H, --host <address>", "address to listen on (0.0.0.0 for every interface)", "127.0.0.1")
    .option("-e, --entry <file>", "the app's TypeScript entry", "src/main.ts")
    .option("--no-clear", "do not clear the screen on restart")
    .option("--start-timeout <ms>", "how long the app may take to call listen() before it counts as failed", "15000")
    .action(async (options: { port?: string; host: string; entry: string; clear: boolean; startTimeout: string }) => {
      const root = process.cwd();
      const entry = resolve(root, options.entry);
      if (!existsSync(entry)) throw new UserError(say.missingEntry(options.entry));
      if (options.host.trim() === "" || options.host.length > 255) {
        throw new UserError(`--host must be an address or a host name (e.g. 127.0.0.1 or 0.0.0.0), not "${options.host.slice(0, 255)}".`);
      }
      const dotenv = loadDotenv(root);
      checkLogFormat({ ...dotenv, ...process.env });
      const { port, source } = resolvePort(options.port, process.env, dotenv);
      const startTimeout = parseMilliseconds("--start-timeout", options.startTimeout);
      // Loaded here so that other commands do not pay for the watcher and the supervisor.
      const { DevSupervisor } = await import("../dev/supervisor.js");
      const supervisor = new DevSupervisor({
        root,
        entry,
        port,
        host: options.host,
        portOrigin: portOrigin(source),
        clearScreen: options.clear,
        startTimeout,
      });
      await supervisor.run();
      await new Promise<void>((done) => {
        for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
          process.once(signal, () => void supervisor.stop(signal).then(done));
        }
        whenOrphaned(() => void supervisor.stop().then(done));
      });
      // stdin (for `rs`) would keep the process alive; everything else is closed by now.
      process.exit(0);
    });
}

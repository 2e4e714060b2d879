/** `tornado dev`: run the app from TypeScript source, restarting on change without dropping anyone. */

import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { Command } from "commander";
import { UserError } from "../cli/errors.js";
import { DevSupervisor } from "../dev/supervisor.js";
import { devMessages as say } from "../dev/messages.js";

/**
 * Parses a port option: an integer from 0 to 65535.
 *
 * @example
 * parsePort("8888") // 8888
 */
export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new UserError(say.badPort(value));
  return port;
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
    .option("-p, --port <port>", "port to listen on (default: $PORT or 8888)")
    .option("-e, --entry <file>", "the app's TypeScript entry", "src/main.ts")
    .option("--no-clear", "do not clear the screen on restart")
    .action(async (options: { port?: string; entry: string; clear: boolean }) => {
      const root = process.cwd();
      const entry = resolve(root, options.entry);
      if (!existsSync(entry)) throw new UserError(say.missingEntry(options.entry));
      const port = parsePort(options.port ?? process.env.PORT ?? "8888");
      const supervisor = new DevSupervisor({ root, entry, port, clearScreen: options.clear });
      await supervisor.run();
      await new Promise<void>((done) => {
        for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
          process.once(signal, () => void supervisor.stop().then(done));
        }
      });
      // stdin (for `rs`) would keep the process alive; everything else is closed by now.
      process.exit(0);
    });
}

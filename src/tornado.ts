/** Entry point of the `tornado` command. */

import type { Command } from "commander";
import { VERSION } from "../runtime/version.js";
import { runCli } from "./cli/errors.js";
import { scriptCommand } from "./cli/scripts.js";

// Each command's module, loaded only when that command runs (or for the full help): a generate
// need not load the dev server, the database layer or the OpenAPI builder.
const COMMANDS: Record<string, () => Promise<Command>> = {
  dev: async () => (await import("./commands/dev.js")).devCommand().exitOverride(),
  start: async () => (await import("./commands/start.js")).startCommand().exitOverride(),
  generate: async () => (await import("./commands/generate.js")).generateCommand(),
  destroy: async () => (await import("./commands/generate.js")).destroyCommand(),
  routes: async () => (await import("./commands/routes.js")).routesCommand().exitOverride(),
  openapi: async () => (await import("./commands/openapi.js")).openapiCommand().exitOverride(),
  db: async () => (await import("./commands/db.js")).dbCommand(),
};
const ALIASES: Record<string, string> = { g: "generate", d: "destroy" };

/**
 * Builds the `tornado` command line: with `only`, the one subcommand that will run (the others'
 * modules are not loaded), else all of them (help, version, an unknown command's suggestions).
 *
 * @example
 * await (await tornadoProgram()).parseAsync(["node", "tornado", "--version"]);
 */
export async function tornadoProgram(only?: string): Promise<Command> {
  const { Command } = await import("commander");
  const program = new Command("tornado")
    .description("Tools for apps built on the tornado runtime.")
    .version(VERSION, "-v, --version")
    .exitOverride()
    .showSuggestionAfterError()
    // `tornado` is on the PATH only inside an app's package scripts, and npx would fetch
    // an unrelated package of that name from the registry: point at the scripts instead.
    .addHelpText(
      "after",
      `\nIn an app, run these through its package scripts: npm run dev, npm start, ${scriptCommand("generate", ["handler", "orders"], "npm")}, ${scriptCommand("destroy", ["handler", "orders"], "npm")}, ${scriptCommand("routes", [], "npm")}.`,
    );
  const names = only !== undefined && COMMANDS[only] !== undefined ? [only] : Object.keys(COMMANDS);
  for (const command of await Promise.all(names.map((name) => COMMANDS[name]!()))) program.addCommand(command);
  return program;
}

/**
 * The options of `tornado routes` when they are only its own (`--app <file>`, `--json`), read
 * with node's `parseArgs`; `null` for any other command line (help, a mistake), which commander
 * reads, for its help and its messages. The route table then runs without loading commander and
 * its dependencies, about a tenth of the command's time (issue #18).
 *
 * @example
 * plainRoutesOptions(["node", "tornado", "routes", "--json"]) // { json: true }
 */
export function plainRoutesOptions(argv: readonly string[]): { app?: string; json?: boolean } | null {
  if (argv[2] !== "routes") return null;
  try {
    const options = { app: { type: "string" }, json: { type: "boolean" } } as const;
    // node:util from getBuiltinModule: importing it reads all its exports, loading what its lazy
    // ones need (its diff and colors: ~4 ms of CPU).
    return process.getBuiltinModule("node:util").parseArgs({ args: argv.slice(3), options, strict: true, allowPositionals: false }).values;
  } catch {
    return null;
  }
}

await runCli(async () => {
  const routes = plainRoutesOptions(process.argv);
  if (routes !== null) {
    await (await import("./commands/route-table.js")).printRoutes(routes);
    return;
  }
  if (process.argv.length <= 2) {
    (await tornadoProgram()).outputHelp();
    return;
  }
  const first = process.argv[2]!;
  await (await tornadoProgram(ALIASES[first] ?? first)).parseAsync(process.argv);
});

/** Entry point of the `tornado` command. */

import { Command } from "commander";
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

await runCli(async () => {
  if (process.argv.length <= 2) {
    (await tornadoProgram()).outputHelp();
    return;
  }
  const first = process.argv[2]!;
  await (await tornadoProgram(ALIASES[first] ?? first)).parseAsync(process.argv);
});

/** Entry point of the `tornado` command. */

import { Command } from "commander";
import { VERSION } from "../runtime/version.js";
import { runCli } from "./cli/errors.js";
import { devCommand } from "./commands/dev.js";
import { destroyCommand, generateCommand } from "./commands/generate.js";
import { routesCommand } from "./commands/routes.js";
import { startCommand } from "./commands/start.js";

/**
 * Builds the `tornado` command line; its subcommands are registered here as they land.
 *
 * @example
 * await tornadoProgram().parseAsync(["node", "tornado", "--version"]);
 */
export function tornadoProgram(): Command {
  return new Command("tornado")
    .description("Tools for apps built on the tornado runtime.")
    .version(VERSION, "-v, --version")
    .exitOverride()
    .showSuggestionAfterError()
    .addCommand(devCommand().exitOverride())
    .addCommand(startCommand().exitOverride())
    .addCommand(generateCommand())
    .addCommand(destroyCommand())
    .addCommand(routesCommand().exitOverride());
}

await runCli(async () => {
  const program = tornadoProgram();
  if (process.argv.length <= 2) {
    program.outputHelp();
    return;
  }
  await program.parseAsync(process.argv);
});

/** Entry point of the `tornado` command. */

import { Command } from "commander";
import { VERSION } from "../runtime/version.js";
import { UserError, runCli } from "./cli/errors.js";

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
    .argument("[command]")
    .action((command?: string) => {
      // Replaced by commander's own check once subcommands are registered.
      if (command !== undefined) throw new UserError(`Unknown command "${command}": run tornado --help to see the commands.`);
    });
}

await runCli(async () => {
  const program = tornadoProgram();
  if (process.argv.length <= 2) {
    program.outputHelp();
    return;
  }
  await program.parseAsync(process.argv);
});

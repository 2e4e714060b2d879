/** Entry point of the `tornado` command. */

import { Command } from "commander";
import { VERSION } from "../runtime/version.js";
import { runCli } from "./cli/errors.js";
import { scriptCommand } from "./cli/scripts.js";
import { dbCommand } from "./commands/db.js";
import { devCommand } from "./commands/dev.js";
import { destroyCommand, generateCommand } from "./commands/generate.js";
import { routesCommand } from "./commands/routes.js";
import { openapiCommand } from "./commands/openapi.js";
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
    // `tornado` is on the PATH only inside an app's package scripts, and `npx tornado` would fetch
    // an unrelated package of that name from the registry: point at the scripts instead.
    .addHelpText(
      "after",
      `\nIn an app, run these through its package scripts: npm run dev, npm start, ${scriptCommand("generate", ["handler", "orders"], "npm")}, ${scriptCommand("destroy", ["handler", "orders"], "npm")}, ${scriptCommand("routes", [], "npm")}.`,
    )
    .addCommand(devCommand().exitOverride())
    .addCommand(startCommand().exitOverride())
    .addCommand(generateCommand())
    .addCommand(destroyCommand())
    .addCommand(routesCommand().exitOverride())
    .addCommand(openapiCommand().exitOverride())
    .addCommand(dbCommand());
}

await runCli(async () => {
  const program = tornadoProgram();
  if (process.argv.length <= 2) {
    program.outputHelp();
    return;
  }
  await program.parseAsync(process.argv);
});

/** `tornado routes`: the command line of the app's route table (see route-table.ts). */

import { Command } from "commander";
import { scriptCommand } from "../cli/scripts.js";
import { printRoutes } from "./route-table.js";

/**
 * Builds `tornado routes`.
 *
 * @example
 * program.addCommand(routesCommand());
 */
export function routesCommand(): Command {
  return new Command("routes")
    .description("Prints the app's route table (pattern, handler, its methods, name), in the order routes are tried.")
    .option("--app <file>", "the file exporting makeApp() (default: src/app.ts)")
    .option("--json", "print JSON instead of a table")
    .addHelpText("after", `\nIn an app: ${scriptCommand("routes", [], "npm")} (or ${scriptCommand("routes", ["--json"], "npm")}).`)
    .action(printRoutes);
}

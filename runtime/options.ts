/**
 * Command-line and config-file options, as Tornado's `tornado.options`: any module `define`s the
 * options it needs on the global `options`; `main` then calls `parseCommandLine()` (and/or
 * `parseConfigFile(path)`), and everyone reads the values. `--help` lists them all. The global
 * parser also has Tornado's `--logging=debug|info|warning|error|none` (default `info`), applied
 * with `configureLogging` when parsing finishes (`none` leaves logging alone).
 *
 * @example
 * // src/db.ts
 * import { define } from "tornado/options";
 * export const dbUrl = define("db_url", { default: "postgres://localhost/app", help: "database URL" });
 * // src/main.ts
 * import { define, options, parseCommandLine } from "tornado/options";
 * const port = define("port", { default: 8888, help: "port to listen on" });
 * parseCommandLine();                       // node dist/main.js --port=9000 --db-url=…
 * await makeApp().listen(port());           // or options.port (typed unknown)
 */

import { configureLogging, type LogThreshold } from "./log.js";
import { OptionParser, defineBuiltIn, type ParseOptions } from "./options/parser.js";
import { OptionsError } from "./options/values.js";

export { OptionParser, type OptionGetter, type OptionSpecBase, type ParseOptions } from "./options/parser.js";
export { OptionsError, type OptionType, type OptionValue } from "./options/values.js";

/**
 * The global options: every `define()` adds to it; read values as `options.name`.
 *
 * @example
 * import { options } from "tornado/options";
 * console.log(options.port, options.asDict());
 */
export const options = new OptionParser();

const LOG_LEVELS = ["debug", "info", "warning", "error", "none"];
defineBuiltIn(options, "logging", {
  default: "info",
  metavar: "debug|info|warning|error|none",
  help: "Set the log level; none leaves logging as the program configured it.",
  callback: (level: string) => {
    if (!LOG_LEVELS.includes(level)) {
      throw new OptionsError("ERR_OPTION_VALUE", `Option 'logging' must be one of ${LOG_LEVELS.join(", ")}, not ${JSON.stringify(level)}`);
    }
  },
});
options.addParseCallback(() => {
  const level = options.logging as string;
  if (level !== "none") configureLogging({ level: level as LogThreshold });
});

/**
 * Defines an option on the global `options` (see `OptionParser.define`) and returns its getter.
 *
 * @example
 * const port = define("port", { default: 8888, help: "port to listen on" });
 * const debug = define("debug", { default: false });
 */
export const define: OptionParser["define"] = options.define.bind(options);

/**
 * Sets the global options from the command line (default `process.argv.slice(2)`) and returns
 * the remaining arguments. See `OptionParser.parseCommandLine`.
 *
 * @example
 * const files = parseCommandLine(); // node tool.js --verbose a.txt b.txt → ["a.txt", "b.txt"]
 */
export function parseCommandLine(args?: readonly string[], parseOptions?: ParseOptions): string[] {
  return options.parseCommandLine(args, parseOptions);
}

/**
 * Sets the global options from a JSON file or a JavaScript module. See
 * `OptionParser.parseConfigFile`.
 *
 * @example
 * parseConfigFile("/etc/my-api.json");
 */
export function parseConfigFile(path: string, parseOptions?: ParseOptions): void {
  options.parseConfigFile(path, parseOptions);
}

/**
 * Prints the global options' help (stderr by default).
 *
 * @example
 * printHelp(process.stdout);
 */
export function printHelp(stream?: { write(text: string): unknown }): void {
  options.printHelp(stream);
}

/**
 * Adds a function to run once the global options are parsed.
 *
 * @example
 * addParseCallback(() => console.log(`port ${options.port}`));
 */
export function addParseCallback(callback: () => void): void {
  options.addParseCallback(callback);
}

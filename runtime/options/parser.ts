/** `OptionParser`: a set of defined options, read from the command line and config files. */

import { basename, dirname, isAbsolute, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfigFile } from "./config.js";
import { formatHelp } from "./help.js";
import { Option, type OptionSpec } from "./option.js";
import { OptionsError, hasType, typeName, type OptionType, type OptionValue } from "./values.js";

/**
 * Reads an option's current value; `define` returns one.
 *
 * @example
 * const port: OptionGetter<number> = define("port", { default: 8888 });
 * port(); // 8888, or what --port=… said
 */
export type OptionGetter<T> = () => T;

type Scalar = string | number | boolean | Date;
type Widen<T> = T extends string ? string : T extends number ? number : T extends boolean ? boolean : T extends Date ? Date : never;

/** What `define` takes besides the type, the default, `multiple` and the callback. @example const spec: OptionSpecBase = { help: "port to listen on", group: "server" }; */
export interface OptionSpecBase {
  /** One line for `--help`. */
  help?: string;
  /** The placeholder shown in `--help` (`--port=PORT`). */
  metavar?: string;
  /** The heading the option is listed under in `--help` (default: the file that defined it). */
  group?: string;
}

/**
 * Options for `parseCommandLine` and `parseConfigFile`.
 *
 * @example
 * parseConfigFile("app.json", { final: false }); // callbacks run after the command line
 */
export interface ParseOptions {
  /** Run the parse callbacks (`addParseCallback`) afterwards. Default true. */
  final?: boolean;
}

// This directory and the facade: frames from here are not "the file that defined the option".
const HERE = dirname(fileURLToPath(import.meta.url));
const FACADE = resolve(HERE, "..", "options");

/**
 * A set of options, as Tornado's `OptionParser`: `define` them (anywhere in the program), then
 * fill them from `parseCommandLine()` and/or `parseConfigFile()`, and read them as properties
 * (`parser.port`, typed `unknown`) or through the getter `define` returns (typed). Names treat
 * `-`, `_` and camelCase humps alike: `max_body_size`, `max-body-size` and `maxBodySize` are
 * one option, `--max-body-size` on the command line.
 *
 * The global `options` is one; make your own for an isolated set (a subcommand, a test). Every
 * parser has `--help`, which prints the options and exits.
 *
 * @example
 * const parser = new OptionParser();
 * const port = parser.define("port", { default: 8888, help: "port to listen on" });
 * const rest = parser.parseCommandLine(["--port=9000", "serve"]); // ["serve"]
 * port();        // 9000
 * parser.port;   // 9000 (unknown)
 */
export class OptionParser {
  [name: string]: unknown;
  private readonly byKey = new Map<string, Option>();
  private readonly parseCallbacks: (() => void)[] = [];

  constructor() {
    this.register(
      "help",
      {
        type: Boolean,
        help: "show this help information",
        callback: (value: boolean) => {
          if (value) {
            this.printHelp(process.stdout);
            process.exit(0);
          }
        },
      },
      "",
    );
    // Options read and written as properties: `parser.port`, `parser.port = 80`.
    return new Proxy(this, {
      get: (target, property, receiver) => {
        if (typeof property === "string" && !(property in target)) {
          const option = target.byKey.get(normalizeName(property));
          if (option) return option.value();
        }
        return Reflect.get(target, property, receiver);
      },
      set: (target, property, value, receiver) => {
        if (typeof property === "string" && !(property in target)) {
          const option = target.byKey.get(normalizeName(property));
          if (!option) throw new OptionsError("ERR_UNRECOGNIZED_OPTION", `Unrecognized option '${property}'`);
          option.set(value);
          return true;
        }
        return Reflect.set(target, property, value, receiver);
      },
      has: (target, property) =>
        typeof property === "string" && !(property in target) ? target.byKey.has(normalizeName(property)) : Reflect.has(target, property),
    });
  }

  /**
   * Defines an option and returns a getter for its value. The type comes from `type`, else from
   * `default`, else it is `String`; with `multiple` the value is an array (default `[]`).
   * Without a default the value is `undefined` until set. `callback` runs with the new value
   * each time it changes. Throws `OptionsError` (`ERR_OPTION_DEFINED`) for a name already
   * defined.
   *
   * @example
   * const port = options.define("port", { default: 8888, help: "port to listen on" });    // () => number
   * const db = options.define("db-url", { type: String, help: "database URL" });          // () => string | undefined
   * const hosts = options.define("hosts", { type: String, multiple: true });              // () => string[]
   * const timeout = options.define("timeout", { type: "duration", default: 20_000 });     // ms; --timeout=45s
   */
  define<K extends OptionType>(
    name: string,
    spec: OptionSpecBase & { type: K; default: OptionValue<K>; multiple?: false; callback?: (value: OptionValue<K>) => void },
  ): OptionGetter<OptionValue<K>>;
  define<K extends OptionType>(
    name: string,
    spec: OptionSpecBase & { type: K; default?: undefined; multiple?: false; callback?: (value: OptionValue<K> | undefined) => void },
  ): OptionGetter<OptionValue<K> | undefined>;
  define<K extends OptionType>(
    name: string,
    spec: OptionSpecBase & { type: K; default?: readonly OptionValue<K>[]; multiple: true; callback?: (value: OptionValue<K>[]) => void },
  ): OptionGetter<OptionValue<K>[]>;
  define<T extends Scalar>(
    name: string,
    spec: OptionSpecBase & { type?: undefined; default: T; multiple?: false; callback?: (value: Widen<T>) => void },
  ): OptionGetter<Widen<T>>;
  define<T extends Scalar>(
    name: string,
    spec: OptionSpecBase & { type?: undefined; default: readonly T[]; multiple: true; callback?: (value: Widen<T>[]) => void },
  ): OptionGetter<Widen<T>[]>;
  define(
    name: string,
    spec: OptionSpecBase & { type?: undefined; default?: undefined; multiple: true; callback?: (value: string[]) => void },
  ): OptionGetter<string[]>;
  define(
    name: string,
    spec?: OptionSpecBase & { type?: undefined; default?: undefined; multiple?: false; callback?: (value: string | undefined) => void },
  ): OptionGetter<string | undefined>;
  define(name: string, spec: OptionSpec = {}): OptionGetter<unknown> {
    return this.register(name, spec, definingFile());
  }

  private register(name: string, spec: OptionSpec, file: string): OptionGetter<unknown> {
    const key = normalizeName(name);
    const existing = this.byKey.get(key);
    if (existing) {
      throw new OptionsError("ERR_OPTION_DEFINED", `Option '${key}' already defined${existing.file ? ` in ${existing.file}` : ""}`);
    }
    if (name in this || camelCase(key) in this) {
      throw new OptionsError("ERR_OPTION_DEFINED", `Option name '${name}' is taken by an OptionParser method: choose another`);
    }
    const option = new Option(name, key, spec, file);
    if (spec.default !== undefined && spec.default !== null) {
      const values = option.multiple ? spec.default : [spec.default];
      if (!Array.isArray(values) || !values.every((v) => hasType(option.type, v))) {
        throw new OptionsError(
          "ERR_OPTION_VALUE",
          `The default of option '${key}' is not ${option.multiple ? "a list of " : "a "}${typeName(option.type)}`,
        );
      }
    }
    this.byKey.set(key, option);
    const getter = () => option.value();
    Object.defineProperty(getter, "name", { value: camelCase(key) });
    return getter;
  }

  /**
   * Sets options from command-line arguments (default `process.argv.slice(2)`) and returns the
   * arguments after them. Options are `--name=value` (one dash works too; a Boolean may be a bare
   * `--name`); a `multiple` option takes a comma-separated list, and a Number one ranges like
   * `1:3`. Parsing stops at the first argument that is not an option, or after `--`. An unknown
   * option prints the help to stderr and throws `OptionsError`
   * (`Unrecognized command line option: 'name'`), as does a value of the wrong type.
   *
   * @example
   * // node server.js --port=9000 --debug --hosts=a,b extra
   * const rest = options.parseCommandLine(); // ["extra"]
   */
  parseCommandLine(args: readonly string[] = process.argv.slice(2), { final = true }: ParseOptions = {}): string[] {
    let remaining: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const arg = args[i]!;
      if (!arg.startsWith("-")) {
        remaining = args.slice(i);
        break;
      }
      if (arg === "--") {
        remaining = args.slice(i + 1);
        break;
      }
      const body = arg.replace(/^-+/, "");
      const equals = body.indexOf("=");
      const name = normalizeName(equals < 0 ? body : body.slice(0, equals));
      const option = this.byKey.get(name);
      if (!option) {
        this.printHelp(process.stderr);
        throw new OptionsError("ERR_UNRECOGNIZED_OPTION", `Unrecognized command line option: '${name}'`);
      }
      if (equals < 0 && option.type !== Boolean) {
        throw new OptionsError("ERR_OPTION_VALUE", `Option '${name}' requires a value (--${name}=…)`);
      }
      option.parse(equals < 0 ? "true" : body.slice(equals + 1));
    }
    if (final) this.runParseCallbacks();
    return remaining;
  }

  /**
   * Sets options from a config file: a `.json` file holding an object of option values, or a
   * `.js`/`.mjs`/`.cjs` module whose exports (named, and the properties of a default-exported
   * object) are option values. Tornado's config files are Python; this is their equivalent.
   * A value may have the option's type, or be a string read as on the command line (a
   * `multiple` option also takes an array). In a JSON file every key must be a defined option;
   * a module may export other names, which are ignored. A module is loaded once per process and
   * cannot use top-level await. Throws `OptionsError` (`ERR_CONFIG_FILE`, `ERR_OPTION_VALUE`).
   *
   * @example
   * // app.config.json: { "port": 9000, "hosts": ["a", "b"], "timeout": "45s" }
   * options.parseConfigFile("app.config.json");
   * // app.config.mjs: export const port = Number(process.env.PORT ?? 9000);
   * options.parseConfigFile("app.config.mjs");
   */
  parseConfigFile(path: string, { final = true }: ParseOptions = {}): void {
    const { values, strict } = loadConfigFile(path);
    for (const [name, value] of Object.entries(values)) {
      const option = this.byKey.get(normalizeName(name));
      if (!option) {
        if (strict) throw new OptionsError("ERR_CONFIG_FILE", `Unrecognized option '${name}' in config file ${path}`);
        continue;
      }
      if (option.multiple && !Array.isArray(value) && typeof value !== "string") {
        throw new OptionsError(
          "ERR_OPTION_VALUE",
          `Option '${option.key}' is required to be a list of ${typeName(option.type)} or a comma-separated string (in ${path})`,
        );
      }
      if (typeof value === "string" && (option.type !== String || option.multiple)) option.parse(value);
      else option.set(value);
    }
    if (final) this.runParseCallbacks();
  }

  /**
   * Prints the usage line and every option, grouped, with its help and default (to stderr by
   * default, as Tornado; `--help` prints to stdout).
   *
   * @example
   * options.printHelp(process.stdout);
   */
  printHelp(stream: { write(text: string): unknown } = process.stderr): void {
    stream.write(formatHelp(basename(process.argv[1] ?? "node"), [...this.byKey.values()]));
  }

  /**
   * Adds a function run after parsing with `final` (the default).
   *
   * @example
   * options.addParseCallback(() => configureLogging({ level: options.debug ? "debug" : "info" }));
   */
  addParseCallback(callback: () => void): void {
    this.parseCallbacks.push(callback);
  }

  /**
   * Runs the parse callbacks, in the order they were added.
   *
   * @example
   * options.parseCommandLine(undefined, { final: false });
   * options.parseConfigFile(options.config as string, { final: false });
   * options.runParseCallbacks();
   */
  runParseCallbacks(): void {
    for (const callback of this.parseCallbacks) callback();
  }

  /**
   * Every option's name (as defined) and value.
   *
   * @example
   * for (const [name, value] of options.items()) console.log(name, value);
   */
  items(): [string, unknown][] {
    return [...this.byKey.values()].map((option) => [option.name, option.value()]);
  }

  /**
   * The group names in use (files, or `group` as given; `""` for `help`).
   *
   * @example
   * options.groups(); // Set { "", "src/main.ts", "application" }
   */
  groups(): Set<string> {
    return new Set([...this.byKey.values()].map((option) => option.group));
  }

  /**
   * The values of a group's options by camelCase name (every option for `""`), ready to spread
   * into `Application` settings.
   *
   * @example
   * define("template_path", { group: "application" });
   * define("debug", { default: false, group: "application" });
   * options.parseCommandLine();
   * new Application(routes, options.groupDict("application")); // { templatePath, debug }
   */
  groupDict(group: string): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const option of this.byKey.values()) {
      if (!group || option.group === group) out[camelCase(option.key)] = option.value();
    }
    return out;
  }

  /**
   * Every option's value by camelCase name.
   *
   * @example
   * console.log(JSON.stringify(options.asDict()));
   */
  asDict(): Record<string, unknown> {
    return this.groupDict("");
  }
}

/**
 * Defines one of the runtime's own options (listed first in `--help`, without a heading).
 * @internal
 */
export function defineBuiltIn(parser: OptionParser, name: string, spec: OptionSpec): OptionGetter<unknown> {
  return parser["register"](name, spec, "");
}

/**
 * The canonical form of an option name: `_` and camelCase humps become `-`, all lower case.
 * @internal
 */
export function normalizeName(name: string): string {
  return name
    .replace(/_/g, "-")
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .toLowerCase();
}

function camelCase(key: string): string {
  return key.replace(/-+([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

// The file whose code called define(), relative to the working directory when inside it.
function definingFile(): string {
  for (const line of new Error().stack?.split("\n").slice(1) ?? []) {
    const match = /\(?((?:file:\/\/)?\/[^():]+|[A-Za-z]:\\[^():]+):\d+:\d+\)?$/.exec(line.trim());
    if (!match) continue;
    const file = match[1]!.startsWith("file://") ? fileURLToPath(match[1]!) : match[1]!;
    const inOptions = file.startsWith(HERE + "/") || file.startsWith(HERE + "\\") || file.replace(/\.[cm]?[jt]s$/, "") === FACADE;
    if (inOptions) continue;
    const fromCwd = relative(process.cwd(), file);
    return fromCwd && !fromCwd.startsWith("..") && !isAbsolute(fromCwd) ? fromCwd : file;
  }
  return "";
}

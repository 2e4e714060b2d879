/**
 * The knobs of `tornado dev` beyond the port: what reaches the app (arguments, an env file,
 * Node options), what is watched (from the command line and the `"tornado": { "dev": … }` key of
 * the app's package.json) and the debugger's address. Every mistake is one `UserError` sentence.
 */

import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { isAbsolute, relative, resolve } from "node:path";
import { MAX_DOTENV_BYTES, parseDotenv } from "../cli/env.js";
import { UserError } from "../cli/errors.js";

/**
 * What `tornado dev` watches beyond the defaults, merged from the command line and package.json.
 *
 * @example
 * const watch: WatchConfig = { paths: ["config"], ignore: ["src/**\/*.test.ts"], ext: ["ts"], debounce: 40, poll: false, statics: [] };
 */
export interface WatchConfig {
  /** Extra files or folders to watch, relative to the app. */
  paths: string[];
  /** Globs (relative to the app) whose changes restart nothing. */
  ignore: string[];
  /** Extensions (without the dot) that restart; empty: every file. */
  ext: string[];
  /** Saves that follow a restarting save closer than this (ms) apart are one more restart. */
  debounce: number;
  /** Poll the files instead of waiting for file-system events (containers, network mounts). */
  poll: boolean;
  /** Folders the app serves from disk on each request: a change there needs no restart. */
  statics: string[];
}

/**
 * Folder names never watched, matched as whole path segments.
 *
 * @example
 * IGNORED_SEGMENTS.has("node_modules") // true
 */
export const IGNORED_SEGMENTS = new Set(["node_modules", ".git", "dist", "build", "coverage", ".tornado-cache"]);

/**
 * The default watch settings (40 ms debounce, events, no extra paths).
 *
 * @example
 * const watch = { ...DEFAULT_WATCH, poll: true };
 */
export const DEFAULT_WATCH: WatchConfig = { paths: [], ignore: [], ext: [], debounce: 40, poll: false, statics: [] };

/**
 * Where the app's inspector listens, and whether the app waits for a debugger before running.
 *
 * @example
 * const inspect: InspectConfig = { host: "127.0.0.1", port: 9229, brk: false };
 */
export interface InspectConfig {
  host: string;
  port: number;
  /** Wait for a debugger (and stop before the entry runs) on every start. */
  brk: boolean;
}

/**
 * Parses `--inspect[=[host:]port]` (`true` when the flag has no value): loopback 127.0.0.1 and
 * port 9229 unless told otherwise.
 *
 * @example
 * parseInspect("--inspect", "0.0.0.0:9230", false) // { host: "0.0.0.0", port: 9230, brk: false }
 */
export function parseInspect(flag: string, value: string | true, brk: boolean): InspectConfig {
  if (value === true || value === "") return { host: "127.0.0.1", port: 9229, brk };
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):)?(\d{1,5})$/.exec(value);
  const port = Number(m?.[2]);
  if (!m || port > 65535) {
    throw new UserError(`${flag} takes [host:]port (e.g. ${flag}=9229 or ${flag}=0.0.0.0:9229), not "${value.slice(0, 80)}".`);
  }
  const host = m[1] === undefined ? "127.0.0.1" : m[1].replace(/^\[|\]$/g, "");
  return { host, port, brk };
}

/**
 * Splits `--node-options` into arguments (whitespace-separated, with "double" or 'single'
 * quotes) and checks that Node accepts them, so a typo is one sentence rather than an app that
 * never starts.
 *
 * @example
 * parseNodeOptions("--max-old-space-size=256 --trace-warnings") // ["--max-old-space-size=256", "--trace-warnings"]
 */
export function parseNodeOptions(text: string): string[] {
  const args = [...text.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
  const stray = args.find((arg, i) => !arg.startsWith("-") && !(i > 0 && /^--?[a-z-]+$/.test(args[i - 1]!) && !args[i - 1]!.includes("=")));
  if (stray !== undefined) throw new UserError(`--node-options takes Node flags (e.g. "--max-old-space-size=256"), not "${stray.slice(0, 80)}".`);
  if (args.length === 0) return args;
  const inspect = args.find((arg) => /^--inspect(-brk|-wait)?(=|$)/.test(arg));
  if (inspect !== undefined) throw new UserError(`Pass ${inspect.split("=")[0]} to tornado dev itself, not in --node-options: it moves the debugger from one app process to the next.`);
  const check = spawnSync(process.execPath, [...args, "-e", ""], { encoding: "utf8", timeout: 10_000 });
  if (check.status !== 0) {
    const why = (check.stderr ?? "").split("\n").find((line) => line.trim() !== "")?.trim() ?? `exit ${check.status}`;
    throw new UserError(`--node-options "${text.slice(0, 80)}" is refused by node: ${why.slice(0, 160)}.`);
  }
  return args;
}

/**
 * The variables of an env file (as `.env` is read), without those the environment already sets;
 * a missing or oversized file is a `UserError`.
 *
 * @example
 * readEnvFile("/app/.env.local") // { DATABASE_URL: "postgres://…" }
 */
export function readEnvFile(file: string, environment: NodeJS.ProcessEnv = process.env): Record<string, string> {
  if (!existsSync(file) || !statSync(file).isFile()) throw new UserError(`--env-file ${file} does not exist: pass the path of a KEY=value file.`);
  const size = statSync(file).size;
  if (size > MAX_DOTENV_BYTES) throw new UserError(`${file} is ${size} bytes, over the ${MAX_DOTENV_BYTES} bytes read: keep only KEY=value lines in it.`);
  const parsed = parseDotenv(readFileSync(file, "utf8"));
  for (const key of Object.keys(parsed)) if (environment[key] !== undefined) delete parsed[key];
  return parsed;
}

/**
 * Takes back what Node itself loaded from `--env-file` (Node reads that flag anywhere on its
 * command line, `tornado dev --env-file x` included, into `process.env` before any code runs):
 * the keys whose value is the file's are deleted from `environment`, so that the file is read
 * afresh on each restart and the real environment still wins.
 *
 * @example
 * forgetNodeLoadedEnvFile("/app/config/dev.env"); // process.env no longer has the file's keys
 */
export function forgetNodeLoadedEnvFile(file: string, environment: NodeJS.ProcessEnv = process.env): void {
  if (!existsSync(file) || !statSync(file).isFile() || statSync(file).size > MAX_DOTENV_BYTES) return;
  const parsed = parseDotenv(readFileSync(file, "utf8"));
  for (const [key, value] of Object.entries(parsed)) if (environment[key] === value) delete environment[key];
}

/**
 * The arguments for the app: the operands commander collected, allowed only after `--` in
 * `argv` (so that a misplaced word is a mistake, not an argument the app silently gets).
 *
 * @example
 * appArguments(["--verbose"], ["node", "tornado", "dev", "--", "--verbose"]) // ["--verbose"]
 */
export function appArguments(operands: string[], argv: readonly string[]): string[] {
  if (operands.length > 0 && !argv.includes("--")) {
    throw new UserError(`tornado dev takes no argument "${operands[0]!.slice(0, 80)}": arguments for the app go after --, e.g. tornado dev -- --debug.`);
  }
  return operands;
}

const list = (value: unknown, key: string): string[] => {
  if (value === undefined) return [];
  const items = typeof value === "string" ? [value] : value;
  if (!Array.isArray(items) || !items.every((item) => typeof item === "string" && item.trim() !== "")) {
    throw new UserError(`"${key}" under "tornado"."dev" in package.json must be a list of strings, not ${JSON.stringify(value)?.slice(0, 60)}.`);
  }
  return items;
};

/**
 * The `"tornado": { "dev": { … } }` key of the app's package.json: `watch`, `ignore`, `ext`,
 * `static` (lists of strings), `debounce` (ms) and `poll` (boolean). Missing: the defaults.
 *
 * @example
 * // package.json: "tornado": { "dev": { "watch": ["config"], "ignore": ["src/**\/*.test.ts"] } }
 * readPackageDevConfig("/app") // { paths: ["config"], ignore: ["src/**\/*.test.ts"], … }
 */
export function readPackageDevConfig(root: string): Partial<WatchConfig> {
  const file = resolve(root, "package.json");
  if (!existsSync(file)) return {};
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    throw new UserError("package.json is not valid JSON: fix it, then run tornado dev again.");
  }
  const tornado = (manifest as { tornado?: unknown } | null)?.tornado;
  const dev = typeof tornado === "object" && tornado !== null ? (tornado as { dev?: unknown }).dev : undefined;
  if (dev === undefined) return {};
  if (typeof dev !== "object" || dev === null || Array.isArray(dev)) throw new UserError('"dev" under "tornado" in package.json must be an object, e.g. { "watch": ["config"] }.');
  const known = new Set(["watch", "ignore", "ext", "static", "debounce", "poll"]);
  const unknown = Object.keys(dev).find((key) => !known.has(key));
  if (unknown !== undefined) throw new UserError(`"${unknown.slice(0, 40)}" under "tornado"."dev" in package.json is not a setting: use ${[...known].join(", ")}.`);
  const d = dev as Record<string, unknown>;
  const out: Partial<WatchConfig> = {};
  if (d.watch !== undefined) out.paths = list(d.watch, "watch");
  if (d.ignore !== undefined) out.ignore = list(d.ignore, "ignore");
  if (d.ext !== undefined) out.ext = list(d.ext, "ext").map((e) => e.replace(/^\./, ""));
  if (d.static !== undefined) out.statics = list(d.static, "static");
  if (d.debounce !== undefined) {
    if (typeof d.debounce !== "number" || !Number.isInteger(d.debounce) || d.debounce < 0 || d.debounce > 60_000) {
      throw new UserError(`"debounce" under "tornado"."dev" in package.json must be a number of milliseconds (0–60000), not ${JSON.stringify(d.debounce)?.slice(0, 40)}.`);
    }
    out.debounce = d.debounce;
  }
  if (d.poll !== undefined) {
    if (typeof d.poll !== "boolean") throw new UserError(`"poll" under "tornado"."dev" in package.json must be true or false, not ${JSON.stringify(d.poll)?.slice(0, 40)}.`);
    out.poll = d.poll;
  }
  return out;
}

/**
 * A path given by the user, relative to the app and inside it; anything else is a `UserError`.
 *
 * @example
 * insideApp("/app", "config", "--watch") // "config"
 */
export function insideApp(root: string, path: string, what: string): string {
  const rel = relative(root, resolve(root, path));
  if (rel.startsWith("..") || isAbsolute(rel)) throw new UserError(`${what} ${path.slice(0, 80)} is outside the app: give a path inside ${root}.`);
  return rel === "" ? "." : rel;
}

/**
 * Turns a glob into a regular expression over `/`-separated relative paths: `**` any folders,
 * `*` and `?` within a segment, `{a,b}` alternatives. A glob without a `/` matches a name at any
 * depth (`*.log` ignores `logs/a.log`), as in .gitignore.
 *
 * @example
 * globToRegExp("src/**\/*.test.ts").test("src/a/b.test.ts") // true
 */
export function globToRegExp(glob: string): RegExp {
  let pattern = glob.replace(/^\.\//, "").replace(/\/$/, "");
  const anywhere = !pattern.includes("/");
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*" && pattern[i + 1] === "*") {
      const slash = pattern[i + 2] === "/";
      out += slash ? "(?:.*/)?" : ".*";
      i += slash ? 2 : 1;
    } else if (c === "*") out += "[^/]*";
    else if (c === "?") out += "[^/]";
    else if (c === "{") {
      const end = pattern.indexOf("}", i);
      if (end < 0) out += "\\{";
      else {
        out += `(?:${pattern.slice(i + 1, end).split(",").map((p) => p.replace(/[.+^$()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*")).join("|")})`;
        i = end;
      }
    } else out += c.replace(/[.+^$()|[\]\\}]/g, "\\$&");
  }
  pattern = anywhere ? `(?:^|/)${out}` : `^${out}`;
  // A folder matched ignores everything under it.
  return new RegExp(`${pattern}(?:/.*)?$`);
}

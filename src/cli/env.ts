/**
 * The app's environment under `tornado dev` and `tornado start`: one `.env` loader and one rule
 * for the port, so both commands see the same values. The real environment wins over `.env`
 * (as with dotenv); the port is `--port`, else `PORT` from the environment, else `PORT` from
 * `.env`, else 8888.
 */

import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "./errors.js";

/**
 * The largest `.env` file read (1 MiB): a bigger one is a mistake (a dump, a binary), refused
 * with a sentence.
 *
 * @example
 * statSync(".env").size <= MAX_DOTENV_BYTES
 */
export const MAX_DOTENV_BYTES = 1024 * 1024;

/**
 * The port used when neither `--port`, `PORT` nor `.env` sets one.
 *
 * @example
 * resolvePort(undefined, {}, {}) // { port: DEFAULT_PORT, source: "default" }
 */
export const DEFAULT_PORT = 8888;

/**
 * Parses the text of a `.env` file: `KEY=value`, optional `export `, `#` comments, single
 * quotes (literal), double quotes (with `\n` escapes), unquoted values trimmed and cut at ` #`.
 * The result has no prototype: a key such as `__proto__` is just a name.
 *
 * @example
 * parseDotenv('PORT=3000\nGREETING="hi\\nthere" # two lines') // { PORT: "3000", GREETING: "hi\nthere" }
 */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2]!;
    if (value.startsWith('"')) {
      const end = value.indexOf('"', 1);
      value = (end > 0 ? value.slice(1, end) : value.slice(1)).replace(/\\n/g, "\n").replace(/\\"/g, '"');
    } else if (value.startsWith("'")) {
      const end = value.indexOf("'", 1);
      value = end > 0 ? value.slice(1, end) : value.slice(1);
    } else {
      value = value.replace(/\s+#.*$/, "").trim();
    }
    out[m[1]!] = value;
  }
  return out;
}

/**
 * The variables of `<dir>/.env` (empty when there is none), without those the environment
 * already sets: the real environment wins, as with dotenv. A file over `MAX_DOTENV_BYTES` is
 * a `UserError`.
 *
 * @example
 * const env = { ...process.env, ...loadDotenv(process.cwd()) };
 */
export function loadDotenv(dir: string, environment: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const file = join(dir, ".env");
  if (!existsSync(file)) return Object.create(null) as Record<string, string>;
  const size = statSync(file).size;
  if (size > MAX_DOTENV_BYTES) {
    throw new UserError(`.env is ${size} bytes, over the ${MAX_DOTENV_BYTES} bytes read: keep only KEY=value lines in it.`);
  }
  const parsed = parseDotenv(readFileSync(file, "utf8"));
  for (const key of Object.keys(parsed)) if (environment[key] !== undefined) delete parsed[key];
  return parsed;
}

/**
 * Where the port came from: the `--port` flag, `PORT` in the real environment, `PORT` in
 * `.env`, or the default.
 *
 * @example
 * const source: PortSource = ".env";
 */
export type PortSource = "--port" | "PORT" | ".env" | "default";

/**
 * A port and where it came from.
 *
 * @example
 * const { port, source } = resolvePort(options.port, process.env, loadDotenv(root));
 */
export interface ResolvedPort {
  port: number;
  source: PortSource;
}

const PORT_ORIGIN: ReadonlyMap<PortSource, string> = new Map<PortSource, string>([
  ["--port", "from --port"],
  ["PORT", "PORT from the environment"],
  [".env", "PORT from .env"],
  ["default", "the default port"],
]);

/**
 * Says where the port came from, for the line printed at start.
 *
 * @example
 * `Listening on http://localhost:3000 (${portOrigin(".env")})` // "... (PORT from .env)"
 */
export function portOrigin(source: PortSource): string {
  return PORT_ORIGIN.get(source)!;
}

/**
 * Parses a port number from 0 to 65535; anything else is a `UserError` naming `what` (the
 * option or variable it came from).
 *
 * @example
 * parsePort("8888") // 8888
 * parsePort("eighty", "PORT in .env") // throws: PORT in .env must be a port number from 0 to 65535, not "eighty".
 */
export function parsePort(value: string, what = "--port"): number {
  const port = Number(value);
  if (!/^\d{1,5}$/.test(value) || port > 65535) throw new UserError(`${what} must be a port number from 0 to 65535, not "${value}".`);
  return port;
}

/**
 * The port to serve on: `--port`, else `PORT` from the real environment, else `PORT` from
 * `.env` (already stripped of what the environment sets), else `DEFAULT_PORT`.
 *
 * @example
 * resolvePort(undefined, { PORT: "3000" }, {}) // { port: 3000, source: "PORT" }
 */
export function resolvePort(flag: string | undefined, environment: NodeJS.ProcessEnv, dotenv: Record<string, string>): ResolvedPort {
  if (flag !== undefined) return { port: parsePort(flag), source: "--port" };
  const fromEnvironment = environment.PORT;
  if (fromEnvironment !== undefined && fromEnvironment !== "") return { port: parsePort(fromEnvironment, "PORT"), source: "PORT" };
  const fromDotenv = Object.hasOwn(dotenv, "PORT") ? dotenv.PORT : undefined;
  if (fromDotenv !== undefined && fromDotenv !== "") return { port: parsePort(fromDotenv, "PORT in .env"), source: ".env" };
  return { port: DEFAULT_PORT, source: "default" };
}

/**
 * Refuses a `LOG_FORMAT` the runtime does not know, in one sentence, before the app starts
 * (the runtime itself would fall back to text).
 *
 * @example
 * checkLogFormat({ ...process.env, ...dotenv }); // throws a UserError for LOG_FORMAT=xml
 */
export function checkLogFormat(environment: NodeJS.ProcessEnv): void {
  const format = environment.LOG_FORMAT;
  if (format !== undefined && format !== "" && format !== "text" && format !== "json") {
    throw new UserError(`LOG_FORMAT must be text or json, not ${JSON.stringify(format)}.`);
  }
}

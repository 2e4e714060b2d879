/** `.env` files: `KEY=value` lines, as the dotenv convention reads them. */

import { existsSync, readFileSync } from "node:fs";

/**
 * Parses the text of a `.env` file: `KEY=value`, optional `export `, `#` comments, single
 * quotes (literal), double quotes (with `\n` escapes), unquoted values trimmed and cut at ` #`.
 *
 * @example
 * parseDotenv('PORT=3000\nGREETING="hi\\nthere" # two lines') // { PORT: "3000", GREETING: "hi\nthere" }
 */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
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
 * already sets: the real environment wins, as with dotenv.
 *
 * @example
 * const env = { ...process.env, ...loadDotenv(process.cwd()) };
 */
export function loadDotenv(dir: string, environment: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const file = `${dir}/.env`;
  if (!existsSync(file)) return {};
  const parsed = parseDotenv(readFileSync(file, "utf8"));
  for (const key of Object.keys(parsed)) if (environment[key] !== undefined) delete parsed[key];
  return parsed;
}

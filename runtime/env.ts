/**
 * `readEnvironment(schema)`: the environment variables an app reads, checked once at start
 * against a schema (zod, valibot, arktype: any Standard Schema), typed, with defaults. A bad
 * value is one sentence naming the variable, not a stack trace halfway through a request.
 *
 * @example
 * import { z } from "zod";
 * import { readEnvironment } from "tornado";
 * export const env = readEnvironment(z.object({
 *   PORT: z.coerce.number().int().min(0).max(65535).default(8888),
 *   REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
 * }));
 */

import type { StandardSchemaV1 } from "./web/schema/standard.js";

/**
 * The environment did not match its schema; `message` names each bad variable.
 *
 * @example
 * catch (e) { if (e instanceof EnvironmentError) console.error(e.message); }
 */
export class EnvironmentError extends Error {
  readonly code = "ERR_BAD_ENVIRONMENT";
  constructor(message: string) {
    super(message);
    this.name = "EnvironmentError";
  }
}

/**
 * Options for `readEnvironment`.
 *
 * @example
 * readEnvironment(schema, { env: { PORT: "80" }, exit: false });
 */
export interface ReadEnvironmentOptions {
  /** The variables to read. Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
  /**
   * On a bad value, print the sentence on stderr and exit with code 1 (default, as Tornado's
   * `parse_command_line` does), or throw an `EnvironmentError` (false: tests).
   */
  exit?: boolean;
}

/**
 * Checks the environment against `schema` and returns its typed output: one sentence per bad
 * variable (`PORT must be …: "abc" is not valid.`), then exit 1. Empty values count as unset,
 * so `PORT=` in a `.env` file takes the default. The schema must check synchronously.
 *
 * @example
 * const env = readEnvironment(z.object({ PORT: z.coerce.number().int().default(8888) }));
 * await app.listen(env.PORT);
 */
export function readEnvironment<Schema extends StandardSchemaV1>(schema: Schema, options: ReadEnvironmentOptions = {}): StandardSchemaV1.InferOutput<Schema> {
  const source = options.env ?? process.env;
  const values = Object.create(null) as Record<string, string>;
  for (const [key, value] of Object.entries(source)) if (value !== undefined && value !== "") values[key] = value;
  const result = schema["~standard"].validate(values);
  if (result instanceof Promise) throw new TypeError("readEnvironment needs a schema that checks synchronously");
  if (result.issues === undefined) return result.value as StandardSchemaV1.InferOutput<Schema>;
  const sentences = result.issues.map((issue) => {
    const key = issue.path?.[0];
    const name = typeof key === "object" && key !== null ? String(key.key) : key === undefined ? "the environment" : String(key);
    const value = Object.hasOwn(values, name) ? values[name] : undefined;
    const got = value === undefined ? "it is not set" : `got ${JSON.stringify(value.length > 60 ? value.slice(0, 60) + "…" : value)}`;
    return `${name}: ${issue.message} (${got}).`;
  });
  const error = new EnvironmentError(sentences.join("\n"));
  if (options.exit === false) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}

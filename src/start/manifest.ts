/**
 * What an app says about how `tornado start` may run it, in the `"tornado"` field of its
 * package.json. `"workers": false` (with a `"reason"`) declares that it must run in one
 * process, e.g. because it keeps state in memory that the workers would not share.
 *
 * ```json
 * "tornado": { "workers": false, "reason": "it keeps its users in memory, one copy per process" }
 * ```
 */

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../cli/user-error.js";

/**
 * The longest `reason` shown; a longer one is cut.
 *
 * @example
 * reason.slice(0, MAX_REASON_LENGTH)
 */
export const MAX_REASON_LENGTH = 300;

/**
 * Why the app in `root` must run in one process (its package.json has `"tornado": { "workers":
 * false }`), or `null` when it may run with `--workers`. A `"workers"` that is not a boolean is
 * a `UserError`; an unreadable package.json declares nothing.
 *
 * @example
 * const reason = singleProcessReason(process.cwd());
 * if (reason !== null && workers > 1) throw new UserError(`This app cannot run with --workers ${workers}: ${reason}.`);
 */
export function singleProcessReason(root: string): string | null {
  const file = join(root, "package.json");
  if (!existsSync(file)) return null;
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return null;
  }
  const field = typeof manifest === "object" && manifest !== null ? (manifest as { tornado?: unknown }).tornado : undefined;
  if (typeof field !== "object" || field === null) return null;
  const { workers, reason } = field as { workers?: unknown; reason?: unknown };
  if (workers === undefined || workers === true) return null;
  if (workers !== false) {
    throw new UserError(`"workers" under "tornado" in package.json must be true or false, not ${JSON.stringify(workers)?.slice(0, 40)}.`);
  }
  const text = typeof reason === "string" ? (reason.split("\n")[0] ?? "").trim().replace(/\.$/, "").slice(0, MAX_REASON_LENGTH) : "";
  return text === "" ? 'its package.json says "tornado": { "workers": false }' : text;
}

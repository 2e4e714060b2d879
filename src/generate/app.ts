/** Finding the app a `tornado generate`, `destroy` or `routes` runs in. */

import { existsSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { UserError } from "../cli/errors.js";

/**
 * The default app file: where `makeApp()` and its route list live in a generated app.
 *
 * @example
 * join(root, DEFAULT_APP_FILE) // "/home/me/my-api/src/app.ts"
 */
export const DEFAULT_APP_FILE = "src/app.ts";

/**
 * The app's root folder: the nearest folder at or above `from` holding a package.json.
 *
 * @example
 * findAppRoot(process.cwd()) // "/home/me/my-api"
 */
export function findAppRoot(from: string): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, "package.json"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new UserError(`No package.json in ${resolve(from)} or above: run this inside an app made by create-tornado-app.`);
    dir = parent;
  }
}

/**
 * The app file path relative to the root, with `/`: `--app` (from the current folder) checked
 * to be inside the app, or `src/app.ts`.
 *
 * @example
 * appFileOption("/home/me/my-api", "src/app.ts") // "src/app.ts"
 */
export function appFileOption(root: string, option: string | undefined, cwd = process.cwd()): string {
  if (option === undefined) return DEFAULT_APP_FILE;
  const rel = relative(root, resolve(cwd, option)).split("\\").join("/");
  if (rel.startsWith("..") || rel === "") throw new UserError(`--app ${option} is outside the app at ${root}.`);
  return rel;
}

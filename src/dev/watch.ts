/** Watching an app's files: what matters, with whole-segment ignores and a debounce. */

import { existsSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { watch, type FSWatcher } from "chokidar";

/**
 * Folder names never watched, matched as whole path segments.
 *
 * @example
 * IGNORED_SEGMENTS.has("node_modules") // true
 */
export const IGNORED_SEGMENTS = new Set(["node_modules", ".git", "dist", "build", "coverage", ".tornado-cache"]);

/**
 * Whether a path (relative to the app) is ignored: a whole segment is one of
 * `IGNORED_SEGMENTS`, or the file is an editor's or an atomic writer's temporary file.
 * `src/blogs.ts` is watched even though it contains "logs"; `dist/app.js` is not.
 *
 * @example
 * isIgnoredPath("node_modules/x/index.js") // true
 * isIgnoredPath("src/blogs.ts")            // false
 */
export function isIgnoredPath(relativePath: string): boolean {
  const segments = relativePath.split(/[\\/]/);
  if (segments.some((segment) => IGNORED_SEGMENTS.has(segment))) return true;
  const name = segments[segments.length - 1] ?? "";
  return name.endsWith("~") || name.endsWith(".swp") || name.endsWith(".tmp") || name.startsWith(".#");
}

/**
 * The paths `tornado dev` watches for an entry: the entry's top-level source folder (or the
 * entry itself when it sits at the top), `.env`, `tsconfig.json` and `package.json`.
 *
 * @example
 * watchedPaths("/app", "/app/src/main.ts") // ["/app/src", "/app/.env", "/app/tsconfig.json", "/app/package.json"]
 */
export function watchedPaths(root: string, entry: string): string[] {
  const first = relative(root, entry).split(sep)[0]!;
  const source = join(root, first);
  const sourceIsFolder = existsSync(source) && statSync(source).isDirectory();
  return [sourceIsFolder ? source : entry, ...[".env", "tsconfig.json", "package.json"].map((f) => join(root, f))];
}

/**
 * Watches the app and calls `onChange` with the files that changed, once per burst of saves
 * (events closer than `debounceMs` are one burst).
 *
 * @example
 * const watcher = watchApp(root, entry, (files) => restart(files[0]));
 * await watcher.close();
 */
export function watchApp(root: string, entry: string, onChange: (files: string[]) => void, debounceMs = 40): FSWatcher {
  let changed = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const watcher = watch(watchedPaths(root, entry), {
    ignoreInitial: true,
    ignored: (path) => isIgnoredPath(relative(root, path)),
  });
  watcher.on("all", (_event, path) => {
    changed.add(relative(root, path));
    clearTimeout(timer);
    timer = setTimeout(() => {
      const files = [...changed];
      changed = new Set();
      onChange(files);
    }, debounceMs);
  });
  return watcher;
}

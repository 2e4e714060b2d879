/** Watching an app's files: what matters, with whole-segment ignores and a debounce. */

import { existsSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { watch, type FSWatcher } from "chokidar";
import { DEFAULT_WATCH, globToRegExp, IGNORED_SEGMENTS, type WatchConfig } from "./config.js";

export { IGNORED_SEGMENTS };

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
 * Top-level folders of static files and templates that apps read at start (the websocket
 * template reads `public/index.html` once at import): a change to one restarts the app, so
 * it serves the new file.
 *
 * @example
 * ASSET_FOLDERS.includes("public") // true
 */
export const ASSET_FOLDERS = ["public", "static", "templates"] as const;

/**
 * The paths `tornado dev` watches for an entry: the entry's top-level source folder (or the
 * entry itself when it sits at the top), the asset folders that exist (`ASSET_FOLDERS`), the
 * extra `paths` (relative to the app), the env file (`.env` unless `envFile` names another),
 * `tsconfig.json` and `package.json`.
 *
 * @example
 * watchedPaths("/app", "/app/src/main.ts") // ["/app/src", "/app/.env", "/app/tsconfig.json", "/app/package.json"]
 */
export function watchedPaths(root: string, entry: string, extra: { paths?: string[]; envFile?: string } = {}): string[] {
  const isFolder = (path: string) => existsSync(path) && statSync(path).isDirectory();
  const first = relative(root, entry).split(sep)[0]!;
  const source = join(root, first);
  const assets = ASSET_FOLDERS.filter((folder) => folder !== first && isFolder(join(root, folder))).map((folder) => join(root, folder));
  const paths = [isFolder(source) ? source : entry, ...assets];
  for (const path of extra.paths ?? []) if (!paths.includes(join(root, path))) paths.push(join(root, path));
  return [...paths, extra.envFile ?? join(root, ".env"), ...["tsconfig.json", "package.json"].map((f) => join(root, f))];
}

/**
 * Whether a change to `path` (relative to the app, `/`-separated) restarts nothing: it matches
 * an ignore glob, or `ext` is set and the file has none of its extensions (`.env`,
 * `package.json` and `tsconfig.json` always count).
 *
 * @example
 * isFilteredOut("src/a.test.ts", { ...DEFAULT_WATCH, ignore: ["**\/*.test.ts"] }) // true
 */
export function isFilteredOut(path: string, config: Pick<WatchConfig, "ignore" | "ext">, alwaysWatched: string[] = []): boolean {
  const rel = path.split(sep).join("/");
  if (alwaysWatched.includes(rel)) return false;
  if (config.ignore.some((glob) => globToRegExp(glob).test(rel))) return true;
  if (config.ext.length === 0) return false;
  const name = rel.slice(rel.lastIndexOf("/") + 1);
  return !config.ext.some((ext) => name.endsWith(`.${ext}`));
}

// chokidar reports the unlink of a file renamed away up to 100 ms late (its `atomic` delay):
// a burst that saw a file appear waits this long for it to go again.
const NEW_FILE_SETTLE_MS = 150;
// A file that goes within this long of appearing was a temporary one, even if its unlink comes
// in the next burst.
const TEMPORARY_FILE_MS = 2000;

/**
 * Watches the app and calls `onChange` with the files that changed. The first change of a file
 * that was already there and is not empty (a save) is reported at once; the events that follow
 * it closer than `debounceMs` apart are one burst, reported once at its end, with the file
 * reported at once only if it changed again since (one save seen twice restarts once). A burst
 * that starts otherwise (a file added or removed) is reported at its end. A `WatchConfig` also
 * brings extra paths, ignore globs, extensions and polling. A save by rename (`sed -i`, editors
 * that write a temporary file and rename it over the original) names the file saved: a file that
 * appears and goes again within a burst is left out, and a burst of only such files is none.
 *
 * @example
 * const watcher = watchApp(root, entry, (files) => restart(files[0]));
 * await watcher.close();
 */
export function watchApp(
  root: string,
  entry: string,
  onChange: (files: string[]) => void,
  settings: number | (Partial<WatchConfig> & { envFile?: string }) = 40,
): FSWatcher {
  const config = { ...DEFAULT_WATCH, ...(typeof settings === "number" ? { debounce: settings } : settings) };
  const debounceMs = config.debounce;
  const envFile = typeof settings === "number" ? undefined : settings.envFile;
  const alwaysWatched = [relative(root, envFile ?? join(root, ".env")), "package.json", "tsconfig.json"].map((p) => p.split(sep).join("/"));
  const ignores = config.ignore.map(globToRegExp);
  // Each path of the burst, and whether it appeared just before (a temporary file, if it is gone).
  let changed = new Map<string, { created: boolean }>();
  // The files reported at the start of this burst, with their version (mtime and size) then.
  let reported = new Map<string, string | null>();
  let timer: NodeJS.Timeout | undefined;
  const createdAt = new Map<string, number>();
  const watcher = watch(watchedPaths(root, entry, { paths: config.paths, envFile }), {
    ignoreInitial: true,
    usePolling: config.poll,
    interval: 100,
    binaryInterval: 300,
    ignored: (path) => {
      const rel = relative(root, path);
      return isIgnoredPath(rel) || (!alwaysWatched.includes(rel) && ignores.some((glob) => glob.test(rel.split(sep).join("/"))));
    },
  });
  const counts = (path: string) => !isFilteredOut(path, { ignore: [], ext: config.ext }, alwaysWatched);
  const flush = () => {
    timer = undefined;
    const burst = changed;
    const already = reported;
    changed = new Map();
    reported = new Map();
    for (const [path, at] of createdAt) if (Date.now() - at > TEMPORARY_FILE_MS) createdAt.delete(path);
    // A file reported at once and written again since (the write after a truncation, within
    // the same mtime tick, brings no event of its own) counts again.
    for (const path of already.keys()) if (!burst.has(path)) burst.set(path, { created: false });
    const files = [...burst]
      .filter(([path, { created }]) => !(created && !existsSync(join(root, path))))
      .filter(([path]) => counts(path))
      .filter(([path]) => !already.has(path) || already.get(path) !== version(join(root, path)))
      .map(([path]) => path);
    if (files.length > 0) onChange(files);
  };
  watcher.on("all", (event, path) => {
    const rel = relative(root, path);
    if (event === "add" || event === "addDir") createdAt.set(rel, Date.now());
    const appeared = createdAt.get(rel);
    const created = appeared !== undefined && Date.now() - appeared <= TEMPORARY_FILE_MS;
    const now = event === "change" && !created && reported.size === 0 && counts(rel) ? version(path) : null;
    // A save (not an empty file: a write that truncated first and has not written yet): restart
    // now rather than after the quiet spell; what follows is coalesced.
    if (now !== null && !now.endsWith(":0")) {
      reported.set(rel, now);
      onChange([rel]);
    } else {
      const seen = changed.get(rel);
      changed.set(rel, { created: seen?.created ?? created });
    }
    const settling = [...changed.values()].some((c) => c.created);
    clearTimeout(timer);
    timer = setTimeout(flush, settling ? Math.max(debounceMs, NEW_FILE_SETTLE_MS) : debounceMs);
  });
  return watcher;
}

// What a file's content is as far as the watcher can tell without reading it (null: gone).
function version(path: string): string | null {
  try {
    const stats = statSync(path);
    return `${stats.mtimeMs}:${stats.size}`;
  } catch {
    return null;
  }
}

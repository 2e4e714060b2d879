/**
 * Loading the TypeScript compiler fast enough for a CLI: compiling its 9 MB file costs about
 * 0.2 s on every run of a quiet machine (more under load), so, like `v8-compile-cache`, we keep
 * V8's compiled code in a cache file and hand it back on the next run (V8 checks it against
 * the source and its own version, and compiles from scratch if it does not match). Reading
 * the file and running its module body still cost about 0.15 s (bench/README.md).
 */

import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire, Module } from "node:module";
import { tmpdir, userInfo } from "node:os";
import { dirname, join } from "node:path";
import { Script } from "node:vm";
import type * as TS from "typescript";

const requireHere = createRequire(import.meta.url);

function cacheFile(version: string): string {
  const base = process.env.XDG_CACHE_HOME ? join(process.env.XDG_CACHE_HOME, "tornado") : join(tmpdir(), `tornado-${userInfo().uid}`);
  return join(base, `typescript-${version}-node-${process.version}-${process.arch}.v8cache`);
}

function readCache(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

function writeCache(file: string, script: Script): void {
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, script.createCachedData());
    renameSync(tmp, file);
  } catch {
    // A cache that cannot be written only costs speed.
  }
}

// typescript.js is plain ASCII; decoding it as latin1 (the same characters) skips UTF-8
// decoding, which takes twice as long on 9 MB. Anything else is read again as UTF-8.
function readSource(file: string): string {
  const text = readFileSync(file, "latin1");
  return /[^\x00-\x7f]/.test(text) ? readFileSync(file, "utf8") : text;
}

let loaded: typeof TS | undefined;

/**
 * The `typescript` module, compiled from V8's code cache when one matches. The cache is
 * written when the process exits, so it holds the functions this run compiled too.
 *
 * @example
 * const ts = loadTypeScript();
 * ts.createSourceFile("app.ts", text, ts.ScriptTarget.Latest, true);
 */
export function loadTypeScript(): typeof TS {
  if (loaded !== undefined) return loaded;
  const file = requireHere.resolve("typescript");
  const version = (requireHere("typescript/package.json") as { version: string }).version;
  const cache = cacheFile(version);
  const cachedData = readCache(cache);
  const script = new Script(Module.wrap(readSource(file)), { filename: file, cachedData });
  const module = { exports: {} as typeof TS };
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  if (cachedData === undefined || script.cachedDataRejected === true) process.once("exit", () => writeCache(cache, script));
  loaded = module.exports;
  return loaded;
}

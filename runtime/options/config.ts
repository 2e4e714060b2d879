/** Config files for `parseConfigFile`: JSON, or a JavaScript module (Tornado's are Python). */

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { extname, resolve } from "node:path";
import { OptionsError } from "./values.js";

const requireModule = createRequire(import.meta.url);

/**
 * The option values in the file at `path`, and whether names that are not options are an error
 * (JSON: yes; a module may export helpers too).
 * @internal
 */
export function loadConfigFile(path: string): { values: Record<string, unknown>; strict: boolean } {
  const extension = extname(path).toLowerCase();
  if (extension === ".json") return { values: readJson(path), strict: true };
  if (extension === ".js" || extension === ".mjs" || extension === ".cjs") return { values: loadModule(path), strict: false };
  throw new OptionsError("ERR_CONFIG_FILE", `Config file ${path} must be .json, .js, .mjs or .cjs`);
}

function readJson(path: string): Record<string, unknown> {
  const text = readFileSync(path, "utf8");
  let values: unknown;
  try {
    values = JSON.parse(text);
  } catch (error) {
    throw new OptionsError("ERR_CONFIG_FILE", `Config file ${path} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (typeof values !== "object" || values === null || Array.isArray(values)) {
    throw new OptionsError("ERR_CONFIG_FILE", `Config file ${path} must hold a JSON object of option values`);
  }
  return values as Record<string, unknown>;
}

// require() keeps parsing synchronous, as Tornado's is (so a `--config` option's callback can
// call parseConfigFile); Node >= 20.19 loads ES modules this way too, unless they use
// top-level await.
function loadModule(path: string): Record<string, unknown> {
  const file = resolve(path);
  delete requireModule.cache[file]; // a CommonJS file is read afresh each time
  let loaded: unknown;
  try {
    loaded = requireModule(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ERR_REQUIRE_ASYNC_MODULE") {
      throw new OptionsError("ERR_CONFIG_FILE", `Config module ${path} uses top-level await, which parseConfigFile cannot load: compute the values without it`, {
        cause: error,
      });
    }
    throw error;
  }
  if (typeof loaded !== "object" || loaded === null) return {};
  const exports = loaded as Record<string, unknown>;
  const isEsm = exports.__esModule === true || Object.prototype.toString.call(loaded) === "[object Module]";
  if (!isEsm) return { ...exports };
  const { default: fallback, __esModule: _, ...named } = exports;
  const base = typeof fallback === "object" && fallback !== null && !Array.isArray(fallback) ? (fallback as Record<string, unknown>) : {};
  return { ...base, ...named };
}

/**
 * What a standby app process of `tornado dev` loads before the save: the packages the app's
 * source imports (the runtime's entries, zod, pg…), so that a restart only loads the app's own
 * modules.
 */

import { readdirSync, readFileSync, statSync } from "node:fs";
import nodeModule, { isBuiltin } from "node:module";
import { join, relative, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { IGNORED_SEGMENTS } from "./config.js";

// Files read for imports: at most this many, of at most this size each.
const MAX_FILES = 2000;
const MAX_FILE_BYTES = 512 * 1024;
const SOURCE = /\.(?:[mc]?[jt]s|tsx|jsx)$/;

/**
 * The packages a module's source imports for their values, as written (`tornado/web`, `zod`,
 * `@scope/pkg/sub`): static imports and re-exports (not `import type`), and dynamic imports of
 * a string literal. Relative paths, URLs and Node's own modules are left out.
 *
 * @example
 * bareImports('import { z } from "zod";\nimport type { X } from "tornado/db";\nimport "./a.js";') // ["zod"]
 */
export function bareImports(source: string): string[] {
  const found = new Set<string>();
  const statics = /(?:^|[;\n}])\s*(import|export)\s+(type\s+)?(?:[\w*${}\s,]+?\s+from\s*)?["']([^"'\n]+)["']/g;
  for (const m of source.matchAll(statics)) if (m[2] === undefined && !(m[1] === "export" && !/\bfrom\b/.test(m[0]))) found.add(m[3]!);
  for (const m of source.matchAll(/\bimport\(\s*["']([^"'\n]+)["']\s*\)/g)) found.add(m[1]!);
  return [...found].filter((specifier) => !/^[./]|^[a-z][a-z0-9+.-]*:/i.test(specifier) && !isBuiltin(specifier));
}

/**
 * The packages imported by the source files under `dir` (an app's source folder; node_modules,
 * build output and the like skipped), in the order first seen.
 *
 * @example
 * appImports("/app/src") // ["tornado/db", "tornado/httpserver", "tornado/log", "tornado/web", "zod", …]
 */
export function appImports(dir: string): string[] {
  const found = new Set<string>();
  let files = 0;
  const walk = (folder: string) => {
    let entries;
    try {
      entries = readdirSync(folder, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (files >= MAX_FILES) return;
      const path = join(folder, entry.name);
      if (entry.isDirectory()) {
        if (!IGNORED_SEGMENTS.has(entry.name) && !entry.name.startsWith(".")) walk(path);
      } else if (entry.isFile() && SOURCE.test(entry.name) && !entry.name.endsWith(".d.ts")) {
        files += 1;
        try {
          if (statSync(path).size <= MAX_FILE_BYTES) for (const specifier of bareImports(readFileSync(path, "utf8"))) found.add(specifier);
        } catch {
          // gone meanwhile
        }
      }
    }
  };
  walk(dir);
  return [...found];
}

/**
 * Packages the runtime's entries import only when first used (the database driver and the
 * migration runner), loaded ahead too when the app imports the entry.
 *
 * @example
 * RUNTIME_LAZY_IMPORTS["tornado/db"] // ["pg", "node-pg-migrate"]
 */
export const RUNTIME_LAZY_IMPORTS: Record<string, string[]> = { "tornado/db": ["pg", "node-pg-migrate"] };

type ResolveContext = { parentURL?: string; conditions?: string[]; importAttributes?: Record<string, string> };
type ResolveResult = { url: string; format?: string | null; shortCircuit?: boolean };
const module = nodeModule as typeof nodeModule & {
  registerHooks?: (hooks: {
    resolve: (specifier: string, context: ResolveContext, nextResolve: (specifier: string, context?: ResolveContext) => ResolveResult) => ResolveResult;
  }) => unknown;
};

/**
 * Imports the packages the app's source folder imports, each resolved as from the app's
 * `entry` (its node_modules, its package's `imports`), so that they are loaded when the app's
 * own import asks for them; a specifier that resolves outside node_modules (the app's own
 * files, a linked package) is left alone. Needs `module.registerHooks` (Node 22.15+): without it, nothing is
 * loaded. A package that fails to load is left for the app's own import to report.
 *
 * @example
 * await preloadAppImports("/app", "/app/src/main.ts");
 */
export async function preloadAppImports(root: string, entry: string): Promise<void> {
  if (typeof module.registerHooks !== "function") return;
  const first = relative(root, entry).split(sep)[0]!;
  const folder = join(root, first);
  let specifiers: string[];
  try {
    specifiers = statSync(folder).isDirectory() ? appImports(folder) : bareImports(readFileSync(entry, "utf8"));
  } catch {
    return;
  }
  specifiers = [...new Set(specifiers.flatMap((specifier) => [specifier, ...(RUNTIME_LAZY_IMPORTS[specifier] ?? [])]))];
  const from = pathToFileURL(entry).href;
  const here = import.meta.url;
  module.registerHooks({
    resolve(specifier, context, nextResolve) {
      if (context.parentURL !== here) return nextResolve(specifier, context);
      const resolved = nextResolve(specifier, { ...context, parentURL: from });
      // Only what is installed is loaded ahead. A specifier that reaches files of the app's own
      // (its package's `imports` such as "#config", its own name, a linked workspace package)
      // is not: a save to one of them must find it not loaded yet.
      if (!resolved.url.includes("/node_modules/")) throw new Error(`${specifier} is not an installed package`);
      return resolved;
    },
  });
  for (const specifier of specifiers) {
    try {
      await import(specifier);
    } catch {
      // the app's own import says what is wrong
    }
  }
}

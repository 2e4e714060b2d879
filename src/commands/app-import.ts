/**
 * Importing an app's TypeScript source for `tornado routes` and `tornado openapi`: with Node's
 * own type stripping where the Node line has it on (22.18+, 24, 26), else through tsx.
 */

import { existsSync } from "node:fs";
import nodeModule from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

/**
 * Whether this Node strips types itself (on by default from 22.18 and 23.6) and takes in-thread
 * resolve hooks (`module.registerHooks`, 22.15 and 23.5): both are needed to import an app's
 * `./handlers/base.js` from `./handlers/base.ts` without tsx.
 *
 * @example
 * if (canStripTypes()) console.log("no tsx needed");
 */
export function canStripTypes(): boolean {
  const features = process.features as { typescript?: string | false };
  return (features.typescript === "strip" || features.typescript === "transform") && typeof module.registerHooks === "function";
}

// Errors after which the app is imported again through tsx, which reads more than Node's type
// stripping does (parameter properties, enums, .tsx, tsconfig paths) and words syntax errors
// with the file, line and column that the commands print.
const RETRY_WITH_TSX = new Set([
  "ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX",
  "ERR_INVALID_TYPESCRIPT_SYNTAX",
  "ERR_UNKNOWN_FILE_EXTENSION",
  "ERR_MODULE_NOT_FOUND",
  "ERR_UNSUPPORTED_DIR_IMPORT",
  "ERR_PACKAGE_IMPORT_NOT_DEFINED",
  "ERR_REQUIRE_ESM",
]);

// What this file uses of node:module beyond the @types/node of Node 20 (22.1+ and 22.15+).
type ResolveResult = { url: string; format?: string | null; shortCircuit?: boolean };
type ResolveContext = { parentURL?: string; conditions?: string[]; importAttributes?: Record<string, string> };
const module = nodeModule as typeof nodeModule & {
  enableCompileCache?: () => unknown;
  registerHooks?: (hooks: {
    resolve: (specifier: string, context: ResolveContext, nextResolve: (specifier: string, context?: ResolveContext) => ResolveResult) => ResolveResult;
  }) => unknown;
};

let hooked = false;

/**
 * Imports `file` (an absolute path to a `.ts` file of the app under `root`): natively when
 * {@link canStripTypes}, with `./x.js` resolved to `./x.ts` inside the app as TypeScript's
 * NodeNext resolution does; through tsx on a Node without type stripping, or when the native
 * import fails on something only tsx reads (a syntax error included, for tsx's wording). Going
 * through tsx, it calls `onTsx` first, with the native import's error (null: no type stripping).
 *
 * @example
 * const mod = await importAppSource("/home/me/my-api", "/home/me/my-api/src/app.ts");
 */
export async function importAppSource(
  root: string,
  file: string,
  onTsx: (error: unknown) => void = () => {},
): Promise<Record<string, unknown>> {
  // Compiled code of the runtime, zod and the app is kept between runs (Node 22.1+).
  module.enableCompileCache?.();
  const href = pathToFileURL(file).href;
  if (canStripTypes()) {
    hookAppSources(root);
    try {
      return await quietly(() => import(href) as Promise<Record<string, unknown>>);
    } catch (error) {
      if (!needsTsx(error)) throw error;
      onTsx(error);
    }
  } else onTsx(null);
  const { tsImport } = await import("tsx/esm/api");
  return (await tsImport(href, import.meta.url)) as Record<string, unknown>;
}

/**
 * Whether a failed native import of the app's source is one that tsx may get through (syntax
 * only tsx reads, a `.tsx` file, a tsconfig path) or word better (a syntax error, with esbuild's
 * file:line:column).
 *
 * @example
 * needsTsx(Object.assign(new Error("enum"), { code: "ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX" })) // true
 */
export function needsTsx(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return error instanceof SyntaxError || (typeof code === "string" && RETRY_WITH_TSX.has(code));
}

/**
 * Resolves `./x.js` to `./x.ts` (and .mjs/.cjs to .mts/.cts) for an importer in the app under
 * `root` outside node_modules, as TypeScript's NodeNext resolution does (once per process).
 *
 * @example
 * hookAppSources("/home/me/my-api");
 * await import("/home/me/my-api/src/main.ts"); // its `./app.js` loads ./app.ts
 */
export function hookAppSources(root: string): void {
  if (hooked) return;
  hooked = true;
  const rootUrl = pathToFileURL(root).href.replace(/\/?$/, "/");
  module.registerHooks!({
    resolve(specifier, context, nextResolve) {
      const parent = context.parentURL;
      const ours = parent?.startsWith(rootUrl) && !parent.includes("/node_modules/") && (specifier.startsWith("./") || specifier.startsWith("../"));
      const match = ours ? /\.([mc]?)js$/.exec(specifier) : null;
      if (match !== null && parent !== undefined) {
        const source = new URL(`${specifier.slice(0, -match[0].length)}.${match[1]}ts`, parent);
        if (!existsSync(fileURLToPath(new URL(specifier, parent))) && existsSync(fileURLToPath(source))) {
          return nextResolve(source.href, context);
        }
      }
      return nextResolve(specifier, context);
    },
  });
}

/** Runs `load` with Node's experimental-feature warning about type stripping left unprinted (22.x prints it). */
async function quietly<T>(load: () => Promise<T>): Promise<T> {
  const emit = process.emitWarning;
  process.emitWarning = function (this: unknown, warning: string | Error, ...rest: unknown[]) {
    if (String(typeof warning === "string" ? warning : warning?.message).includes("Type Stripping")) return;
    return (emit as (...args: unknown[]) => void).call(process, warning, ...rest);
  } as typeof process.emitWarning;
  try {
    return await load();
  } finally {
    process.emitWarning = emit;
  }
}

/**
 * A vitest (Vite) plugin that lowers standard decorators (`@authenticated`) with TypeScript.
 * Vite 8 transforms TypeScript with Oxc, which leaves TC39 decorators in place, and Node 20
 * cannot run them; `tsc` (the build) and tsx (`tornado dev`) lower them already.
 */

import { createRequire } from "node:module";
import type * as TS from "typescript";

const DECORATOR = /^\s*@[A-Za-z_$]/m;

/**
 * The plugin's shape, as Vite takes it (kept structural so this module needs no Vite types).
 *
 * @example
 * const plugin: TransformPlugin = standardDecorators();
 */
export interface TransformPlugin {
  name: string;
  enforce: "pre";
  transform(code: string, id: string): { code: string; map: string | null } | null;
}

/**
 * A Vite/vitest plugin: `.ts` files that use a decorator go through TypeScript's transpiler
 * first (others are untouched, so tests start as fast as before).
 *
 * @example
 * // vitest.config.ts
 * import { defineConfig } from "vitest/config";
 * import { standardDecorators } from "tornado/testing";
 * export default defineConfig({ plugins: [standardDecorators()] });
 */
export function standardDecorators(): TransformPlugin {
  let ts: typeof TS | undefined;
  return {
    name: "tornado-standard-decorators",
    enforce: "pre",
    transform(code, id) {
      if (!/\.[cm]?tsx?$/.test(id.split("?")[0]!) || !DECORATOR.test(code)) return null;
      // Loaded on first use only: the compiler is large.
      ts ??= createRequire(import.meta.url)("typescript") as typeof TS;
      const { outputText, sourceMapText } = ts.transpileModule(code, {
        fileName: id,
        compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, sourceMap: true },
      });
      return { code: outputText, map: sourceMapText ?? null };
    },
  };
}

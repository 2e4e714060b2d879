import ts from "typescript";
import { defineConfig, type Plugin } from "vitest/config";

// Vite 8 transforms TypeScript with Oxc, which leaves standard (TC39) decorators such as
// `@authenticated` in place, and Node cannot run them yet. TypeScript lowers them, as `tsc`
// does in a build; only files that use a decorator take this path.
const DECORATOR = /^\s*@[A-Za-z_$]/m;

function standardDecorators(): Plugin {
  return {
    name: "standard-decorators",
    enforce: "pre",
    transform(code, id) {
      if (!id.endsWith(".ts") || !DECORATOR.test(code)) return null;
      const { outputText, sourceMapText } = ts.transpileModule(code, {
        fileName: id,
        compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, sourceMap: true },
      });
      return { code: outputText, map: sourceMapText ?? null };
    },
  };
}

export default defineConfig({
  plugins: [standardDecorators()],
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});

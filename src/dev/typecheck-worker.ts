/**
 * The type checker of `tornado dev`, in its own process: TypeScript's watch program over the
 * app's tsconfig.json (incremental, no output files), with the app's own `typescript` when it
 * has one. After each check it sends `{ type: "tornado:types", errors }` to the supervisor; it
 * exits when the supervisor goes.
 */

import { createRequire } from "node:module";
import { join, relative } from "node:path";
import type * as TS from "typescript";

const root = process.env.TORNADO_TYPECHECK_ROOT ?? process.cwd();

function loadTypeScript(): typeof TS {
  try {
    return createRequire(join(root, "package.json"))("typescript") as typeof TS;
  } catch {
    return createRequire(import.meta.url)("typescript") as typeof TS;
  }
}

const ts = loadTypeScript();
let errors: { file: string; line: number; column: number; code: number; message: string }[] = [];

const collect = (diagnostic: TS.Diagnostic) => {
  if (diagnostic.category !== ts.DiagnosticCategory.Error) return;
  const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n").split("\n")[0]!;
  if (diagnostic.file === undefined || diagnostic.start === undefined) {
    errors.push({ file: "", line: 0, column: 0, code: diagnostic.code, message });
    return;
  }
  const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
  errors.push({ file: relative(root, diagnostic.file.fileName), line: line + 1, column: character + 1, code: diagnostic.code, message });
};

const config = ts.findConfigFile(root, ts.sys.fileExists, "tsconfig.json");
if (config === undefined) {
  process.send?.({ type: "tornado:types-off", reason: "no tsconfig.json" });
  process.exit(0);
}

const host = ts.createWatchCompilerHost(
  config,
  { noEmit: true, incremental: false, composite: false, declaration: false },
  ts.sys,
  ts.createEmitAndSemanticDiagnosticsBuilderProgram,
  collect,
  (status, _newLine, _options, errorCount) => {
    // 6031 "Starting compilation in watch mode", 6032 "File change detected": a new check.
    if (status.code === 6031 || status.code === 6032) errors = [];
    else if (errorCount !== undefined) {
      process.send?.({ type: "tornado:types", errors });
      errors = [];
    }
  },
);
ts.createWatchProgram(host);
process.once("disconnect", () => process.exit(0));

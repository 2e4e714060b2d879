/** How the CLI ends: a user mistake is one sentence and an exit code; a bug is a stack. */

import { style } from "./output.js";
import { CancelledError, UserError } from "./user-error.js";

export { CancelledError, UserError } from "./user-error.js";

/**
 * Runs a CLI entry point and turns its outcome into an exit code: 0 on success, the
 * `UserError`'s code with one line on stderr for a user mistake, 70 with the stack for a bug.
 *
 * @example
 * await runCli(() => program.parseAsync(process.argv));
 */
export async function runCli(main: () => Promise<unknown>): Promise<void> {
  // Output piped into `head` and closed early is not an error.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });
  try {
    await main();
    process.exitCode ??= 0;
  } catch (error) {
    if (isCommanderError(error)) {
      // commander has already printed its one-line message (or the help/version text).
      process.exitCode = error.exitCode;
    } else if (error instanceof CancelledError) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = error.exitCode;
    } else if (error instanceof UserError) {
      process.stderr.write(`${style.red("error:")} ${error.message}\n`);
      process.exitCode = error.exitCode;
    } else {
      process.stderr.write(`${style.red("internal error (please report it):")}\n${(error as Error)?.stack ?? String(error)}\n`);
      process.exitCode = 70;
    }
  }
}

// commander's own errors (a bad option, --help, --version) have printed their line already.
// Recognised by shape, so that this module loads without commander (tornado start in an app's
// production install has none).
function isCommanderError(error: unknown): error is { exitCode: number } {
  const e = error as { code?: unknown; exitCode?: unknown } | null;
  return typeof e?.code === "string" && e.code.startsWith("commander.") && typeof e.exitCode === "number";
}

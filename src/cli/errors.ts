/** How the CLI ends: a user mistake is one sentence and an exit code; a bug is a stack. */

import { CommanderError } from "commander";
import { style } from "./output.js";

/**
 * A mistake the user can fix: printed as one line (no stack) and the process exits with
 * `exitCode`.
 *
 * @example
 * throw new UserError(`The folder ${dir} is not empty: choose another name or pass --force.`);
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "UserError";
  }
}

/**
 * The user stopped the run (Ctrl-C at a question): one plain line, exit 130 like any
 * interrupted command.
 *
 * @example
 * throw new CancelledError("Cancelled: nothing was written.");
 */
export class CancelledError extends UserError {
  constructor(message: string) {
    super(message, 130);
    this.name = "CancelledError";
  }
}

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
    if (error instanceof CommanderError) {
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

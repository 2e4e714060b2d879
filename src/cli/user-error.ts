/** The errors a user can fix: one sentence and an exit code, no stack. Needs nothing but Node. */

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

/**
 * The type checker beside the app under `tornado dev`: a separate, lower-priority process
 * (typecheck-worker.ts), so that it never delays a restart. It prints the errors with their
 * file:line when they change, and one line when they are gone.
 */

import { fork, type ChildProcess } from "node:child_process";
import { setPriority } from "node:os";
import { fileURLToPath } from "node:url";
import { devMessages as say } from "./messages.js";

const CHILD_SCRIPT = fileURLToPath(new URL("./typecheck-worker.js", import.meta.url));

/**
 * One type error, as the checker reports it.
 *
 * @example
 * const error: TypeCheckError = { file: "src/app.ts", line: 9, column: 7, code: 2322, message: "Type 'string' is not assignable to type 'number'." };
 */
export interface TypeCheckError {
  file: string;
  line: number;
  column: number;
  code: number;
  message: string;
}

/**
 * Runs TypeScript's watch program over the app beside `tornado dev`.
 *
 * @example
 * const checker = new TypeChecker("/app", console.log);
 * checker.start();
 * await checker.stop();
 */
export class TypeChecker {
  private child: ChildProcess | null = null;
  private last: string | null = null;

  constructor(
    private readonly root: string,
    private readonly print: (line: string) => void,
  ) {}

  /** Starts the checker process. @example checker.start() */
  start(): void {
    const child = fork(CHILD_SCRIPT, [], {
      cwd: this.root,
      env: { ...process.env, TORNADO_TYPECHECK_ROOT: this.root },
      execArgv: [],
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    });
    this.child = child;
    try {
      // Below the app and the supervisor: a check waits, a restart never does.
      if (child.pid !== undefined) setPriority(child.pid, 10);
    } catch {
      // not allowed here: it still runs in its own process
    }
    child.on("message", (message: { type?: string; errors?: TypeCheckError[]; reason?: string }) => {
      if (message?.type === "tornado:types") this.report(message.errors ?? []);
      else if (message?.type === "tornado:types-off") this.print(say.typecheckOff(message.reason ?? ""));
    });
    child.on("error", () => {});
  }

  // Said when the errors change: all of them, or one line once they are gone.
  private report(errors: TypeCheckError[]): void {
    const text = errors.length === 0 ? say.noTypeErrors() : say.typeErrors(errors);
    if (text === this.last) return;
    this.last = text;
    this.print(text);
  }

  /** Ends the checker process. @example await checker.stop() */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const late = setTimeout(() => child.kill("SIGKILL"), 2000);
    await exited;
    clearTimeout(late);
  }
}

/**
 * The pool behind `IOLoop.runInExecutor`: worker threads started on demand, one task per
 * thread at a time, tasks beyond the pool's size queued in order.
 */

import { availableParallelism } from "node:os";
import { isAbsolute } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { WORKER_SOURCE } from "./worker-source.js";

/**
 * Why the executor refused or lost a task.
 *
 * @example
 * if (error instanceof ExecutorError && error.code === "ERR_WORKER_CRASHED") retry();
 */
export type ExecutorErrorCode =
  /** The function used a variable of the scope it was written in (`identifier` names it). */
  | "ERR_EXECUTOR_SCOPE"
  /** Not a function that can be rebuilt from source, or a module without that export. */
  | "ERR_EXECUTOR_FUNCTION"
  /** An argument or the result cannot be copied between threads. */
  | "ERR_EXECUTOR_CLONE"
  /** The worker thread died while running the task. */
  | "ERR_WORKER_CRASHED"
  /** `shutdownExecutor()` or `IOLoop.close()` ended the task. */
  | "ERR_EXECUTOR_SHUTDOWN";

/**
 * The error `runInExecutor` rejects with when the task could not run to completion (an error
 * the task itself throws is passed through as it was thrown, not wrapped).
 *
 * @example
 * try {
 *   await loop.runInExecutor(() => limit * 2); // `limit` is a variable of the caller
 * } catch (error) {
 *   // ExecutorError: ERR_EXECUTOR_SCOPE, error.identifier === "limit"
 * }
 */
export class ExecutorError extends Error {
  /** Stable code to match on. */
  readonly code: ExecutorErrorCode;
  /** For `ERR_EXECUTOR_SCOPE`: the name the function used but the worker does not have. */
  readonly identifier: string | undefined;

  constructor(code: ExecutorErrorCode, message: string, options: { cause?: unknown; identifier?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ExecutorError";
    this.code = code;
    this.identifier = options.identifier;
  }
}

/**
 * A function exported by a module, for `runInExecutor`: the module is loaded once in each
 * worker thread.
 *
 * @example
 * const task: ModuleTask = { module: new URL("./thumbnails.js", import.meta.url), export: "resize" };
 * await IOLoop.current().runInExecutor(task, imageBytes, 200);
 */
export interface ModuleTask {
  /** A `file:` URL (`new URL("./work.js", import.meta.url)`) or an absolute path. */
  module: URL | string;
  /** The exported function's name; default `"default"`. */
  export?: string;
}

type TaskMessage =
  | { kind: "source"; source: string; args: unknown[] }
  | { kind: "module"; url: string; exportName: string; args: unknown[] };

interface ErrorDescription {
  name?: string;
  message?: string;
  stack?: string;
  code?: string;
  identifier?: string;
  thrown?: boolean;
  value?: unknown;
}

type Reply = { ok: true; value: unknown } | { ok: false; error: ErrorDescription };

interface Job {
  message: TaskMessage;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

interface Slot {
  worker: Worker;
  job: Job | undefined;
}

/** Worker threads for `runInExecutor`; see there for the contract. */
export class WorkerPool {
  private readonly size = availableParallelism();
  private readonly workerData = { tsxApi: tsxApiUrl() };
  private readonly slots = new Set<Slot>();
  private readonly waiting: Job[] = [];
  private closed = false;

  run(task: ((...args: unknown[]) => unknown) | ModuleTask, args: unknown[]): Promise<unknown> {
    let message: TaskMessage;
    try {
      message = taskMessage(task, args);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ message, resolve, reject });
      this.dispatch();
    });
  }

  async shutdown(): Promise<void> {
    this.closed = true;
    const ended = () => new ExecutorError("ERR_EXECUTOR_SHUTDOWN", "The executor was shut down before the task finished");
    for (const job of this.waiting.splice(0)) job.reject(ended());
    const slots = [...this.slots];
    this.slots.clear();
    for (const slot of slots) slot.job?.reject(ended());
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  private dispatch(): void {
    while (this.waiting.length > 0 && !this.closed) {
      let slot = [...this.slots].find((s) => s.job === undefined);
      if (!slot) {
        if (this.slots.size >= this.size) return;
        slot = this.spawn();
      }
      const job = this.waiting.shift()!;
      try {
        slot.worker.postMessage(job.message);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        job.reject(new ExecutorError("ERR_EXECUTOR_CLONE", `runInExecutor: an argument cannot be sent to a worker thread (${reason}); pass JSON-like values, Buffers, Maps, Dates and the like`, { cause: error }));
        continue;
      }
      slot.job = job;
      slot.worker.ref(); // a running task keeps the process alive, as any pending I/O does
    }
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: this.workerData });
    worker.unref(); // an idle pool never does
    const slot: Slot = { worker, job: undefined };
    worker.on("message", (reply: Reply) => {
      const job = slot.job;
      slot.job = undefined;
      worker.unref();
      if (job) {
        if (reply.ok) job.resolve(reply.value);
        else job.reject(rebuildError(reply.error));
      }
      this.dispatch();
    });
    worker.on("error", (error) => this.lose(slot, error));
    worker.on("exit", (code) => this.lose(slot, new Error(`the worker thread exited with code ${code}`)));
    this.slots.add(slot);
    return slot;
  }

  // A worker died (an uncaught error, process.exit()): its task fails, and the next task that
  // needs a thread starts a new one.
  private lose(slot: Slot, cause: unknown): void {
    if (!this.slots.delete(slot)) return;
    void slot.worker.terminate();
    const reason = cause instanceof Error ? cause.message : String(cause);
    slot.job?.reject(new ExecutorError("ERR_WORKER_CRASHED", `The executor's worker thread crashed while running the task: ${reason}`, { cause }));
    this.dispatch();
  }
}

// A { module } task may name a TypeScript file (or a `.js` URL whose source is `.ts`) while
// the app runs from source: under tornado dev (tsx) or vitest. Worker threads get neither
// loader (on Node 20 a loader registered with --import does not reach them), so a worker that
// cannot load such a module loads it through tsx's tsImport, when tsx is installed.
function tsxApiUrl(): string | undefined {
  try {
    return import.meta.resolve("tsx/esm/api");
  } catch {
    return undefined;
  }
}

function taskMessage(task: ((...args: unknown[]) => unknown) | ModuleTask, args: unknown[]): TaskMessage {
  if (typeof task === "function") {
    const source = Function.prototype.toString.call(task);
    if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) {
      throw new ExecutorError("ERR_EXECUTOR_FUNCTION", "runInExecutor cannot send a built-in or bound function to a worker thread; pass a function written in your code, or use the { module, export } form");
    }
    if (/^class\b/.test(source)) throw new ExecutorError("ERR_EXECUTOR_FUNCTION", "runInExecutor was given a class; pass a function");
    return { kind: "source", source, args };
  }
  if (task !== null && typeof task === "object" && "module" in task) {
    return { kind: "module", url: moduleUrl(task.module), exportName: task.export ?? "default", args };
  }
  throw new TypeError("runInExecutor takes a function or { module, export }");
}

function moduleUrl(module: URL | string): string {
  if (module instanceof URL) return module.href;
  if (typeof module === "string") {
    if (isAbsolute(module)) return pathToFileURL(module).href;
    if (/^(file|data):/.test(module)) return module;
  }
  throw new TypeError(`runInExecutor: give the module as new URL("./work.js", import.meta.url) or an absolute path, not ${JSON.stringify(module)}`);
}

const ERROR_TYPES: Record<string, new (message: string) => Error> = {
  Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError,
};

function rebuildError(described: ErrorDescription): unknown {
  if (described.thrown) return described.value;
  const message = described.message ?? "";
  if (described.code === "ERR_EXECUTOR_SCOPE") {
    const name = described.identifier ?? "";
    // vitest rewrites a file's imports to __vi_import_0__ and the like: say what that is.
    const what = /^__vi/.test(name) ? `a module imported by the file it was written in (vitest names it \`${name}\`)` : `\`${name}\``;
    return new ExecutorError(
      "ERR_EXECUTOR_SCOPE",
      `runInExecutor: the function uses ${what}, which is not defined in the worker thread. A function run in the ` +
        `executor cannot use variables or imports from the scope it was written in: pass values as arguments, ` +
        `import modules inside the function (await import(…)), or use the { module, export } form`,
      { identifier: name, cause: rebuildError({ ...described, code: undefined }) },
    );
  }
  if (described.code === "ERR_EXECUTOR_FUNCTION" || described.code === "ERR_EXECUTOR_CLONE") {
    return new ExecutorError(described.code, message);
  }
  const error = new (ERROR_TYPES[described.name ?? ""] ?? Error)(message);
  if (described.name && error.name !== described.name) error.name = described.name;
  if (described.code !== undefined) Object.assign(error, { code: described.code });
  if (described.stack !== undefined) error.stack = described.stack;
  return error;
}

/** `IOLoop`: the event loop's callbacks, timers and executor (re-exported by ../ioloop.ts). */

import { appLog } from "../log.js";
import { WorkerPool, type ModuleTask } from "./executor.js";


/**
 * What `callLater` and `callAt` return: pass it to `removeTimeout` to cancel the call.
 *
 * @example
 * const handle: TimeoutHandle = loop.callLater(1000, retry);
 * if (handle.when < loop.time() + 500) loop.removeTimeout(handle);
 */
export interface TimeoutHandle {
  /** When the call is due, on the `IOLoop.time()` clock. */
  readonly when: number;
}

// setTimeout refuses delays past 2^31 - 1 ms (it fires after 1 ms instead); longer waits re-arm.
const MAX_TIMER_DELAY = 2 ** 31 - 1;

class ScheduledCall implements TimeoutHandle {
  timer: NodeJS.Timeout | undefined;
  constructor(readonly when: number) {}
}

let current: IOLoop | undefined;

/**
 * This thread's event loop: callbacks, timers and the worker-thread executor. Get it with
 * `IOLoop.current()`; there is one per process (and one per worker thread).
 *
 * After `close()`, the closed loop refuses new work and `IOLoop.current()` returns a new one.
 *
 * @example
 * const loop = IOLoop.current();
 * loop.callLater(100, () => console.log("100 ms later"));
 */
export class IOLoop {
  private readonly timeouts = new Set<ScheduledCall>();
  private readonly callbacks = new Set<NodeJS.Immediate>();
  private executor: WorkerPool | undefined;
  private closed = false;

  private constructor() {}

  /**
   * This thread's loop, created on first use (again after `close()`).
   *
   * @example
   * const loop = IOLoop.current();
   */
  static current(): IOLoop {
    current ??= new IOLoop();
    return current;
  }

  /**
   * The loop's clock: monotonic milliseconds from an arbitrary start (it never jumps when the
   * wall clock is changed). Each thread has its own start, so never send a time to another thread.
   *
   * @example
   * const began = loop.time();
   * await work();
   * console.log(`took ${loop.time() - began} ms`);
   */
  time(): number {
    return performance.now();
  }

  /**
   * Calls `fn(...args)` on the next turn of the loop, after the current callback and the
   * promise jobs it queued, in the order `addCallback` was called. A throw, or a rejection of
   * the promise `fn` returns, is logged on `tornado.application` and goes no further.
   *
   * @example
   * loop.addCallback(flushBuffer, connection);
   */
  addCallback<A extends unknown[]>(fn: (...args: A) => unknown, ...args: A): void {
    this.checkOpen();
    const immediate = setImmediate(() => {
      this.callbacks.delete(immediate);
      runCallback(fn, args);
    });
    this.callbacks.add(immediate);
  }

  /**
   * Calls `fn(...args)` once `ms` milliseconds have passed, and returns a handle for
   * `removeTimeout`. Errors are logged as for `addCallback`.
   *
   * @example
   * const handle = loop.callLater(5000, () => socket.close());
   */
  callLater<A extends unknown[]>(ms: number, fn: (...args: A) => unknown, ...args: A): TimeoutHandle {
    return this.callAt(this.time() + checkDelay(ms, "callLater"), fn, ...args);
  }

  /**
   * Calls `fn(...args)` at `when` on the `time()` clock (a time already past runs on the next
   * turn), and returns a handle for `removeTimeout`. Errors are logged as for `addCallback`.
   *
   * @example
   * const deadline = loop.time() + 30_000;
   * loop.callAt(deadline, giveUp);
   */
  callAt<A extends unknown[]>(when: number, fn: (...args: A) => unknown, ...args: A): TimeoutHandle {
    this.checkOpen();
    if (Number.isNaN(when)) throw new TypeError("callAt: `when` must be a number on the IOLoop.time() clock");
    const call = new ScheduledCall(when);
    const arm = () => {
      const delay = Math.max(0, call.when - this.time());
      if (delay > MAX_TIMER_DELAY) {
        call.timer = setTimeout(arm, MAX_TIMER_DELAY);
        return;
      }
      call.timer = setTimeout(() => {
        this.timeouts.delete(call);
        runCallback(fn, args);
      }, delay);
    };
    arm();
    this.timeouts.add(call);
    return call;
  }

  /**
   * Cancels a call scheduled by `callLater` or `callAt`. Safe with a handle whose call has
   * already run or been removed, and with `undefined`.
   *
   * @example
   * const handle = loop.callLater(1000, retry);
   * loop.removeTimeout(handle); // retry never runs
   */
  removeTimeout(handle: TimeoutHandle | undefined | null): void {
    if (!(handle instanceof ScheduledCall) || !this.timeouts.delete(handle)) return;
    clearTimeout(handle.timer);
  }

  /**
   * Runs `fn(...args)` on a pool of worker threads and resolves to its result, so CPU-heavy
   * or blocking code does not stall the loop; the loop goes on serving while it runs.
   *
   * Functions cannot cross threads, so `fn` is sent as source text and rebuilt in the worker:
   * it must be self-contained, using only its arguments and globals (`await import()` for
   * packages and `node:` modules; a relative path would resolve from the working directory,
   * not from your file), never a variable from the scope it was written in; one that does is rejected
   * with an `ExecutorError` (`ERR_EXECUTOR_SCOPE`) naming the missing identifier. Arguments
   * and the result are copied with the structured clone algorithm (JSON-like values, Buffers,
   * Maps, Dates…); an error thrown in the worker rejects with its name, message, code and stack.
   *
   * Or give `{ module, export }` to call a function exported by a module, loaded once per
   * worker: compiled JavaScript, or TypeScript while the app runs from source (`tornado dev`,
   * vitest), so `new URL("./work.js", import.meta.url)` works before and after the build.
   *
   * The pool holds `os.availableParallelism()` threads, started on first use. Tasks beyond
   * that wait their turn in order. An idle pool never keeps the process alive. A worker that
   * crashes (uncaught error, `process.exit`) rejects its task with `ERR_WORKER_CRASHED` and is
   * replaced. `shutdownExecutor()` or `close()` rejects unfinished tasks with
   * `ERR_EXECUTOR_SHUTDOWN`.
   *
   * @example
   * const hash = await loop.runInExecutor(async (password: string, salt: string) => {
   *   const { scryptSync } = await import("node:crypto");
   *   return scryptSync(password, salt, 32).toString("hex");
   * }, password, salt);
   * const rows = await loop.runInExecutor({ module: new URL("./report.js", import.meta.url), export: "build" }, month);
   */
  runInExecutor<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Promise<Awaited<R>>;
  runInExecutor<R = unknown>(task: ModuleTask, ...args: unknown[]): Promise<R>;
  runInExecutor(task: ((...args: unknown[]) => unknown) | ModuleTask, ...args: unknown[]): Promise<unknown> {
    try {
      this.checkOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    this.executor ??= new WorkerPool();
    return this.executor.run(task, args);
  }

  /**
   * Terminates the executor's worker threads; tasks still running or waiting reject with
   * `ERR_EXECUTOR_SHUTDOWN`. A later `runInExecutor` starts a new pool.
   *
   * @example
   * process.once("SIGTERM", async () => { await server.close(); await IOLoop.current().shutdownExecutor(); });
   */
  async shutdownExecutor(): Promise<void> {
    const executor = this.executor;
    this.executor = undefined;
    await executor?.shutdown();
  }

  /**
   * Closes the loop: pending `addCallback` calls and timeouts are dropped (whatever awaits
   * them waits for ever), the executor is shut down, and this loop refuses new work (it
   * throws `ERR_IOLOOP_CLOSED`). `IOLoop.current()` then returns a new loop.
   *
   * @example
   * afterAll(() => IOLoop.current().close());
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (current === this) current = undefined;
    for (const immediate of this.callbacks) clearImmediate(immediate);
    for (const call of this.timeouts) clearTimeout(call.timer);
    this.callbacks.clear();
    this.timeouts.clear();
    await this.shutdownExecutor();
  }

  private checkOpen(): void {
    if (this.closed) {
      throw Object.assign(new Error("This IOLoop is closed; use IOLoop.current() for the running one"), { code: "ERR_IOLOOP_CLOSED" });
    }
  }
}

function checkDelay(ms: number, method: string): number {
  if (typeof ms !== "number" || Number.isNaN(ms)) throw new TypeError(`${method}: the delay must be a number of milliseconds`);
  return Math.max(0, ms);
}

// As Tornado's IOLoop._run_callback: the loop survives whatever a callback does.
function runCallback(fn: (...args: never[]) => unknown, args: unknown[]): void {
  const report = (error: unknown) => appLog.error(`Exception in callback ${fn.name || "(anonymous)"}`, error);
  try {
    const result = (fn as (...args: unknown[]) => unknown)(...args);
    if (isPromiseLike(result)) result.then(undefined, report);
  } catch (error) {
    report(error);
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") && value !== null && typeof (value as PromiseLike<unknown>).then === "function";
}

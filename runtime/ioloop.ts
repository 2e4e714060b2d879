/**
 * The event loop, as Tornado's `tornado.ioloop`: callbacks on the next turn of the loop, timers
 * on a monotonic clock, `PeriodicCallback`, and `runInExecutor` for CPU-heavy or blocking work
 * on a pool of worker threads, so the loop keeps serving while it runs.
 *
 * Node has one event loop per thread already; `IOLoop.current()` is this project's handle on it,
 * with Tornado's names and its error handling (a callback that throws is logged on
 * `tornado.application`, never thrown into the loop). Times are in milliseconds.
 *
 * @example
 * import { IOLoop, PeriodicCallback } from "tornado/ioloop";
 * const loop = IOLoop.current();
 * loop.addCallback(() => console.log("next turn"));
 * const handle = loop.callLater(500, () => console.log("half a second later"));
 * loop.removeTimeout(handle);
 * const digest = await loop.runInExecutor((text: string) => text.split("").reverse().join(""), "abc");
 * new PeriodicCallback(() => console.log("tick"), 1000).start();
 */

// Re-exports only: the loop is ioloop/loop.ts, PeriodicCallback ioloop/periodic.ts.
export { IOLoop, type TimeoutHandle } from "./ioloop/loop.js";
export { ExecutorError, type ExecutorErrorCode, type ModuleTask } from "./ioloop/executor.js";
export { PeriodicCallback } from "./ioloop/periodic.js";
export { installProcessGuards, removeProcessGuards, type ProcessGuardOptions } from "./ioloop/process-guard.js";

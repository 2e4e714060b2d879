/**
 * What a serving process does with an error nobody caught: a throw in a timer a handler set,
 * a promise it rejected and never awaited. Node's default ends the process, and with it every
 * request in flight; Tornado's IOLoop logs such errors and goes on serving. Once an
 * `HTTPServer` listens (or serves for `tornado dev`), this process does as Tornado does: the
 * error is logged on `tornado.application` with the route and request that caused it, and the
 * server keeps answering. A process that never serves keeps node's default.
 *
 * Knowing the request means carrying it through every timer and promise its handler starts
 * (an `AsyncLocalStorage`), which costs about a tenth of the CPU of a small request on Node 20
 * and 22 and about a twentieth on Node 24 and later (measured with wrk: bench/README.md). So it
 * is on from the start under `tornado dev`, with JSON logs (every line carries its request) or
 * with `trackRequests`; otherwise it starts with the first stray error, which is logged without
 * its request (its stack still shows where it came from).
 */

import type { HTTPServerRequest } from "../httputil/request.js";
import { appLog, logFormat } from "../log.js";
import { requestContext } from "../log/request-context.js";

// Carries the request through everything its handler starts (timers, promises, callbacks),
// so that an error surfacing there can say which request it belongs to.
const context = requestContext;
let installed = false;
// Requests are tracked from the start only under `tornado dev` (or as asked, below).
let tracking = process.env.TORNADO_DEV === "1";

function where(): string {
  if (!tracking) {
    tracking = true;
    return " (request not known: requests are tracked from now on)";
  }
  const current = context.getStore();
  return current === undefined ? "" : ` (route ${current.route}, ${current.request})`;
}

function onUncaughtException(error: unknown): void {
  appLog.error(`Uncaught exception in a callback${where()}: the server goes on serving`, error);
}

function onUnhandledRejection(reason: unknown): void {
  appLog.error(`Unhandled promise rejection${where()}: the server goes on serving`, reason);
}

/**
 * Options for `installProcessGuards`.
 *
 * @example
 * installProcessGuards({ trackRequests: true });
 */
export interface ProcessGuardOptions {
  /** Name the route and request of the very first stray error too, at some CPU cost per request. */
  trackRequests?: boolean;
}

/**
 * Makes this process log uncaught exceptions and unhandled rejections on
 * `tornado.application` and keep running, instead of exiting. Idempotent; `HTTPServer`
 * calls it when it starts listening, so an app only calls it for `trackRequests`.
 *
 * @example
 * installProcessGuards(); // a throw in a timer is now a log line, not the end of the process
 * installProcessGuards({ trackRequests: true }); // and every such line names its request
 */
export function installProcessGuards(options: ProcessGuardOptions = {}): void {
  if (options.trackRequests) tracking = true;
  if (installed) return;
  installed = true;
  process.on("uncaughtException", onUncaughtException);
  process.on("unhandledRejection", onUnhandledRejection);
}

/**
 * Gives node's default back: an uncaught exception or unhandled rejection ends the process
 * (for an app that prefers to crash and be restarted by its supervisor). Call it after
 * `listen()`.
 *
 * @example
 * await app.listen(8888);
 * removeProcessGuards();
 */
export function removeProcessGuards(): void {
  if (!installed) return;
  installed = false;
  process.off("uncaughtException", onUncaughtException);
  process.off("unhandledRejection", onUnhandledRejection);
}

/**
 * Runs `fn` (a request's handler) with `route` and `request` as the context an uncaught error
 * is reported with and every line logged meanwhile carries, once requests are tracked (see
 * above; with JSON logs they always are); otherwise `fn` runs as it is.
 *
 * @example
 * runForRequest("/users/:id", request, () => handler._execute(initArgs, args, kwargs), "user");
 */
export function runForRequest<T>(route: string, request: HTTPServerRequest, fn: () => T, name?: string): T {
  return (installed && tracking) || logFormat() === "json" ? context.run({ route, request, name }, fn) : fn();
}

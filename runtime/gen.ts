/**
 * Helpers for async code, as Tornado's `tornado.gen`: `sleep`, `withTimeout`, `multi`,
 * `WaitIterator`, and the `TimeoutError` that every timed wait of this package (`gen`, `locks`,
 * `queues`) rejects with. Times are in milliseconds.
 *
 * @example
 * import { multi, sleep, withTimeout, isTimeoutError } from "tornado/gen";
 * await sleep(100);
 * const { user, orders } = await multi({ user: db.user(id), orders: db.orders(id) });
 * try {
 *   await withTimeout(slowQuery(), 2000);
 * } catch (error) {
 *   if (isTimeoutError(error)) throw new HTTPError(504);
 *   throw error;
 * }
 */

import { appLog } from "./log.js";
import { watchDeadline } from "./gen/deadline.js";

export type { WaitOptions } from "./gen/deadline.js";
export { WaitIterator } from "./gen/wait-iterator.js";

/**
 * A wait ran out of time: `withTimeout`, and the `timeout` option of `Lock`, `Semaphore`,
 * `Event`, `Queue`… (as Tornado's `tornado.util.TimeoutError`).
 *
 * @example
 * try {
 *   await queue.get({ timeout: 1000 });
 * } catch (error) {
 *   if (error instanceof TimeoutError) return; // nothing arrived within a second
 *   throw error;
 * }
 */
export class TimeoutError extends Error {
  /** Stable code to match on. */
  readonly code = "ERR_TIMEOUT";
  constructor(message = "Timeout", options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TimeoutError";
  }
}

/**
 * Whether `error` means a timeout: a `TimeoutError` (from any copy of this package, matched by
 * its code) or the `DOMException` that `AbortSignal.timeout()` aborts with.
 *
 * @example
 * await withTimeout(fetchPrice(), 500).catch((e) => (isTimeoutError(e) ? cachedPrice : Promise.reject(e)));
 */
export function isTimeoutError(error: unknown): boolean {
  if (error instanceof TimeoutError) return true;
  if (typeof error !== "object" || error === null) return false;
  const { code, name } = error as { code?: unknown; name?: unknown };
  return code === "ERR_TIMEOUT" || (error instanceof DOMException && name === "TimeoutError");
}

/**
 * Resolves after `ms` milliseconds (a timer on the `IOLoop`), without blocking the loop.
 * Aborting `signal` cancels the timer and rejects with the signal's reason.
 *
 * @example
 * for (let attempt = 1; !(await tryConnect()); attempt++) await sleep(100 * 2 ** attempt);
 * await sleep(60_000, { signal: this.request.signal }); // ends early when the client leaves
 */
export function sleep(ms: number, options: { signal?: AbortSignal } = {}): Promise<void> {
  const { signal } = options;
  if (typeof ms !== "number" || Number.isNaN(ms)) return Promise.reject(new TypeError("sleep: ms must be a number of milliseconds"));
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => watchDeadline({ timeout: ms, signal }, resolve, reject));
}

/**
 * An error class, or several: failures of these types are not logged (see `withTimeout`, `multi`).
 *
 * @example
 * const quiet: QuietExceptions = [StreamClosedError, WebSocketClosedError];
 */
export type QuietExceptions = ErrorClass | readonly ErrorClass[];

type ErrorClass = abstract new (...args: any[]) => unknown;

/**
 * Settles as `promise` does, or rejects with `TimeoutError` once `ms` milliseconds have passed
 * (or with the reason of `signal` when it aborts), whichever comes first.
 *
 * As in Tornado, the wrapped promise is not cancelled: it runs on, and if it later rejects the
 * error is logged on `tornado.application`, unless it is an `AbortError` or one of
 * `quietExceptions`. To stop the work itself, give it an `AbortSignal` of its own.
 *
 * @example
 * const rows = await withTimeout(db.query(sql), 2000); // TimeoutError after 2 s
 * const page = await withTimeout(fetch(url, { signal }), 5000, { signal, quietExceptions: [TypeError] });
 */
export function withTimeout<T>(
  promise: PromiseLike<T> | T,
  ms: number,
  options: { signal?: AbortSignal; quietExceptions?: QuietExceptions } = {},
): Promise<T> {
  const { signal, quietExceptions } = options;
  return new Promise<T>((resolve, reject) => {
    let gaveUp = false;
    let disarm = () => {};
    const giveUp = (reason: unknown) => {
      gaveUp = true;
      reject(reason);
    };
    Promise.resolve(promise).then(
      (value) => {
        if (gaveUp) return;
        disarm();
        resolve(value);
      },
      (error) => {
        if (!gaveUp) {
          disarm();
          reject(error);
        } else if (!isQuiet(error, quietExceptions) && (error as { name?: unknown })?.name !== "AbortError") {
          appLog.error("Exception in promise after timeout", error);
        }
      },
    );
    if (typeof ms !== "number" || Number.isNaN(ms)) giveUp(new TypeError("withTimeout: ms must be a number of milliseconds"));
    else if (signal?.aborted) giveUp(signal.reason);
    else disarm = watchDeadline({ timeout: ms, signal }, () => giveUp(new TimeoutError(`Timed out after ${ms} ms`)), giveUp);
  });
}

type Results<T> = { -readonly [K in keyof T]: Awaited<T[K]> };

/**
 * Waits for every promise of an array (resolving to an array of results, in order) or of an
 * object (resolving to an object with the same keys), as Tornado's `gen.multi`.
 *
 * It settles once all of them have: if any rejected, it rejects with the error of the first one
 * (in array or key order) to have failed, and logs each other failure on `tornado.application`
 * ("Multiple exceptions in multi"), unless it is one of `quietExceptions`. Values that are not
 * promises are taken as they are.
 *
 * @example
 * const [user, orders] = await multi([db.user(id), db.orders(id)]);
 * const { weather, news } = await multi({ weather: getWeather(), news: getNews() });
 */
export function multi<const T extends readonly unknown[]>(children: T, options?: { quietExceptions?: QuietExceptions }): Promise<Results<T>>;
export function multi<T extends Record<string, unknown>>(children: T, options?: { quietExceptions?: QuietExceptions }): Promise<Results<T>>;
export async function multi(children: readonly unknown[] | Record<string, unknown>, options: { quietExceptions?: QuietExceptions } = {}): Promise<unknown> {
  const keys = Array.isArray(children) ? undefined : Object.keys(children);
  const values = keys ? keys.map((k) => (children as Record<string, unknown>)[k]) : (children as unknown[]);
  const settled = await Promise.allSettled(values);
  let failure: PromiseRejectedResult | undefined;
  for (const outcome of settled) {
    if (outcome.status === "fulfilled") continue;
    if (!failure) failure = outcome;
    else if (!isQuiet(outcome.reason, options.quietExceptions)) appLog.error("Multiple exceptions in multi", outcome.reason);
  }
  if (failure) throw failure.reason;
  const results = settled.map((outcome) => (outcome as PromiseFulfilledResult<unknown>).value);
  return keys ? Object.fromEntries(keys.map((k, i) => [k, results[i]])) : results;
}

function isQuiet(error: unknown, quiet: QuietExceptions | undefined): boolean {
  if (!quiet) return false;
  const types: readonly ErrorClass[] = Array.isArray(quiet) ? quiet : [quiet as ErrorClass];
  return types.some((type) => error instanceof type);
}

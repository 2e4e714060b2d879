/**
 * The deadline every wait in `gen`, `locks` and `queues` shares: a timeout on the `IOLoop`
 * clock and an `AbortSignal`, whichever comes first, disarmed once the wait is over.
 */

import { IOLoop } from "../ioloop/loop.js";

/**
 * How long a wait may last: `timeout` in milliseconds (0 gives up on the next turn of the loop
 * unless the wait is already over; absent waits for ever) and `signal` to abandon it.
 *
 * @example
 * await lock.acquire({ timeout: 500, signal: this.request.signal });
 */
export interface WaitOptions {
  /** Milliseconds before the wait fails with `TimeoutError` (Condition: resolves `false`). */
  timeout?: number;
  /** Aborting it ends the wait with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Calls `onTimeout` after `options.timeout` ms or `onAbort(reason)` when `options.signal`
 * aborts, whichever comes first, and at most once; returns the function that disarms both.
 * The caller deals with a signal that is already aborted.
 */
export function watchDeadline(options: WaitOptions, onTimeout: () => void, onAbort: (reason: unknown) => void): () => void {
  const { timeout, signal } = options;
  checkTimeout(timeout);
  const loop = IOLoop.current();
  let handle: ReturnType<IOLoop["callLater"]> | undefined;
  const disarm = () => {
    loop.removeTimeout(handle);
    signal?.removeEventListener("abort", abort);
  };
  const abort = () => {
    disarm();
    onAbort(signal!.reason);
  };
  if (timeout !== undefined && timeout !== Infinity) {
    handle = loop.callLater(Math.max(0, timeout), () => {
      disarm();
      onTimeout();
    });
  }
  signal?.addEventListener("abort", abort, { once: true });
  return disarm;
}

/** Refuses a timeout that is not a number of milliseconds. */
export function checkTimeout(timeout: number | undefined): void {
  if (timeout !== undefined && (typeof timeout !== "number" || Number.isNaN(timeout))) {
    throw new TypeError(`timeout must be a number of milliseconds, not ${String(timeout)}`);
  }
}

/**
 * A rejected promise when the wait cannot start (a bad timeout, a signal already aborted),
 * even if it would not have had to wait; otherwise `undefined`.
 */
export function refuseEarly(options: WaitOptions): Promise<never> | undefined {
  try {
    checkTimeout(options.timeout);
  } catch (error) {
    return Promise.reject(error);
  }
  if (options.signal?.aborted) return Promise.reject(options.signal.reason);
  return undefined;
}

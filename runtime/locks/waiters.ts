/**
 * A first-in, first-out line of waiters, shared by `locks` and `queues`. A waiter that times
 * out or is aborted leaves the line at once, so it can never take a later release or item.
 */

import { TimeoutError } from "../gen.js";
import { watchDeadline, type WaitOptions } from "../gen/deadline.js";

/** One waiter in line: settle it with `resolve` once it is served. */
export interface Waiter<T, D> {
  /** What the waiter brought (a `Queue` putter's item). */
  readonly data: D;
  resolve(value: T): void;
}

export class WaiterLine<T, D = undefined> {
  // A Set keeps insertion order and removes a waiter from anywhere in O(1).
  private readonly waiters = new Set<Waiter<T, D>>();

  get size(): number {
    return this.waiters.size;
  }

  /**
   * Joins the line. On timeout the waiter leaves and the promise rejects with `TimeoutError`,
   * or resolves with `onTimeout()` when given (Condition's `false`); on abort it leaves and
   * rejects with the signal's reason (also when the signal is already aborted).
   */
  join(options: WaitOptions, data: D, onTimeout?: () => T): Promise<T> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T, D> = {
        data,
        resolve: (value) => {
          disarm();
          resolve(value);
        },
      };
      const leave = () => this.waiters.delete(waiter);
      const disarm = watchDeadline(
        options,
        () => {
          leave();
          if (onTimeout) resolve(onTimeout());
          else reject(new TimeoutError());
        },
        (reason) => {
          leave();
          reject(reason);
        },
      );
      this.waiters.add(waiter);
    });
  }

  /** Takes the waiter at the head of the line out of it (it is still to be resolved). */
  shift(): Waiter<T, D> | undefined {
    const first = this.waiters.values().next();
    if (first.done) return undefined;
    this.waiters.delete(first.value);
    return first.value;
  }
}

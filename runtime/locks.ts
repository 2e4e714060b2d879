/**
 * Coordination between async tasks of one thread, as Tornado's `tornado.locks`: `Lock`,
 * `Event`, `Condition`, `Semaphore` and `BoundedSemaphore`. Nothing here blocks the loop; a
 * waiter is a promise.
 *
 * Common contract: waiters are served first come, first served. Every wait takes
 * `{ timeout, signal }`: after `timeout` ms it fails with gen's `TimeoutError` (a `Condition`
 * resolves `false`), when `signal` aborts it fails with the signal's reason, and either way
 * the waiter leaves the line, so a later release never goes to it. `timeout: 0` succeeds only
 * if the wait is over by the next turn of the loop.
 *
 * @example
 * import { Semaphore } from "tornado/locks";
 * const db = new Semaphore(10);                           // at most 10 queries at once
 * async function query(sql: string) {
 *   await using _slot = await db.acquire({ timeout: 2000 }); // TimeoutError after 2 s
 *   return pool.query(sql);                                // released when the block ends
 * }
 */

import { refuseEarly, type WaitOptions } from "./gen/deadline.js";
import { WaiterLine } from "./locks/waiters.js";

/**
 * What `Lock.acquire` and `Semaphore.acquire` resolve to: `release()` gives the lock or slot
 * back. It releases at most once (later calls do nothing), and is disposable, so `using` or
 * `await using` releases it when the block ends, however it ends.
 *
 * @example
 * {
 *   using held = await lock.acquire();
 *   await writeFile(path, data);
 * } // released here
 * const slot = await semaphore.acquire();
 * try { await work(); } finally { slot.release(); }
 */
export interface Releaser extends Disposable, AsyncDisposable {
  release(): void;
}

function releaserOf(release: () => void): Releaser {
  let released = false;
  const once = () => {
    if (released) return;
    released = true;
    release();
  };
  return {
    release: once,
    [Symbol.dispose]: once,
    [Symbol.asyncDispose]: async () => once(),
  };
}

function codedError<E extends Error>(error: E, code: string): E & { code: string } {
  return Object.assign(error, { code });
}

/**
 * A mutual-exclusion lock for async code: one holder at a time, the others wait in line.
 * Releasing a lock that is not held throws (`ERR_LOCK_NOT_LOCKED`).
 *
 * @example
 * const lock = new Lock();
 * async function append(line: string) {
 *   await using _held = await lock.acquire();
 *   await file.write(line); // one writer at a time
 * }
 */
export class Lock {
  private held = false;
  private readonly line = new WaiterLine<Releaser>();

  /**
   * Whether someone holds the lock.
   *
   * @example
   * if (lock.locked) log.info("waiting for the lock");
   */
  get locked(): boolean {
    return this.held;
  }

  /**
   * Takes the lock, waiting in line while another holder has it; resolves to its `Releaser`.
   * Rejects with `TimeoutError` after `timeout` ms, or with the reason of `signal`.
   *
   * @example
   * const held = await lock.acquire({ timeout: 1000 });
   * try { await critical(); } finally { held.release(); }
   */
  acquire(options: WaitOptions = {}): Promise<Releaser> {
    const early = refuseEarly(options);
    if (early) return early;
    if (!this.held) {
      this.held = true;
      return Promise.resolve(this.releaser());
    }
    return this.line.join(options, undefined);
  }

  /**
   * Releases the lock: the first waiter in line gets it, else it is free. Throws when it is
   * not held.
   *
   * @example
   * await lock.acquire();
   * lock.release();
   */
  release(): void {
    if (!this.held) throw codedError(new Error("release unlocked lock"), "ERR_LOCK_NOT_LOCKED");
    const next = this.line.shift();
    if (next) next.resolve(this.releaser());
    else this.held = false;
  }

  private releaser(): Releaser {
    return releaserOf(() => this.release());
  }
}

/**
 * A counter of free slots: `acquire()` takes one (waiting in line when there is none),
 * `release()` gives one back. It caps how many tasks use a resource at once.
 *
 * @example
 * const slots = new Semaphore(4);
 * await Promise.all(urls.map(async (url) => {
 *   await using _slot = await slots.acquire();
 *   return fetch(url);        // at most 4 requests in flight
 * }));
 */
export class Semaphore {
  protected count: number;
  private readonly line = new WaiterLine<Releaser>();

  /**
   * @param value how many slots are free at the start (an integer >= 0; default 1).
   *
   * @example
   * const dbSlots = new Semaphore(10);
   */
  constructor(value = 1) {
    if (!Number.isInteger(value) || value < 0) throw new RangeError("Semaphore: the initial value must be an integer >= 0");
    this.count = value;
  }

  /**
   * How many slots are free now.
   *
   * @example
   * if (semaphore.value === 0) this.setHeader("Retry-After", "1");
   */
  get value(): number {
    return this.count;
  }

  /**
   * Takes a slot, waiting in line while there is none; resolves to its `Releaser`. Rejects
   * with `TimeoutError` after `timeout` ms, or with the reason of `signal`.
   *
   * @example
   * let slot: Releaser;
   * try { slot = await semaphore.acquire({ timeout: 100 }); }
   * catch (error) { if (error instanceof TimeoutError) throw new HTTPError(503); throw error; }
   */
  acquire(options: WaitOptions = {}): Promise<Releaser> {
    const early = refuseEarly(options);
    if (early) return early;
    if (this.count > 0) {
      this.count--;
      return Promise.resolve(this.releaser());
    }
    return this.line.join(options, undefined);
  }

  /**
   * Gives a slot back: the first waiter in line gets it, else the count goes up.
   *
   * @example
   * const slot = await semaphore.acquire();
   * semaphore.release(); // the same as slot.release()
   */
  release(): void {
    const next = this.line.shift();
    if (next) next.resolve(this.releaser());
    else this.count++;
  }

  private releaser(): Releaser {
    return releaserOf(() => this.release());
  }
}

/**
 * A `Semaphore` that refuses to be released more times than it was acquired: `release()`
 * beyond the initial value throws a `RangeError` (`ERR_SEMAPHORE_OVER_RELEASED`), since that is
 * a bug in the caller.
 *
 * @example
 * const slots = new BoundedSemaphore(2);
 * slots.release(); // throws: nothing was acquired
 */
export class BoundedSemaphore extends Semaphore {
  private readonly initial: number;

  constructor(value = 1) {
    super(value);
    this.initial = value;
  }

  /**
   * Gives a slot back, as `Semaphore.release`; throws when every slot is already free.
   *
   * @example
   * const slot = await slots.acquire();
   * slot.release();
   */
  override release(): void {
    if (this.count >= this.initial) throw codedError(new RangeError("Semaphore released too many times"), "ERR_SEMAPHORE_OVER_RELEASED");
    super.release();
  }
}

/**
 * A flag that tasks can wait for: `wait()` resolves once it is set (at once if it already
 * is), until `clear()` lowers it again.
 *
 * @example
 * const ready = new Event();
 * void loadConfig().then(() => ready.set());
 * await ready.wait({ timeout: 5000 }); // TimeoutError if not loaded within 5 s
 */
export class Event {
  private flag = false;
  private readonly line = new WaiterLine<void>();

  /**
   * Whether the flag is set.
   *
   * @example
   * if (!ready.isSet()) this.setStatus(503);
   */
  isSet(): boolean {
    return this.flag;
  }

  /**
   * Sets the flag and wakes every waiter; later `wait()`s resolve at once.
   *
   * @example
   * shutdown.set();
   */
  set(): void {
    if (this.flag) return;
    this.flag = true;
    for (let waiter = this.line.shift(); waiter; waiter = this.line.shift()) waiter.resolve();
  }

  /**
   * Lowers the flag: `wait()` waits again until the next `set()`.
   *
   * @example
   * ready.clear();
   */
  clear(): void {
    this.flag = false;
  }

  /**
   * Resolves once the flag is set. Rejects with `TimeoutError` after `timeout` ms, or with the
   * reason of `signal`.
   *
   * @example
   * await shutdown.wait({ signal: AbortSignal.timeout(60_000) });
   */
  wait(options: WaitOptions = {}): Promise<void> {
    const early = refuseEarly(options);
    if (early) return early;
    if (this.flag) return Promise.resolve();
    return this.line.join(options, undefined);
  }
}

/**
 * Lets tasks wait until another notifies them. Unlike a threading condition it has no lock of
 * its own. A notification reaches only those already waiting.
 *
 * @example
 * const changed = new Condition();
 * async function watch() {
 *   while (await changed.wait({ timeout: 30_000 })) await push(latest);
 * }
 * function update(value: string) { latest = value; changed.notifyAll(); }
 */
export class Condition {
  private readonly line = new WaiterLine<boolean>();

  /**
   * Resolves `true` when notified, or `false` once `timeout` ms have passed without a
   * notification (Tornado's contract: no `TimeoutError` here). Rejects with the reason of
   * `signal` when it aborts.
   *
   * @example
   * const notified = await condition.wait({ timeout: 1000 });
   */
  wait(options: WaitOptions = {}): Promise<boolean> {
    const early = refuseEarly(options);
    if (early) return early;
    return this.line.join(options, undefined, () => false);
  }

  /**
   * Wakes the first `n` waiters in line (fewer if fewer are waiting).
   *
   * @example
   * condition.notify(); // one waiter
   */
  notify(n = 1): void {
    for (let i = 0; i < n; i++) {
      const waiter = this.line.shift();
      if (!waiter) return;
      waiter.resolve(true);
    }
  }

  /**
   * Wakes every waiter.
   *
   * @example
   * condition.notifyAll();
   */
  notifyAll(): void {
    this.notify(this.line.size);
  }
}

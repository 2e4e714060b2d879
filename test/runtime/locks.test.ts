import { describe, expect, it } from "vitest";
import { TimeoutError, sleep } from "../../runtime/gen.js";
import { BoundedSemaphore, Condition, Event, Lock, Semaphore, type Releaser } from "../../runtime/locks.js";
import { thrownBy } from "../helpers/serve.js";

/** Settles pending promise jobs and the loop's next turn. */
const tick = () => sleep(0);

/** Whether the promise has settled by the next turn of the loop. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await tick();
  return done;
}


describe("Lock", () => {
  it("acquire() takes a free lock at once; others wait, and get it in the order they asked", async () => {
    const lock = new Lock();
    expect(lock.locked).toBe(false);
    const first = await lock.acquire();
    expect(lock.locked).toBe(true);
    const order: string[] = [];
    const waiters = ["a", "b", "c"].map((name) => lock.acquire().then((held) => (order.push(name), held)));
    await tick();
    expect(order).toEqual([]);
    first.release();
    (await waiters[0]!).release();
    (await waiters[1]!).release();
    (await waiters[2]!).release();
    expect(order).toEqual(["a", "b", "c"]);
    expect(lock.locked).toBe(false);
  });

  it("release() of a lock nobody holds throws ERR_LOCK_NOT_LOCKED", () => {
    expect(thrownBy(() => new Lock().release())).toMatchObject({ message: "release unlocked lock", code: "ERR_LOCK_NOT_LOCKED" });
  });

  // This type-checks with lib ES2023, as in the apps' tsconfig: @types/node declares Disposable.
  it("is released at the end of an `await using` or `using` block, even when the block throws", async () => {
    const lock = new Lock();
    await expect(
      (async () => {
        await using _held = await lock.acquire();
        expect(lock.locked).toBe(true);
        throw new Error("inside");
      })(),
    ).rejects.toThrow("inside");
    expect(lock.locked).toBe(false);
    {
      using _held = await lock.acquire();
      expect(lock.locked).toBe(true);
    }
    expect(lock.locked).toBe(false);
  });

  it("a releaser releases once: later release() calls and the end of its block do nothing", async () => {
    const lock = new Lock();
    {
      using held = await lock.acquire();
      held.release();
      held.release();
      const next = await lock.acquire({ timeout: 100 }); // taken by someone else now
      expect(lock.locked).toBe(true);
      next.release();
    }
    expect(lock.locked).toBe(false);
  });

  it("a waiter that times out rejects with TimeoutError and leaves the line, so the next release skips it", async () => {
    const lock = new Lock();
    const held = await lock.acquire();
    const impatient = lock.acquire({ timeout: 50 }).catch((e: unknown) => e);
    const patient = lock.acquire();
    expect(await impatient).toBeInstanceOf(TimeoutError);
    held.release();
    const next = await patient; // the lock went past the timed-out waiter
    next.release();
    expect(lock.locked).toBe(false);
    const onlyTimedOut = await lock.acquire();
    const gone = lock.acquire({ timeout: 20 }).catch((e: unknown) => e);
    expect(await gone).toBeInstanceOf(TimeoutError);
    onlyTimedOut.release();
    expect(lock.locked).toBe(false); // nobody left in line took it
  });

  it("a waiter whose signal aborts rejects with the reason and leaves the line; an aborted signal fails at once", async () => {
    const lock = new Lock();
    const held = await lock.acquire();
    const controller = new AbortController();
    const aborted = lock.acquire({ signal: controller.signal }).catch((e: unknown) => e);
    controller.abort(new Error("client left"));
    expect(await aborted).toMatchObject({ message: "client left" });
    held.release();
    expect(lock.locked).toBe(false);
    await expect(lock.acquire({ signal: controller.signal })).rejects.toThrow("client left");
    expect(lock.locked).toBe(false);
  });

  it("timeout: 0 takes a free lock, and fails on the next turn when it is held", async () => {
    const lock = new Lock();
    const held = await lock.acquire({ timeout: 0 });
    await expect(lock.acquire({ timeout: 0 })).rejects.toThrow(TimeoutError);
    held.release();
  });

  it("refuses a timeout that is not a number", async () => {
    await expect(new Lock().acquire({ timeout: Number.NaN })).rejects.toThrow(TypeError);
  });
});

describe("Semaphore(value)", () => {
  it("lets value holders in at once, queues the rest first come first served, and counts free slots", async () => {
    const semaphore = new Semaphore(2);
    const a = await semaphore.acquire();
    await semaphore.acquire();
    expect(semaphore.value).toBe(0);
    const order: number[] = [];
    const waiting = [1, 2].map((n) => semaphore.acquire().then((slot) => (order.push(n), slot)));
    expect(await settled(waiting[0]!)).toBe(false);
    a.release();
    await tick();
    expect(order).toEqual([1]);
    semaphore.release();
    await Promise.all(waiting);
    expect(order).toEqual([1, 2]);
    expect(semaphore.value).toBe(0);
    (await waiting[0]!).release();
    (await waiting[1]!).release();
    expect(semaphore.value).toBe(2);
  });

  it("acquire({ timeout }) → releaser, as the slow-db template uses it to cap concurrency", async () => {
    const semaphore = new Semaphore(1);
    const run = async (ms: number) => {
      let slot: Releaser;
      try {
        slot = await semaphore.acquire({ timeout: 100 });
      } catch (error) {
        if (error instanceof TimeoutError) return 503;
        throw error;
      }
      try {
        await sleep(ms);
        return 200;
      } finally {
        slot.release();
      }
    };
    expect(await Promise.all([run(400), run(10)])).toEqual([200, 503]);
    expect(semaphore.value).toBe(1);
  });

  it("a timed-out or aborted waiter no longer takes a later release", async () => {
    const semaphore = new Semaphore(0);
    const controller = new AbortController();
    const timedOut = semaphore.acquire({ timeout: 30 }).catch((e: unknown) => e);
    const aborted = semaphore.acquire({ signal: controller.signal }).catch((e: unknown) => e);
    const patient = semaphore.acquire();
    controller.abort(new Error("gone"));
    expect(await timedOut).toBeInstanceOf(TimeoutError);
    expect(await aborted).toMatchObject({ message: "gone" });
    semaphore.release();
    await patient;
    expect(semaphore.value).toBe(0);
    semaphore.release();
    expect(semaphore.value).toBe(1); // nobody else was in line
  });

  it("can be released beyond its initial value (a BoundedSemaphore cannot)", () => {
    const semaphore = new Semaphore(1);
    semaphore.release();
    expect(semaphore.value).toBe(2);
  });

  it("refuses a negative or fractional initial value", () => {
    expect(() => new Semaphore(-1)).toThrow(RangeError);
    expect(() => new Semaphore(1.5)).toThrow(RangeError);
  });
});

describe("BoundedSemaphore(value)", () => {
  it("throws a RangeError (ERR_SEMAPHORE_OVER_RELEASED) when released more than acquired", async () => {
    const semaphore = new BoundedSemaphore(2);
    expect(thrownBy(() => semaphore.release())).toMatchObject({ name: "RangeError", code: "ERR_SEMAPHORE_OVER_RELEASED" });
    const slot = await semaphore.acquire();
    slot.release();
    expect(semaphore.value).toBe(2);
    expect(() => semaphore.release()).toThrow(RangeError);
  });

  it("hands a release to a waiter as a Semaphore does", async () => {
    const semaphore = new BoundedSemaphore(1);
    const held = await semaphore.acquire();
    const next = semaphore.acquire();
    held.release();
    (await next).release();
    expect(semaphore.value).toBe(1);
  });
});

describe("Event", () => {
  it("wait() resolves every waiter once set(), and at once while it is set; clear() makes it wait again", async () => {
    const event = new Event();
    expect(event.isSet()).toBe(false);
    const waiters = [event.wait(), event.wait()];
    expect(await settled(waiters[0]!)).toBe(false);
    event.set();
    event.set();
    expect(event.isSet()).toBe(true);
    await Promise.all(waiters);
    await event.wait();
    event.clear();
    expect(event.isSet()).toBe(false);
    expect(await settled(event.wait({ timeout: 1000 }))).toBe(false);
    event.set();
  });

  it("wait({ timeout }) rejects with TimeoutError; wait({ signal }) with the signal's reason", async () => {
    const event = new Event();
    await expect(event.wait({ timeout: 30 })).rejects.toThrow(TimeoutError);
    const controller = new AbortController();
    const aborted = event.wait({ signal: controller.signal }).catch((e: unknown) => e);
    controller.abort(new Error("stop waiting"));
    expect(await aborted).toMatchObject({ message: "stop waiting" });
    await expect(event.wait({ signal: controller.signal })).rejects.toThrow("stop waiting");
  });
});

describe("Condition", () => {
  it("notify(n) wakes the first n waiters in order, with true; notifyAll() the rest", async () => {
    const condition = new Condition();
    const woken: number[] = [];
    const waiters = [1, 2, 3, 4].map((n) => condition.wait().then((value) => (woken.push(n), value)));
    condition.notify();
    await tick();
    expect(woken).toEqual([1]);
    condition.notify(2);
    await tick();
    expect(woken).toEqual([1, 2, 3]);
    condition.notifyAll();
    expect(await Promise.all(waiters)).toEqual([true, true, true, true]);
    expect(woken).toEqual([1, 2, 3, 4]);
  });

  it("a notification reaches only those already waiting", async () => {
    const condition = new Condition();
    condition.notify();
    expect(await condition.wait({ timeout: 30 })).toBe(false);
  });

  it("wait({ timeout }) resolves false, as Tornado, and the timed-out waiter does not use up a notify", async () => {
    const condition = new Condition();
    const impatient = condition.wait({ timeout: 30 });
    const patient = condition.wait();
    expect(await impatient).toBe(false);
    condition.notify();
    expect(await patient).toBe(true);
  });

  it("wait({ signal }) rejects with the signal's reason and leaves the line", async () => {
    const condition = new Condition();
    const controller = new AbortController();
    const aborted = condition.wait({ signal: controller.signal }).catch((e: unknown) => e);
    const patient = condition.wait();
    controller.abort(new Error("no more"));
    expect(await aborted).toMatchObject({ message: "no more" });
    condition.notify();
    expect(await patient).toBe(true);
  });
});

import { describe, expect, it } from "vitest";
import { TimeoutError, isTimeoutError, multi, sleep, withTimeout } from "../../runtime/gen.js";
import { IOLoop } from "../../runtime/ioloop.js";
import { captureLogs } from "../helpers/logs.js";

const now = () => IOLoop.current().time();

/** A promise that settles after ms with value, or rejects with error. */
function later<T>(ms: number, value: T): Promise<T>;
function later(ms: number, value: unknown, error: Error): Promise<never>;
function later(ms: number, value: unknown, error?: Error): Promise<unknown> {
  return new Promise((resolve, reject) => setTimeout(() => (error ? reject(error) : resolve(value)), ms));
}

class QuietError extends Error {}

describe("sleep(ms, { signal })", () => {
  it("resolves once ms have passed", async () => {
    const started = now();
    await sleep(150);
    expect(now() - started).toBeGreaterThanOrEqual(140);
  });

  it("rejects with the signal's reason when it aborts, and at once when it already has", async () => {
    const controller = new AbortController();
    const started = now();
    setTimeout(() => controller.abort(new Error("client left")), 50);
    await expect(sleep(10_000, { signal: controller.signal })).rejects.toThrow("client left");
    expect(now() - started).toBeLessThan(1000);
    await expect(sleep(10, { signal: controller.signal })).rejects.toThrow("client left");
  });

  it("refuses a duration that is not a number", async () => {
    await expect(sleep(Number.NaN)).rejects.toThrow(TypeError);
  });
});

describe("withTimeout(promise, ms, { signal, quietExceptions })", () => {
  it("settles as the promise does when it is in time", async () => {
    expect(await withTimeout(later(20, "in time"), 1000)).toBe("in time");
    await expect(withTimeout(later(20, null, new RangeError("failed in time")), 1000)).rejects.toThrow(RangeError);
    expect(await withTimeout(42, 10)).toBe(42);
  });

  it("rejects with TimeoutError (code ERR_TIMEOUT) once ms have passed", async () => {
    const started = now();
    const error = await withTimeout(new Promise(() => {}), 150).catch((e: unknown) => e);
    expect(now() - started).toBeGreaterThanOrEqual(140);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ name: "TimeoutError", code: "ERR_TIMEOUT", message: "Timed out after 150 ms" });
    expect(isTimeoutError(error)).toBe(true);
  });

  it("logs on tornado.application a rejection that comes after the timeout, unless it is quiet or an AbortError", async () => {
    const logs = captureLogs("tornado.application");
    try {
      const late = new Error("late failure");
      await expect(withTimeout(later(100, null, late), 20)).rejects.toThrow(TimeoutError);
      await expect(withTimeout(later(100, null, new QuietError("quiet")), 20, { quietExceptions: [QuietError] })).rejects.toThrow(TimeoutError);
      await expect(withTimeout(later(100, null, new QuietError("quiet")), 20, { quietExceptions: QuietError })).rejects.toThrow(TimeoutError);
      const aborted = Object.assign(new Error("aborted"), { name: "AbortError" });
      await expect(withTimeout(later(100, null, aborted), 20)).rejects.toThrow(TimeoutError);
      await later(200, null);
      expect(logs.records.map((r) => [r.message, r.error])).toEqual([["Exception in promise after timeout", late]]);
    } finally {
      logs.stop();
    }
  });

  it("rejects with the signal's reason when it aborts first, and at once when it already has", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("cancelled")), 30);
    await expect(withTimeout(new Promise(() => {}), 10_000, { signal: controller.signal })).rejects.toThrow("cancelled");
    await expect(withTimeout(later(10, "value"), 10_000, { signal: controller.signal })).rejects.toThrow("cancelled");
  });

  it("keeps the same signature the slow-db template uses: withTimeout(promise, ms) + TimeoutError", async () => {
    const query = (ms: number) => later(ms, [{ id: 1 }]);
    const answer = async (ms: number) => {
      try {
        return { status: 200, rows: await withTimeout(query(ms), 100) };
      } catch (error) {
        if (error instanceof TimeoutError) return { status: 504 };
        throw error;
      }
    };
    expect(await answer(10)).toEqual({ status: 200, rows: [{ id: 1 }] });
    expect(await answer(400)).toEqual({ status: 504 });
  });
});

describe("isTimeoutError(error)", () => {
  it("is true for TimeoutError, anything with code ERR_TIMEOUT, and AbortSignal.timeout()'s reason", async () => {
    expect(isTimeoutError(new TimeoutError())).toBe(true);
    expect(isTimeoutError(Object.assign(new Error("from another copy"), { code: "ERR_TIMEOUT" }))).toBe(true);
    const signal = AbortSignal.timeout(10);
    await later(50, null);
    expect(isTimeoutError(signal.reason)).toBe(true);
    expect(isTimeoutError(new Error("Timeout"))).toBe(false);
    expect(isTimeoutError(new DOMException("aborted", "AbortError"))).toBe(false);
    expect(isTimeoutError("ERR_TIMEOUT")).toBe(false);
    expect(isTimeoutError(null)).toBe(false);
  });
});

describe("multi(children, { quietExceptions })", () => {
  it("resolves an array to its results in order, whatever order they settle in", async () => {
    const results: [string, number, string] = await multi([later(60, "slow"), 2, later(10, "fast")]);
    expect(results).toEqual(["slow", 2, "fast"]);
    expect(await multi([])).toEqual([]);
  });

  it("resolves an object to an object with the same keys", async () => {
    const { user, orders } = await multi({ user: later(30, { id: 7 }), orders: later(10, [1, 2]) });
    expect(user).toEqual({ id: 7 });
    expect(orders).toEqual([1, 2]);
    expect(await multi({})).toEqual({});
  });

  it("as Tornado, waits for every child, rejects with the first failure in order and logs the others", async () => {
    const logs = captureLogs("tornado.application");
    try {
      const first = new Error("first in order");
      const second = new Error("second in order");
      let slowFinished = false;
      const slow = later(150, "slow").then((v) => {
        slowFinished = true;
        return v;
      });
      const error = await multi([slow, later(80, null, first), later(10, null, second)]).catch((e: unknown) => e);
      expect(error).toBe(first); // not `second`, though it failed first
      expect(slowFinished).toBe(true);
      expect(logs.records.map((r) => [r.message, r.error])).toEqual([["Multiple exceptions in multi", second]]);
    } finally {
      logs.stop();
    }
  });

  it("does not log the other failures of quietExceptions types", async () => {
    const logs = captureLogs("tornado.application");
    try {
      const error = await multi({ a: later(10, null, new QuietError("a")), b: later(10, null, new QuietError("b")) }, { quietExceptions: [QuietError] }).catch(
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ message: "a" });
      expect(logs.records).toEqual([]);
    } finally {
      logs.stop();
    }
  });
});

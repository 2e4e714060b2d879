import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { availableParallelism } from "node:os";
import { threadId } from "node:worker_threads";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { ExecutorError, IOLoop, PeriodicCallback } from "../../runtime/ioloop.js";
import { captureLogs } from "../helpers/logs.js";
import { repoRoot } from "../helpers/cli.js";
import { thrownBy } from "../helpers/serve.js";

const tasks = new URL("./fixtures/executor-tasks.mjs", import.meta.url);

/** Resolves after ms, on the loop's timers (faked in the PeriodicCallback tests). */
const sleep = (ms: number) => new Promise<void>((resolve) => IOLoop.current().callLater(ms, resolve));

/** Resolves on the loop's next turn, after the callbacks already added. */
const nextTurn = () => new Promise<void>((resolve) => IOLoop.current().addCallback(resolve));


afterAll(() => IOLoop.current().shutdownExecutor());

describe("IOLoop.current()", () => {
  it("is one loop for the thread, and a new one once it is closed", async () => {
    const loop = IOLoop.current();
    expect(IOLoop.current()).toBe(loop);
    let ran = false;
    loop.callLater(20, () => (ran = true));
    loop.addCallback(() => (ran = true));
    await loop.close();
    expect(IOLoop.current()).not.toBe(loop);
    expect(thrownBy(() => loop.addCallback(() => {}))).toMatchObject({ code: "ERR_IOLOOP_CLOSED" });
    expect(thrownBy(() => loop.callLater(10, () => {}))).toMatchObject({ code: "ERR_IOLOOP_CLOSED" });
    await expect(loop.runInExecutor(() => 1)).rejects.toMatchObject({ code: "ERR_IOLOOP_CLOSED" });
    await sleep(100);
    expect(ran).toBe(false); // the closed loop dropped what was pending
  });
});

describe("IOLoop.time()", () => {
  it("is a monotonic clock in milliseconds", async () => {
    const loop = IOLoop.current();
    const before = loop.time();
    await sleep(150);
    const elapsed = loop.time() - before;
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(2000);
  });
});

describe("IOLoop.addCallback(fn, ...args)", () => {
  it("runs on the next turn of the loop, after the current code and its promise jobs, in order", async () => {
    const loop = IOLoop.current();
    const order: string[] = [];
    loop.addCallback((name: string, n: number) => order.push(`${name}${n}`), "a", 1);
    loop.addCallback(() => order.push("b"));
    void Promise.resolve().then(() => order.push("promise job"));
    order.push("sync");
    await nextTurn();
    expect(order).toEqual(["sync", "promise job", "a1", "b"]);
  });

  it("logs a throw or a rejection on tornado.application and goes on with the next callbacks", async () => {
    const logs = captureLogs("tornado.application");
    try {
      const loop = IOLoop.current();
      const thrown = new Error("thrown");
      const rejected = new Error("rejected");
      let after = false;
      loop.addCallback(function explode() {
        throw thrown;
      });
      loop.addCallback(async function reject() {
        throw rejected;
      });
      loop.addCallback(() => (after = true));
      await nextTurn();
      await nextTurn();
      expect(after).toBe(true);
      expect(logs.records.map((r) => [r.level, r.message, r.error])).toEqual([
        ["error", "Exception in callback explode", thrown],
        ["error", "Exception in callback reject", rejected],
      ]);
    } finally {
      logs.stop();
    }
  });
});

describe("IOLoop.callLater / callAt / removeTimeout", () => {
  it("callLater(ms, fn, ...args) runs fn with its arguments once ms have passed", async () => {
    const loop = IOLoop.current();
    const started = loop.time();
    const ran = await new Promise<[number, string]>((resolve) => loop.callLater(150, (word: string) => resolve([loop.time() - started, word]), "late"));
    expect(ran[1]).toBe("late");
    expect(ran[0]).toBeGreaterThanOrEqual(140);
    expect(ran[0]).toBeLessThan(1500);
  });

  it("callAt(when) runs at a time on the time() clock, at once when it is past, and returns a handle with when", async () => {
    const loop = IOLoop.current();
    const order: string[] = [];
    const when = loop.time() + 120;
    const handle = loop.callAt(when, () => order.push("at"));
    expect(handle.when).toBe(when);
    loop.callAt(loop.time() - 1000, () => order.push("past"));
    await sleep(40);
    expect(order).toEqual(["past"]);
    await sleep(200);
    expect(order).toEqual(["past", "at"]);
  });

  it("removeTimeout(handle) cancels the call, and is harmless for a call already run or removed", async () => {
    const loop = IOLoop.current();
    let ran = 0;
    const cancelled = loop.callLater(50, () => ran++);
    loop.removeTimeout(cancelled);
    loop.removeTimeout(cancelled);
    const done = loop.callLater(0, () => ran++);
    await sleep(120);
    loop.removeTimeout(done);
    loop.removeTimeout(undefined);
    expect(ran).toBe(1);
  });

  it("waits longer than setTimeout's 2^31 - 1 ms limit instead of firing at once", async () => {
    const loop = IOLoop.current();
    let ran = false;
    const handle = loop.callLater(2 ** 31 + 1000, () => (ran = true));
    await sleep(100);
    expect(ran).toBe(false);
    loop.removeTimeout(handle);
  });

  it("logs a timer callback's error on tornado.application", async () => {
    const logs = captureLogs("tornado.application");
    try {
      const boom = new Error("boom");
      IOLoop.current().callLater(10, function failing() {
        throw boom;
      });
      await sleep(100);
      expect(logs.records.map((r) => [r.message, r.error])).toEqual([["Exception in callback failing", boom]]);
    } finally {
      logs.stop();
    }
  });

  it("refuses a delay that is not a number", () => {
    expect(() => IOLoop.current().callLater(Number.NaN, () => {})).toThrow(TypeError);
  });
});

describe("IOLoop.runInExecutor(fn, ...args)", () => {
  const loop = () => IOLoop.current();

  it("runs a self-contained function with its arguments on another thread and resolves to its result", async () => {
    const result = await loop().runInExecutor(
      async (text: string, times: number) => {
        const { threadId } = await import("node:worker_threads");
        const { createHash } = await import("node:crypto");
        return { threadId, digest: createHash("sha256").update(text.repeat(times)).digest("hex").slice(0, 8) };
      },
      "ab",
      3,
    );
    expect(result.digest).toBe("36ff120f"); // sha256("ababab")
    expect(result.threadId).not.toBe(threadId);
  });

  it("keeps the loop serving while a 500 ms busy loop runs in the executor", async () => {
    await loop().runInExecutor(() => 0); // a thread is up, so only the task is measured
    const started = loop().time();
    let busyDoneAt: number | undefined;
    const busy = loop()
      .runInExecutor((ms: number) => {
        const end = Date.now() + ms;
        while (Date.now() < end);
        return "done";
      }, 500)
      .then((value) => {
        busyDoneAt = loop().time() - started;
        return value;
      });
    const firedAt = await new Promise<number>((resolve) => loop().callLater(100, () => resolve(loop().time() - started)));
    expect(firedAt).toBeGreaterThanOrEqual(90);
    expect(firedAt).toBeLessThan(350); // on time, not after the 500 ms of work
    expect(busyDoneAt).toBeUndefined();
    expect(await busy).toBe("done");
    expect(busyDoneAt).toBeGreaterThanOrEqual(450);
  });

  it("runs more tasks than threads, on at most availableParallelism() threads", async () => {
    const results = await Promise.all(
      Array.from({ length: availableParallelism() * 3 }, (_, i) =>
        loop().runInExecutor(async (n: number) => {
          const { threadId } = await import("node:worker_threads");
          await new Promise((resolve) => setTimeout(resolve, 20));
          return { n, threadId };
        }, i),
      ),
    );
    expect(results.map((r) => r.n)).toEqual([...Array(availableParallelism() * 3).keys()]);
    expect(new Set(results.map((r) => r.threadId)).size).toBeLessThanOrEqual(availableParallelism());
  });

  it("runs an object's method given on its own", async () => {
    const math = {
      square(n: number) {
        function times(a: number, b: number) {
          return a * b;
        }
        return times(n, n);
      },
    };
    expect(await loop().runInExecutor(math.square, 12)).toBe(144);
  });

  it("rejects a function that uses a variable of its scope with ERR_EXECUTOR_SCOPE naming it", async () => {
    const limit = 10;
    const error = await loop()
      .runInExecutor((n: number) => Math.min(n, limit), 50)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExecutorError);
    expect(error).toMatchObject({ code: "ERR_EXECUTOR_SCOPE", identifier: "limit" });
    expect((error as Error).message).toMatch(/uses `limit`, which is not defined in the worker thread.*pass values as arguments/);
  });

  it("says so when the function uses a module imported by its file", async () => {
    const error = await loop()
      .runInExecutor((text: string) => createHash("sha1").update(text).digest("hex"), "x")
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_EXECUTOR_SCOPE" });
    expect((error as Error).message).toMatch(/uses (`createHash`|a module imported by the file it was written in)/);
  });

  it("rejects with the worker's error, keeping its class, message, code and stack", async () => {
    const error = await loop()
      .runInExecutor((path: string) => {
        throw Object.assign(new RangeError(`no such file: ${path}`), { code: "ENOENT_LIKE" });
      }, "/nope")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RangeError);
    expect(error).toMatchObject({ message: "no such file: /nope", code: "ENOENT_LIKE" });
    expect((error as Error).stack).toContain("no such file: /nope");
    expect(await loop().runInExecutor(() => Promise.reject("plain string")).catch((e: unknown) => e)).toBe("plain string");
  });

  it("rejects arguments or results that cannot cross threads with ERR_EXECUTOR_CLONE", async () => {
    await expect(loop().runInExecutor((f: () => number) => f(), () => 1)).rejects.toMatchObject({ code: "ERR_EXECUTOR_CLONE" });
    await expect(loop().runInExecutor(() => () => 1)).rejects.toMatchObject({ code: "ERR_EXECUTOR_CLONE", message: /result cannot be sent back/ });
    expect(await loop().runInExecutor((m: Map<string, Date>) => m.get("when")!.getUTCFullYear(), new Map([["when", new Date("2024-05-01")]]))).toBe(2024);
  });

  it("refuses built-in and bound functions, classes and other values with a clear error", async () => {
    await expect(loop().runInExecutor(Math.max, 1, 2)).rejects.toMatchObject({ code: "ERR_EXECUTOR_FUNCTION", message: /built-in or bound/ });
    await expect(loop().runInExecutor(function (this: unknown) { return this; }.bind(null))).rejects.toMatchObject({ code: "ERR_EXECUTOR_FUNCTION" });
    await expect(loop().runInExecutor(class Worker {} as never)).rejects.toMatchObject({ code: "ERR_EXECUTOR_FUNCTION" });
    await expect(loop().runInExecutor(42 as never)).rejects.toThrow(TypeError);
  });

  it("calls a module's export with { module, export }, loading the module once per thread", async () => {
    expect(await loop().runInExecutor<string>({ module: tasks, export: "sha256" }, "abc")).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
    expect(await loop().runInExecutor({ module: tasks }, 21)).toBe(42); // export defaults to "default"
    const a = await loop().runInExecutor<{ threadId: number; calls: number }>({ module: tasks.pathname, export: "countCalls" });
    const b = await loop().runInExecutor<{ threadId: number; calls: number }>({ module: tasks.href, export: "countCalls" });
    if (a.threadId === b.threadId) expect(b.calls).toBe(a.calls + 1);
  });

  it("loads a TypeScript module named by its .js URL while the app runs from source", async () => {
    const module = new URL("./fixtures/executor-shout.js", import.meta.url); // executor-shout.ts
    expect(await loop().runInExecutor({ module, export: "shout" }, "hey")).toBe("HEY!");
  });

  it("rejects a missing export or a relative module path with a message saying what to pass", async () => {
    await expect(loop().runInExecutor({ module: tasks, export: "nope" })).rejects.toMatchObject({
      code: "ERR_EXECUTOR_FUNCTION",
      message: expect.stringMatching(/no exported function "nope" \(it exports .*sha256/),
    });
    await expect(loop().runInExecutor({ module: "./work.js", export: "x" })).rejects.toThrow(/new URL\("\.\/work\.js", import\.meta\.url\)/);
    await expect(loop().runInExecutor({ module: new URL("./fixtures/missing.mjs", import.meta.url) })).rejects.toMatchObject({ code: "ERR_MODULE_NOT_FOUND" });
  });

  it("replaces a worker that crashes, after failing its task with ERR_WORKER_CRASHED", async () => {
    const whoAmI = async () => (await import("node:worker_threads")).threadId;
    const exited = await loop().runInExecutor(() => process.exit(3)).catch((e: unknown) => e);
    expect(exited).toMatchObject({ code: "ERR_WORKER_CRASHED", message: /exited with code 3/ });
    const uncaught = await loop()
      .runInExecutor(() => {
        setTimeout(() => {
          throw new Error("uncaught in the worker");
        });
        return new Promise(() => {});
      })
      .catch((e: unknown) => e);
    expect(uncaught).toMatchObject({ code: "ERR_WORKER_CRASHED", message: /uncaught in the worker/ });
    const threads = await Promise.all(Array.from({ length: availableParallelism() * 2 }, () => loop().runInExecutor(whoAmI)));
    expect(new Set(threads).size).toBeLessThanOrEqual(availableParallelism());
  });

  it("shutdownExecutor() rejects running and waiting tasks with ERR_EXECUTOR_SHUTDOWN; the next task starts a new pool", async () => {
    const forever = () => new Promise(() => {});
    const pending = Array.from({ length: availableParallelism() + 1 }, () => loop().runInExecutor(forever).catch((e: unknown) => e));
    await sleep(100);
    await loop().shutdownExecutor();
    for (const error of await Promise.all(pending)) expect(error).toMatchObject({ code: "ERR_EXECUTOR_SHUTDOWN" });
    expect(await loop().runInExecutor((n: number) => n + 1, 1)).toBe(2);
  });

  it("close() shuts the executor down too", async () => {
    const closing = IOLoop.current();
    const running = closing.runInExecutor(() => new Promise(() => {})).catch((e: unknown) => e);
    await sleep(100);
    await closing.close();
    expect(await running).toMatchObject({ code: "ERR_EXECUTOR_SHUTDOWN" });
  });

  it("keeps the process alive while a task runs, and an idle pool lets it exit", async () => {
    const { code, output } = await runUnderTsx(`
      import { IOLoop } from ${JSON.stringify(new URL("../../runtime/ioloop.ts", import.meta.url).href)};
      const result = await IOLoop.current().runInExecutor((ms) => {
        const end = Date.now() + ms;
        while (Date.now() < end);
        return "worked " + ms;
      }, 300);
      console.log(result);`);
    expect(output.trim()).toBe("worked 300");
    expect(code).toBe(0); // not 13 (top-level await left unsettled), not killed (the pool kept it alive)
  });

  it("under tsx (tornado dev), loads a TypeScript module named by its .js URL", async () => {
    const { code, output } = await runUnderTsx(`
      import { IOLoop } from ${JSON.stringify(new URL("../../runtime/ioloop.ts", import.meta.url).href)};
      const module = new URL("./fixtures/executor-shout.js", ${JSON.stringify(import.meta.url)});
      console.log(await IOLoop.current().runInExecutor({ module, export: "shout" }, "hey"));`);
    expect(output.trim()).toBe("HEY!");
    expect(code).toBe(0);
  });
});

/** Runs an ES module script in a new node process with tsx's loader, as `tornado dev` runs apps. */
async function runUnderTsx(script: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  clearTimeout(killer);
  return { code, output };
}

describe("PeriodicCallback(fn, ms, jitter)", () => {
  const fakeTime = () => vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setImmediate", "clearImmediate", "performance"] });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("calls fn every ms from start() until stop(), and reports isRunning()", async () => {
    fakeTime();
    const loop = IOLoop.current();
    const started = loop.time();
    const calls: number[] = [];
    const periodic = new PeriodicCallback(() => calls.push(Math.round(loop.time() - started)), 100);
    expect(periodic.isRunning()).toBe(false);
    periodic.start();
    periodic.start(); // already running: no second schedule
    expect(periodic.isRunning()).toBe(true);
    await vi.advanceTimersByTimeAsync(350);
    periodic.stop();
    expect(periodic.isRunning()).toBe(false);
    await vi.advanceTimersByTimeAsync(500);
    expect(calls).toEqual([100, 200, 300]);
  });

  it("never overlaps an async fn: a slow call skips the ticks it overran and resumes on schedule", async () => {
    fakeTime();
    const loop = IOLoop.current();
    const started = loop.time();
    const calls: number[] = [];
    let running = 0;
    let mostAtOnce = 0;
    const periodic = new PeriodicCallback(async () => {
      calls.push(Math.round(loop.time() - started));
      mostAtOnce = Math.max(mostAtOnce, ++running);
      await sleep(250);
      running--;
    }, 100);
    periodic.start();
    await vi.advanceTimersByTimeAsync(1050);
    periodic.stop();
    expect(mostAtOnce).toBe(1);
    expect(calls).toEqual([100, 400, 700, 1000]); // as Tornado: 200 and 300 skipped, then every third tick
  });

  it("does not overlap when restarted while a call is still running", async () => {
    fakeTime();
    let running = 0;
    let mostAtOnce = 0;
    let calls = 0;
    const periodic = new PeriodicCallback(async () => {
      calls++;
      mostAtOnce = Math.max(mostAtOnce, ++running);
      await sleep(250);
      running--;
    }, 100);
    periodic.start();
    await vi.advanceTimersByTimeAsync(150); // first call running
    periodic.stop();
    periodic.start();
    await vi.advanceTimersByTimeAsync(1000);
    periodic.stop();
    expect(mostAtOnce).toBe(1);
    expect(calls).toBeGreaterThan(1);
  });

  it("logs fn's errors on tornado.application and keeps the schedule", async () => {
    fakeTime();
    const logs = captureLogs("tornado.application");
    try {
      let calls = 0;
      const periodic = new PeriodicCallback(async function flaky() {
        calls++;
        throw new Error(`failure ${calls}`);
      }, 100);
      periodic.start();
      await vi.advanceTimersByTimeAsync(350);
      periodic.stop();
      expect(calls).toBe(3);
      expect(logs.records.map((r) => r.message)).toEqual(Array(3).fill("Exception in callback flaky"));
    } finally {
      logs.stop();
    }
  });

  it("with jitter, draws each period within ±jitter/2 of ms", async () => {
    fakeTime();
    const loop = IOLoop.current();
    const random = vi.spyOn(Math, "random");
    try {
      const calls: number[] = [];
      const started = loop.time();
      const periodic = new PeriodicCallback(() => calls.push(Math.round(loop.time() - started)), 100, 0.2);
      random.mockReturnValueOnce(1).mockReturnValueOnce(0).mockReturnValue(0.5);
      periodic.start();
      await vi.advanceTimersByTimeAsync(350);
      periodic.stop();
      expect(calls).toEqual([110, 200, 300]); // +10%, then -10%, then exactly ms
    } finally {
      random.mockRestore();
    }
  });

  it("refuses a period that is not a positive number, and a negative jitter", () => {
    expect(() => new PeriodicCallback(() => {}, 0)).toThrow(RangeError);
    expect(() => new PeriodicCallback(() => {}, -5)).toThrow(RangeError);
    expect(() => new PeriodicCallback(() => {}, Number.NaN)).toThrow(RangeError);
    expect(() => new PeriodicCallback(() => {}, 100, -1)).toThrow(RangeError);
  });
});

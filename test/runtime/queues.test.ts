import { describe, expect, it } from "vitest";
import { TimeoutError, sleep } from "../../runtime/gen.js";
import { LifoQueue, PriorityQueue, Queue, QueueEmpty, QueueFull } from "../../runtime/queues.js";
import { thrownBy } from "../helpers/serve.js";

const tick = () => sleep(0);


describe("Queue({ maxsize })", () => {
  it("hands items out first in, first out, and reports qsize(), empty() and full()", async () => {
    const queue = new Queue<string>({ maxsize: 3 });
    expect([queue.qsize(), queue.empty(), queue.full(), queue.maxsize]).toEqual([0, true, false, 3]);
    await queue.put("a");
    queue.putNowait("b");
    await queue.put("c");
    expect([queue.qsize(), queue.empty(), queue.full()]).toEqual([3, false, true]);
    expect([await queue.get(), queue.getNowait(), await queue.get()]).toEqual(["a", "b", "c"]);
    expect(new Queue().full()).toBe(false); // no maxsize, never full
  });

  it("getNowait() on an empty queue throws QueueEmpty; putNowait() on a full one throws QueueFull", () => {
    const queue = new Queue<number>({ maxsize: 1 });
    const empty = thrownBy(() => queue.getNowait());
    expect(empty).toBeInstanceOf(QueueEmpty);
    expect(empty).toMatchObject({ name: "QueueEmpty", code: "ERR_QUEUE_EMPTY" });
    queue.putNowait(1);
    const full = thrownBy(() => queue.putNowait(2));
    expect(full).toBeInstanceOf(QueueFull);
    expect(full).toMatchObject({ name: "QueueFull", code: "ERR_QUEUE_FULL" });
  });

  it("get() waits for a put, and waiting getters are served in the order they came", async () => {
    const queue = new Queue<string>();
    const got: string[] = [];
    const getters = [1, 2].map((n) => queue.get().then((item) => got.push(`${n}:${item}`)));
    await tick();
    expect(got).toEqual([]);
    queue.putNowait("x");
    await queue.put("y");
    await Promise.all(getters);
    expect(got).toEqual(["1:x", "2:y"]);
    expect(queue.qsize()).toBe(0);
  });

  it("put() on a full queue waits until a get() makes room, putters in the order they came", async () => {
    const queue = new Queue<number>({ maxsize: 1 });
    await queue.put(1);
    let putDone = false;
    const second = queue.put(2).then(() => (putDone = true));
    const third = queue.put(3);
    await tick();
    expect(putDone).toBe(false);
    expect(queue.getNowait()).toBe(1);
    await second;
    expect(queue.qsize()).toBe(1);
    expect(await queue.get()).toBe(2);
    await third;
    expect(await queue.get()).toBe(3);
  });

  it("put({ timeout }) rejects with TimeoutError and its item is never added", async () => {
    const queue = new Queue<string>({ maxsize: 1 });
    queue.putNowait("kept");
    await expect(queue.put("dropped", { timeout: 30 })).rejects.toThrow(TimeoutError);
    expect(queue.getNowait()).toBe("kept");
    expect(queue.empty()).toBe(true);
    await queue.put("next", { timeout: 0 }); // room now: no wait
    expect(queue.getNowait()).toBe("next");
  });

  it("get({ timeout }) rejects with TimeoutError, and the timed-out getter does not take a later item", async () => {
    const queue = new Queue<string>();
    const impatient = queue.get({ timeout: 30 }).catch((e: unknown) => e);
    const patient = queue.get();
    expect(await impatient).toBeInstanceOf(TimeoutError);
    queue.putNowait("only");
    expect(await patient).toBe("only");
    const lateGetter = queue.get({ timeout: 20 }).catch((e: unknown) => e);
    expect(await lateGetter).toBeInstanceOf(TimeoutError);
    queue.putNowait("stays");
    expect(queue.qsize()).toBe(1); // nobody took it
  });

  it("an aborted get() or put() rejects with the signal's reason and leaves the line", async () => {
    const queue = new Queue<string>({ maxsize: 1 });
    const controller = new AbortController();
    const getter = queue.get({ signal: controller.signal }).catch((e: unknown) => e);
    controller.abort(new Error("shutting down"));
    expect(await getter).toMatchObject({ message: "shutting down" });
    queue.putNowait("a");
    expect(queue.qsize()).toBe(1);
    const putController = new AbortController();
    const putter = queue.put("b", { signal: putController.signal }).catch((e: unknown) => e);
    putController.abort(new Error("never mind"));
    expect(await putter).toMatchObject({ message: "never mind" });
    expect(queue.getNowait()).toBe("a");
    expect(queue.empty()).toBe(true); // "b" was not added
    await expect(queue.get({ signal: controller.signal })).rejects.toThrow("shutting down");
  });

  it("join() resolves once every item put in got its taskDone(); one taskDone() too many throws", async () => {
    const queue = new Queue<number>();
    await queue.join({ timeout: 0 }); // nothing pending
    queue.putNowait(1);
    queue.putNowait(2);
    await expect(queue.join({ timeout: 30 })).rejects.toThrow(TimeoutError);
    let joined = false;
    const joining = queue.join().then(() => (joined = true));
    await queue.get();
    queue.taskDone();
    await tick();
    expect(joined).toBe(false);
    await queue.get();
    queue.taskDone();
    await joining;
    expect(thrownBy(() => queue.taskDone())).toMatchObject({ name: "RangeError", code: "ERR_TASK_DONE_TOO_MANY", message: "taskDone() called too many times" });
  });

  it("for await (const item of queue) gets items as they come", async () => {
    const queue = new Queue<string>();
    const seen: string[] = [];
    const consumer = (async () => {
      for await (const item of queue) {
        if (item === "stop") break;
        seen.push(item);
        queue.taskDone();
      }
    })();
    await queue.put("a");
    await sleep(20);
    await queue.put("b");
    await queue.put("stop");
    await consumer;
    expect(seen).toEqual(["a", "b"]);
  });

  it("keeps first in, first out over thousands of items taken while others are added", () => {
    const queue = new Queue<number>();
    const out: number[] = [];
    for (let n = 0; n < 5000; n++) {
      queue.putNowait(n);
      if (n % 3 === 0) out.push(queue.getNowait());
    }
    while (!queue.empty()) out.push(queue.getNowait());
    expect(out).toEqual([...Array(5000).keys()]);
  });

  it("refuses a negative or fractional maxsize", () => {
    expect(() => new Queue({ maxsize: -1 })).toThrow(RangeError);
    expect(() => new Queue({ maxsize: 1.5 })).toThrow(RangeError);
  });
});

describe("PriorityQueue", () => {
  it("hands out the smallest [priority, item] tuple first, comparing element by element", async () => {
    const queue = new PriorityQueue<[number, string]>();
    for (const entry of [[1, "medium"], [0, "high"], [10, "low"], [1, "also medium"]] as [number, string][]) queue.putNowait(entry);
    const out: [number, string][] = [];
    while (!queue.empty()) out.push(await queue.get());
    expect(out).toEqual([[0, "high"], [1, "also medium"], [1, "medium"], [10, "low"]]);
  });

  it("orders by compare when given, and honours maxsize", async () => {
    const queue = new PriorityQueue<{ name: string; deadline: number }>({ maxsize: 2, compare: (a, b) => a.deadline - b.deadline });
    queue.putNowait({ name: "later", deadline: 20 });
    queue.putNowait({ name: "sooner", deadline: 5 });
    expect(() => queue.putNowait({ name: "overflow", deadline: 1 })).toThrow(QueueFull);
    expect(queue.getNowait().name).toBe("sooner");
    expect(queue.getNowait().name).toBe("later");
  });

  it("keeps heap order over many random items", () => {
    const queue = new PriorityQueue<[number]>();
    const values = Array.from({ length: 500 }, () => Math.floor(Math.random() * 1000));
    for (const v of values) queue.putNowait([v]);
    const out = values.map(() => queue.getNowait()[0]);
    expect(out).toEqual([...values].sort((a, b) => a - b));
  });
});

describe("LifoQueue", () => {
  it("hands out the most recently added item first", async () => {
    const queue = new LifoQueue<number>();
    for (const n of [1, 2, 3]) await queue.put(n);
    expect([queue.getNowait(), await queue.get(), queue.getNowait()]).toEqual([3, 2, 1]);
  });
});

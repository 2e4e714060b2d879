import { afterEach, describe, expect, it } from "vitest";
import { Application, Event, RequestHandler, WaitIterator, createTestServer, type TestServer } from "../../runtime/index.js";
import { WaitIterator as fromGen } from "../../runtime/gen.js";

/** A promise and the functions that settle it (resolve or reject), for deciding the order of completion. */
function settleable<T>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("WaitIterator", () => {
  it("is exported from tornado/gen and from tornado", () => {
    expect(fromGen).toBe(WaitIterator);
  });

  it("gives results in the order they settle, with currentIndex and currentFuture of each", async () => {
    const [a, b, c] = [settleable<string>(), settleable<string>(), settleable<string>()];
    const it = new WaitIterator([a.promise, b.promise, c.promise]);
    expect(it.currentIndex).toBeNull();
    const seen: Array<[string, number | string | null, unknown]> = [];
    const consume = (async () => {
      while (!it.done()) {
        const value = await it.next();
        seen.push([value, it.currentIndex, it.currentFuture]);
      }
    })();
    b.resolve("b");
    await Promise.resolve();
    c.resolve("c");
    a.resolve("a");
    await consume;
    expect(seen).toEqual([
      ["b", 1, b.promise],
      ["c", 2, c.promise],
      ["a", 0, a.promise],
    ]);
    expect(it.done()).toBe(true);
    expect(it.currentIndex).toBeNull();
    expect(it.currentFuture).toBeNull();
  });

  it("names each result by its key when given an object", async () => {
    const slow = settleable<number>();
    const it = new WaitIterator({ slow: slow.promise, fast: Promise.resolve(1) });
    expect(await it.next()).toBe(1);
    expect(it.currentIndex).toBe("fast");
    slow.resolve(2);
    expect(await it.next()).toBe(2);
    expect(it.currentIndex).toBe("slow");
    expect(it.done()).toBe(true);
  });

  it("keeps going past a failure: next() rejects with that input's error and the rest still come", async () => {
    const failing = settleable<string>();
    const ok = settleable<string>();
    const it = new WaitIterator([ok.promise, failing.promise]);
    failing.reject(new Error("db down"));
    await expect(it.next()).rejects.toThrow("db down");
    expect(it.currentIndex).toBe(1);
    expect(it.currentFuture).toBe(failing.promise);
    ok.resolve("fine");
    expect(await it.next()).toBe("fine");
    expect(it.currentIndex).toBe(0);
    expect(it.done()).toBe(true);
  });

  it("works with for await, which stops at the first failure as Tornado's async for does", async () => {
    const values: number[] = [];
    for await (const value of new WaitIterator([Promise.resolve(1), 2, Promise.resolve(3)])) values.push(value);
    expect(values).toEqual([1, 2, 3]); // settled together: in the order given

    const later = settleable<number>();
    const seen: number[] = [];
    const loop = (async () => {
      for await (const value of new WaitIterator([later.promise, Promise.reject(new Error("boom")), Promise.resolve(7)])) seen.push(value);
    })();
    await expect(loop).rejects.toThrow("boom");
    expect(seen).toEqual([]);
    later.resolve(1);
  });

  it("answers next() calls made before any result in call order", async () => {
    const [a, b] = [settleable<string>(), settleable<string>()];
    const it = new WaitIterator([a.promise, b.promise]);
    const first = it.next();
    const second = it.next();
    await expect(it.next()).rejects.toThrow("WaitIterator: next() called more times than there are inputs");
    b.resolve("b");
    a.resolve("a");
    expect(await first).toBe("b");
    expect(await second).toBe("a");
    expect(it.done()).toBe(true);
  });

  it("is done at once with no inputs, and refuses what is not an array or an object", async () => {
    const it = new WaitIterator([]);
    expect(it.done()).toBe(true);
    const values: unknown[] = [];
    for await (const value of it) values.push(value);
    expect(values).toEqual([]);
    expect(() => new WaitIterator("ab" as never)).toThrow(TypeError);
    expect(() => new WaitIterator(null as never)).toThrow(TypeError);
  });

  it("gives the same promise twice when it is given twice", async () => {
    const shared = Promise.resolve("x");
    const it = new WaitIterator([shared, shared]);
    expect(await it.next()).toBe("x");
    expect(it.currentIndex).toBe(0);
    expect(await it.next()).toBe("x");
    expect(it.currentIndex).toBe(1);
  });
});

describe("WaitIterator over real requests", () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("gives the response that arrives first first, whatever the order of the requests", async () => {
    const release = new Event();
    class SlowHandler extends RequestHandler {
      async get() {
        await release.wait();
        this.write("slow");
      }
    }
    class FastHandler extends RequestHandler {
      get() {
        this.write("fast");
      }
    }
    server = await createTestServer(new Application([["/slow", SlowHandler], ["/fast", FastHandler]]));
    const t = server;
    const get = async (path: string) => (await t.fetch(path)).text();
    const it = new WaitIterator([get("/slow"), get("/fast")]);
    expect(await it.next()).toBe("fast");
    expect(it.currentIndex).toBe(1);
    release.set(); // the slow response can only come now
    expect(await it.next()).toBe("slow");
    expect(it.currentIndex).toBe(0);
    expect(it.done()).toBe(true);
  });
});

/**
 * Queues between async tasks of one thread, as Tornado's `tornado.queues`: `Queue` (first in,
 * first out), `PriorityQueue` (smallest first) and `LifoQueue` (last in, first out).
 *
 * Common contract: `get()` waits while the queue is empty, `put()` while it is full (only when
 * it has a `maxsize`); waiting getters and putters are served first come, first served. Each
 * takes `{ timeout, signal }`: after `timeout` ms it rejects with gen's `TimeoutError`, when
 * `signal` aborts with the signal's reason, and either way the waiter leaves the line (a
 * timed-out `put` never adds its item). Queues are never closed: stop consumers yourself.
 *
 * @example
 * import { Queue } from "tornado/queues";
 * const jobs = new Queue<string>({ maxsize: 100 });
 * async function worker() {
 *   for await (const url of jobs) {
 *     try { await crawl(url); } finally { jobs.taskDone(); }
 *   }
 * }
 * for (let i = 0; i < 5; i++) void worker();
 * await jobs.put("https://example.com/"); // waits while 100 are queued
 * await jobs.join();                      // every item got its taskDone()
 */

import { Event } from "./locks.js";
import { refuseEarly, type WaitOptions } from "./gen/deadline.js";
import { WaiterLine } from "./locks/waiters.js";
import { FifoStore, HeapStore, LifoStore, naturalOrder, type ItemStore } from "./queues/stores.js";

/**
 * `getNowait()` on an empty queue.
 *
 * @example
 * try { queue.getNowait(); } catch (error) { if (error instanceof QueueEmpty) return; throw error; }
 */
export class QueueEmpty extends Error {
  /** Stable code to match on. */
  readonly code = "ERR_QUEUE_EMPTY";
  constructor(message = "The queue is empty") {
    super(message);
    this.name = "QueueEmpty";
  }
}

/**
 * `putNowait()` on a queue that holds `maxsize` items.
 *
 * @example
 * try { queue.putNowait(job); } catch (error) { if (error instanceof QueueFull) throw new HTTPError(503); throw error; }
 */
export class QueueFull extends Error {
  /** Stable code to match on. */
  readonly code = "ERR_QUEUE_FULL";
  constructor(message = "The queue is full") {
    super(message);
    this.name = "QueueFull";
  }
}

/**
 * Options of `Queue` and `LifoQueue`.
 *
 * @example
 * const queue = new Queue<Job>({ maxsize: 10 } satisfies QueueOptions);
 */
export interface QueueOptions {
  /** How many items it holds before `put()` waits; 0 (the default) for no limit. */
  maxsize?: number;
}

/**
 * A first-in, first-out queue for async producers and consumers, with back-pressure when it has
 * a `maxsize`, and `taskDone()`/`join()` to wait until every item has been dealt with.
 *
 * `for await (const item of queue)` gets items one by one for ever (it never ends by itself:
 * `break` out of it, or put a sentinel item).
 *
 * @example
 * const queue = new Queue<number>({ maxsize: 2 });
 * await queue.put(1);
 * await queue.put(2);
 * const third = queue.put(3);       // waits: the queue is full
 * console.log(await queue.get());   // 1, and 3 goes in
 */
export class Queue<T> implements AsyncIterable<T> {
  /** How many items it holds before `put()` waits (0: no limit). */
  readonly maxsize: number;
  private readonly items: ItemStore<T>;
  private readonly getters = new WaiterLine<T>();
  private readonly putters = new WaiterLine<void, T>();
  private unfinishedTasks = 0;
  private readonly finished = new Event();

  constructor(options: QueueOptions = {}) {
    const maxsize = options.maxsize ?? 0;
    if (!Number.isInteger(maxsize) || maxsize < 0) throw new RangeError("Queue: maxsize must be an integer >= 0 (0 for no limit)");
    this.maxsize = maxsize;
    this.items = this.createStore(options);
    this.finished.set();
  }

  /** The order items come out in; subclasses override it. */
  protected createStore(_options: QueueOptions): ItemStore<T> {
    return new FifoStore<T>();
  }

  /**
   * How many items are in the queue (not counting puts still waiting).
   *
   * @example
   * this.write({ pending: queue.qsize() });
   */
  qsize(): number {
    return this.items.length;
  }

  /**
   * Whether the queue holds no item.
   *
   * @example
   * if (queue.empty()) await refill(queue);
   */
  empty(): boolean {
    return this.items.length === 0;
  }

  /**
   * Whether it holds `maxsize` items (never, without a `maxsize`).
   *
   * @example
   * if (queue.full()) throw new HTTPError(503);
   */
  full(): boolean {
    return this.maxsize > 0 && this.items.length >= this.maxsize;
  }

  /**
   * Puts an item in, waiting in line while the queue is full. Rejects with `TimeoutError`
   * after `timeout` ms, or with the reason of `signal`; the item is then not added.
   *
   * @example
   * await queue.put(job, { timeout: 1000 });
   */
  put(item: T, options: WaitOptions = {}): Promise<void> {
    const early = refuseEarly(options);
    if (early) return early;
    if (this.getters.size > 0 || !this.full()) {
      this.putNowait(item);
      return Promise.resolve();
    }
    return this.putters.join(options, item);
  }

  /**
   * Puts an item in without waiting: it goes to the first waiting getter, or into the queue;
   * throws `QueueFull` when the queue is full.
   *
   * @example
   * queue.putNowait(event);
   */
  putNowait(item: T): void {
    const getter = this.getters.shift();
    if (getter) {
      this.putInternal(item);
      getter.resolve(this.items.take());
    } else if (this.full()) {
      throw new QueueFull();
    } else {
      this.putInternal(item);
    }
  }

  /**
   * Takes the next item out, waiting in line while the queue is empty. Rejects with
   * `TimeoutError` after `timeout` ms, or with the reason of `signal`; no item is then taken.
   *
   * @example
   * const job = await queue.get({ signal: shutdown.signal });
   */
  get(options: WaitOptions = {}): Promise<T> {
    const early = refuseEarly(options);
    if (early) return early;
    if (this.items.length > 0 || this.putters.size > 0) return Promise.resolve(this.getNowait());
    return this.getters.join(options, undefined);
  }

  /**
   * Takes the next item out without waiting (letting the first waiting put in); throws
   * `QueueEmpty` when there is none.
   *
   * @example
   * const batch: Job[] = [];
   * while (!queue.empty() && batch.length < 100) batch.push(queue.getNowait());
   */
  getNowait(): T {
    const putter = this.putters.shift();
    if (putter) {
      this.putInternal(putter.data);
      putter.resolve();
      return this.items.take();
    }
    if (this.items.length > 0) return this.items.take();
    throw new QueueEmpty();
  }

  /**
   * Tells the queue that an item taken out has been dealt with; `join()` resolves once every
   * item put in has had its `taskDone()`. Calling it more times than items were put in
   * throws a `RangeError` (`ERR_TASK_DONE_TOO_MANY`).
   *
   * @example
   * const job = await queue.get();
   * try { await run(job); } finally { queue.taskDone(); }
   */
  taskDone(): void {
    if (this.unfinishedTasks <= 0) {
      throw Object.assign(new RangeError("taskDone() called too many times"), { code: "ERR_TASK_DONE_TOO_MANY" });
    }
    this.unfinishedTasks--;
    if (this.unfinishedTasks === 0) this.finished.set();
  }

  /**
   * Resolves once every item put in has had its `taskDone()` (at once if none is pending).
   * Rejects with `TimeoutError` after `timeout` ms, or with the reason of `signal`.
   *
   * @example
   * for (const url of urls) await queue.put(url);
   * await queue.join({ timeout: 60_000 });
   */
  join(options: WaitOptions = {}): Promise<void> {
    return this.finished.wait(options);
  }

  /**
   * Items one by one, each from `get()`, for ever.
   *
   * @example
   * for await (const message of inbox) {
   *   if (message === "stop") break;
   *   handle(message);
   *   inbox.taskDone();
   * }
   */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return { next: async () => ({ value: await this.get(), done: false }) };
  }

  private putInternal(item: T): void {
    this.unfinishedTasks++;
    this.finished.clear();
    this.items.push(item);
  }
}

/**
 * Options of `PriorityQueue`.
 *
 * @example
 * const options: PriorityQueueOptions<Job> = { compare: (a, b) => a.deadline - b.deadline };
 */
export interface PriorityQueueOptions<T> extends QueueOptions {
  /** Orders items, smallest first (negative: `a` before `b`); default: Python's tuple order. */
  compare?: (a: T, b: T) => number;
}

/**
 * A queue that hands out the smallest item first. By default items are `[priority, item]`
 * tuples compared element by element, as in Python (so equal priorities compare the next
 * element: add a counter as the second element to keep them first in, first out); or give
 * `compare`.
 *
 * @example
 * const queue = new PriorityQueue<[number, string]>();
 * queue.putNowait([1, "medium"]);
 * queue.putNowait([0, "high"]);
 * queue.putNowait([10, "low"]);
 * queue.getNowait(); // [0, "high"]
 * const byDeadline = new PriorityQueue<Job>({ compare: (a, b) => a.deadline - b.deadline });
 */
export class PriorityQueue<T = [number, unknown]> extends Queue<T> {
  constructor(options: PriorityQueueOptions<T> = {}) {
    super(options);
  }

  protected override createStore(options: PriorityQueueOptions<T>): ItemStore<T> {
    return new HeapStore<T>(options.compare ?? naturalOrder);
  }
}

/**
 * A queue that hands out the most recently added item first.
 *
 * @example
 * const stack = new LifoQueue<number>();
 * stack.putNowait(1);
 * stack.putNowait(2);
 * stack.getNowait(); // 2
 */
export class LifoQueue<T> extends Queue<T> {
  protected override createStore(): ItemStore<T> {
    return new LifoStore<T>();
  }
}

/** `WaitIterator`: results of several promises in the order they settle (Tornado's `gen.WaitIterator`). */

interface Settled<T> {
  index: number | string;
  input: PromiseLike<T> | T;
  outcome: PromiseSettledResult<T>;
}

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (reason: unknown) => void;
}

/**
 * Gives the results of several promises as each settles, first settled first, as Tornado's
 * `gen.WaitIterator`; after each, `currentIndex` says which input it came from (its position in
 * an array, or its key in an object) and `currentFuture` is that input.
 *
 * Unlike `multi`, a failure does not hide the other results: `await it.next()` rejects with that
 * input's error and the next call goes on with the rest. `for await` stops at the first failure,
 * as Tornado's `async for` does. Promises that settle together come in the order given. Calls to
 * `next()` made before any result is ready are answered in call order; one more call than there
 * are inputs rejects with an `Error`.
 *
 * @example
 * const it = new WaitIterator([fetchPrice("a"), fetchPrice("b"), fetchPrice("c")]);
 * while (!it.done()) {
 *   try {
 *     const price = await it.next();
 *     console.log(`input ${it.currentIndex} answered first:`, price);
 *   } catch (error) {
 *     console.log(`input ${it.currentIndex} failed`, error);
 *   }
 * }
 * for await (const page of new WaitIterator({ home: load("/"), about: load("/about") })) render(page);
 */
export class WaitIterator<T = unknown> implements AsyncIterable<T> {
  /**
   * The position (array) or key (object) of the input the last result came from; null before
   * the first and once `done()`.
   *
   * @example
   * const price = await it.next(); prices.set(skus[it.currentIndex as number], price);
   */
  currentIndex: number | string | null = null;
  /**
   * The input the last result came from (as given); null before the first and once `done()`.
   *
   * @example
   * await it.next(); pending.delete(it.currentFuture as Promise<Row>);
   */
  currentFuture: PromiseLike<T> | T | null = null;

  readonly #total: number;
  #undelivered: number;
  #claimed = 0;
  readonly #settled: Settled<T>[] = [];
  readonly #waiters: Waiter<T>[] = [];

  constructor(children: ReadonlyArray<PromiseLike<T> | T> | Readonly<Record<string, PromiseLike<T> | T>>) {
    if (typeof children !== "object" || children === null) {
      throw new TypeError("WaitIterator: give an array or an object of promises");
    }
    const entries: Array<[number | string, PromiseLike<T> | T]> = Array.isArray(children)
      ? children.map((input, i) => [i, input])
      : Object.entries(children);
    this.#total = this.#undelivered = entries.length;
    for (const [index, input] of entries) {
      Promise.resolve(input).then(
        (value) => this.#onSettled({ index, input, outcome: { status: "fulfilled", value } }),
        (reason: unknown) => this.#onSettled({ index, input, outcome: { status: "rejected", reason } }),
      );
    }
  }

  /**
   * Whether every result has been handed out by `next()`; once true, `currentIndex` and
   * `currentFuture` are cleared.
   *
   * @example
   * while (!it.done()) results.push(await it.next());
   */
  done(): boolean {
    if (this.#undelivered > 0) return false;
    this.currentIndex = this.currentFuture = null;
    return true;
  }

  /**
   * The next result to settle: resolves with its value or rejects with its error (a new
   * promise, not one of the inputs), and sets `currentIndex` and `currentFuture`.
   *
   * @example
   * const first = await it.next(); // whichever input settled first
   */
  next(): Promise<T> {
    if (this.#claimed >= this.#total) {
      return Promise.reject(new Error("WaitIterator: next() called more times than there are inputs"));
    }
    this.#claimed++;
    return new Promise<T>((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      this.#deliver();
    });
  }

  /**
   * Iterates over the results with `for await`, stopping at the first failure.
   *
   * @example
   * for await (const row of new WaitIterator(queries)) table.add(row);
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    const iterator: AsyncIterableIterator<T> = {
      next: async (): Promise<IteratorResult<T>> => (this.done() ? { done: true, value: undefined } : { done: false, value: await this.next() }),
      return: async (): Promise<IteratorResult<T>> => ({ done: true, value: undefined }),
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  #onSettled(settled: Settled<T>): void {
    this.#settled.push(settled);
    this.#deliver();
  }

  // Hands settled results to waiting next() calls, first settled to first caller.
  #deliver(): void {
    while (this.#waiters.length > 0 && this.#settled.length > 0) {
      const waiter = this.#waiters.shift()!;
      const { index, input, outcome } = this.#settled.shift()!;
      this.#undelivered--;
      this.currentIndex = index;
      this.currentFuture = input;
      if (outcome.status === "fulfilled") waiter.resolve(outcome.value);
      else waiter.reject(outcome.reason);
    }
  }
}

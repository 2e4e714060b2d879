/** A promise with its resolve function outside (Node 20 has no Promise.withResolvers). */

/** @example const ready = deferred(); setTimeout(() => ready.resolve()); await ready.promise; */
export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
}

/**
 * A promise and the function that resolves it.
 *
 * @example
 * const opened = deferred<string>();
 * handlerOpened = opened.resolve;
 * expect(await opened.promise).toBe("lobby");
 */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

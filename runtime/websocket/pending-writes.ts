/**
 * The writes a WebSocket session has handed to `ws` and not yet seen flushed (internal to
 * session.ts).
 */

import { WebSocketClosedError } from "./errors.js";

/**
 * What `write()` returns for a message written at once: one settled promise for all of them.
 * @internal
 */
export const SENT: Promise<void> = Promise.resolve();

function noop(): void {}

/**
 * The promises of messages handed to `ws` and not yet flushed, oldest first. `ws` calls back in
 * the order the messages were sent (they are written to the socket in order, and the socket's
 * write callbacks come in order, errors included), so one callback settles them all: node's
 * stream, seeing the same callback each time, calls it for a whole batch of writes instead of
 * scheduling a tick for each message. Once a write has failed, the connection is gone: every
 * promise still waiting is rejected (a rejection marked handled, as nobody may be listening).
 * @internal
 */
export class PendingWrites {
  // A ring of entries, three slots each (promise, resolve, reject); its size a power of two.
  private ring: unknown[] = new Array<unknown>(3 * 8).fill(undefined);
  private capacity = 8;
  private head = 0;
  private size = 0;
  private failure: Error | undefined;
  /** What `ws.send` is given for every message. */
  readonly callback = (error?: Error | null): void => this.settle(error ?? undefined);

  /** True when no write is waiting for its callback and none has failed. */
  get idle(): boolean {
    return this.size === 0 && this.failure === undefined;
  }

  /** Gives the newest entry (a placeholder) a promise of its own, and returns it. */
  awaitLast(): Promise<void> {
    const at = 3 * ((this.head + this.size - 1) & (this.capacity - 1));
    if (this.size === 0 || this.ring[at + 1] !== null) return SENT; // settled already
    const sent = new Promise<void>((resolve, reject) => {
      this.ring[at + 1] = resolve;
      this.ring[at + 2] = reject;
    });
    this.ring[at] = sent;
    return sent;
  }

  add(promise: Promise<void> | null, resolve: (() => void) | null, reject: ((error: Error) => void) | null): void {
    if (this.size === this.capacity) this.grow();
    const at = 3 * ((this.head + this.size) & (this.capacity - 1));
    this.ring[at] = promise;
    this.ring[at + 1] = resolve;
    this.ring[at + 2] = reject;
    this.size++;
  }

  private settle(error: Error | undefined): void {
    if (error !== undefined) this.failure ??= error;
    if (this.failure !== undefined) {
      this.rejectAll(this.failure);
      return;
    }
    if (this.size === 0) return;
    const at = 3 * this.head;
    const resolve = this.ring[at + 1] as (() => void) | null;
    this.ring[at] = this.ring[at + 1] = this.ring[at + 2] = undefined;
    this.head = (this.head + 1) & (this.capacity - 1);
    this.size--;
    resolve?.(); // null: a write whose caller got the shared settled promise
  }

  private rejectAll(cause: Error): void {
    while (this.size > 0) {
      const at = 3 * this.head;
      const promise = this.ring[at] as Promise<void> | null;
      const reject = this.ring[at + 2] as ((error: Error) => void) | null;
      this.ring[at] = this.ring[at + 1] = this.ring[at + 2] = undefined;
      this.head = (this.head + 1) & (this.capacity - 1);
      this.size--;
      if (promise === null || reject === null) continue; // written before the failure
      promise.catch(noop);
      reject(new WebSocketClosedError("WebSocket closed before the message was sent", { cause }));
    }
  }

  private grow(): void {
    const ring = new Array<unknown>(3 * 2 * this.capacity).fill(undefined);
    for (let k = 0; k < this.size; k++) {
      const from = 3 * ((this.head + k) & (this.capacity - 1));
      ring[3 * k] = this.ring[from];
      ring[3 * k + 1] = this.ring[from + 1];
      ring[3 * k + 2] = this.ring[from + 2];
    }
    this.ring = ring;
    this.capacity *= 2;
    this.head = 0;
  }
}

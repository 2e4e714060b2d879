/** `PeriodicCallback`: a callback on a fixed schedule that never overlaps itself. */

import { appLog } from "../log.js";
import { IOLoop, type TimeoutHandle } from "../ioloop/loop.js";

/**
 * Calls `fn` every `ms` milliseconds once `start()`ed, the first call `ms` after the start.
 *
 * The period runs from the start of one call to the start of the next. A call that is still
 * running (an async `fn` is awaited) when the next is due makes the loop skip the ticks it
 * missed and resume on the original schedule, as Tornado does: calls never overlap. A throw
 * or rejection is logged on `tornado.application` and the schedule goes on. With `jitter`
 * (e.g. `0.1`), each period is drawn at random within ±`jitter`/2 of `ms`, so that timers
 * started together drift apart. `stop()` cancels the next call (one already running finishes).
 *
 * @example
 * const heartbeat = new PeriodicCallback(async () => { await redis.set("alive", Date.now()); }, 5000, 0.1);
 * heartbeat.start();
 * process.once("SIGTERM", () => heartbeat.stop());
 */
export class PeriodicCallback {
  private running = false;
  private inFlight = false;
  private nextDue = 0;
  private timeout: TimeoutHandle | undefined;
  private loop: IOLoop | undefined;

  constructor(
    readonly callback: () => unknown,
    readonly callbackTime: number,
    readonly jitter = 0,
  ) {
    if (typeof callbackTime !== "number" || !(callbackTime > 0) || callbackTime === Infinity) {
      throw new RangeError("PeriodicCallback needs a positive, finite period in milliseconds");
    }
    if (typeof jitter !== "number" || !(jitter >= 0)) throw new RangeError("PeriodicCallback: jitter must be a number >= 0");
  }

  /**
   * Starts the schedule on the current `IOLoop` (the first call comes after one period).
   * Calling it while running does nothing.
   *
   * @example
   * const poll = new PeriodicCallback(checkQueue, 1000);
   * poll.start();
   */
  start(): void {
    if (this.running) return;
    this.loop = IOLoop.current();
    this.running = true;
    this.nextDue = this.loop.time();
    this.scheduleNext();
  }

  /**
   * Stops the schedule: no further call starts; a call already running is not interrupted.
   *
   * @example
   * poll.stop();
   */
  stop(): void {
    this.running = false;
    this.loop?.removeTimeout(this.timeout);
    this.timeout = undefined;
  }

  /**
   * Whether `start()` was called and `stop()` not since.
   *
   * @example
   * if (!poll.isRunning()) poll.start();
   */
  isRunning(): boolean {
    return this.running;
  }

  private async tick(): Promise<void> {
    this.timeout = undefined;
    if (!this.running) return;
    if (this.inFlight) return this.scheduleNext(); // restarted while an earlier call still runs
    this.inFlight = true;
    try {
      await this.callback();
    } catch (error) {
      appLog.error(`Exception in callback ${this.callback.name || "(anonymous)"}`, error);
    } finally {
      this.inFlight = false;
      if (this.timeout === undefined) this.scheduleNext();
    }
  }

  private scheduleNext(): void {
    if (!this.running || !this.loop) return;
    const now = this.loop.time();
    let period = this.callbackTime;
    if (this.jitter) period *= 1 + this.jitter * (Math.random() - 0.5);
    // Skip the ticks a long call overran, keeping to multiples of the period (Tornado's
    // PeriodicCallback._update_next); if the next tick is still ahead, just add one period.
    if (this.nextDue <= now) this.nextDue += (Math.floor((now - this.nextDue) / period) + 1) * period;
    else this.nextDue += period;
    this.timeout = this.loop.callAt(this.nextDue, () => this.tick());
  }
}

import { TimeoutError } from "tornado/gen";
import { type Releaser, Semaphore } from "tornado/locks";
import { HTTPError } from "tornado/web";

/** How many may run, how many may wait, and for how long. */
export interface TurnLimits {
  /** At most this many run at once (a Semaphore of this size). */
  running: number;
  /** At most this many wait for a turn; the next one is refused at once. */
  waiting: number;
  /** One that waits longer than this (milliseconds) is refused. */
  waitMs: number;
}

/**
 * Turns for one kind of costly work (a slow report, a job for the worker threads): at most
 * `running` at once, at most `waiting` in line behind them for at most `waitMs`. Work beyond
 * that is refused with 503 and `Retry-After` rather than piled onto a busy database or
 * thread pool, where it would make everything else wait too.
 *
 * @example
 * const slowReports = new Turns("slow reports", { running: 4, waiting: 8, waitMs: 1000 });
 * const turn = await slowReports.take(this.request.signal);
 * try { await this.query(sql); } finally { turn.release(); }
 */
export class Turns {
  private readonly semaphore: Semaphore;
  private waitingNow = 0;

  constructor(
    /** What the work is, plural, for the 503's message ("slow reports"). */
    readonly what: string,
    readonly limits: TurnLimits,
  ) {
    this.semaphore = new Semaphore(limits.running);
  }

  /** How many run now, and how many wait for a turn. */
  counts(): { running: number; waiting: number } {
    return { running: this.limits.running - this.semaphore.value, waiting: this.waitingNow };
  }

  /**
   * Takes a turn, waiting for one if need be; resolves to what gives it back. Throws a 503
   * `HTTPError` (with Retry-After) when the line is full or the wait too long, and the
   * signal's reason when it aborts (the client left) while waiting.
   *
   * @example
   * const turn = await turns.take(this.request.signal);
   */
  async take(signal?: AbortSignal): Promise<Releaser> {
    const { waiting, waitMs } = this.limits;
    if (this.semaphore.value === 0 && this.waitingNow >= waiting) {
      throw this.refusal(`the line of ${waiting} waiting for a turn is full`);
    }
    this.waitingNow++;
    try {
      return await this.semaphore.acquire({ timeout: waitMs, signal });
    } catch (error) {
      if (error instanceof TimeoutError) throw this.refusal(`waited ${waitMs} ms for a turn`);
      throw error;
    } finally {
      this.waitingNow--;
    }
  }

  private refusal(why: string): HTTPError {
    // Retry-After: roughly when a turn should be free again (RFC 9110 §10.2.3).
    return new HTTPError(503, `too many ${this.what} at once; ${why}`, {
      headers: { "Retry-After": String(Math.max(1, Math.ceil(this.limits.waitMs / 1000))) },
    });
  }
}

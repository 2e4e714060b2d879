import { performance } from "node:perf_hooks";
import { HTTPError } from "tornado";
import { TimeoutError } from "tornado/gen";
import { IOLoop } from "tornado/ioloop";
import type { Releaser } from "tornado/locks";
import { orderStats } from "../stats.js";
import { DatabaseHandler } from "./base.js";

/**
 * GET /reports/slow?seconds=2: a report behind a slow query (`pg_sleep` stands in for a big
 * scan). While it waits, the server goes on answering everything else; past the query timeout
 * it is a 504, and the statement is stopped in the database, as it is when the client leaves.
 */
export class SlowReportHandler extends DatabaseHandler {
  async get(): Promise<void> {
    const seconds = this.numberArgument("seconds", 2, 0, 60);
    const started = performance.now();
    const [report] = await this.query<{ orders: number; revenueCents: number }>(
      `SELECT count(*)::int AS orders, sum(amount_cents)::float8 AS "revenueCents"
         FROM orders CROSS JOIN pg_sleep($1)`,
      [seconds],
    );
    this.write({ report: "slow", seconds, ...report, tookMs: Math.round(performance.now() - started) });
  }
}

/**
 * GET /reports/top-customers?seconds=1&limit=10: a heavy aggregate. At most
 * `heavyQueryLimit` of these run at once (a Semaphore): the others wait for a slot, and one
 * that waits longer than `heavyQueryWaitMs` gets a 503 with Retry-After instead of piling
 * more work on a busy database.
 */
export class TopCustomersHandler extends DatabaseHandler {
  async get(): Promise<void> {
    const seconds = this.numberArgument("seconds", 1, 0, 60);
    const limit = this.numberArgument("limit", 10, 1, 100);
    const slot = await this.heavyQuerySlot();
    try {
      const customers = await this.query<{ customer: string; orders: number; revenueCents: number; p90Cents: number }>(
        `SELECT customer, count(*)::int AS orders, sum(amount_cents)::float8 AS "revenueCents",
                percentile_cont(0.9) WITHIN GROUP (ORDER BY amount_cents)::float8 AS "p90Cents"
           FROM orders CROSS JOIN pg_sleep($1)
          GROUP BY customer
          ORDER BY "revenueCents" DESC, customer
          LIMIT $2`,
        [seconds, Math.trunc(limit)],
      );
      this.write({ report: "top-customers", customers });
    } finally {
      slot.release();
    }
  }

  private async heavyQuerySlot(): Promise<Releaser> {
    const heavyQueries = this.settings.heavyQueries;
    if (!heavyQueries) throw new Error("the heavyQueries setting is missing");
    const waitMs = this.settings.heavyQueryWaitMs ?? 1000;
    let slot: Releaser;
    try {
      slot = await heavyQueries.acquire({ timeout: waitMs });
    } catch (error) {
      if (!(error instanceof TimeoutError)) throw error;
      // Retry-After: roughly when a slot should be free again (RFC 9110 §10.2.3).
      throw new HTTPError(503, `too many heavy reports at once; waited ${waitMs} ms for a turn`, {
        headers: { "Retry-After": String(Math.max(1, Math.ceil(waitMs / 1000))) },
      });
    }
    if (this.request.signal.aborted) {
      slot.release(); // the client left while waiting: give the turn to someone still there
      this.endForGoneClient();
    }
    return slot;
  }
}

/**
 * GET /reports/order-stats?resamples=2000: statistics of every order amount, with a bootstrap
 * confidence interval for the mean. The query is quick; the arithmetic is CPU-heavy, so it
 * runs in a worker thread (`runInExecutor`) and the server stays free meanwhile.
 */
export class OrderStatsHandler extends DatabaseHandler {
  async get(): Promise<void> {
    const resamples = Math.trunc(this.numberArgument("resamples", 2000, 1, 20_000));
    const rows = await this.query<{ amountCents: number }>(`SELECT amount_cents AS "amountCents" FROM orders`);
    const amounts = rows.map((row) => row.amountCents);
    const started = performance.now();
    const stats = await IOLoop.current().runInExecutor(orderStats, amounts, resamples);
    this.write({ report: "order-stats", ...stats, computeMs: Math.round(performance.now() - started) });
  }
}

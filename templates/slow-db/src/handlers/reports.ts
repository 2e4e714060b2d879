import { performance } from "node:perf_hooks";
import { IOLoop } from "tornado/ioloop";
import { z } from "zod";
import { ApiError, SlowQuery, StatsQuery, TopCustomersQuery } from "../schemas.js";
import { orderStats } from "../stats.js";
import { withDbSchemas } from "./base.js";

const tags = ["reports"];
const busy = {
  503: { schema: ApiError, description: "Too many of these at once, or the database is unavailable (Retry-After)" },
  504: { schema: ApiError, description: "The query ran past the query timeout and was cancelled" },
};

/**
 * GET /reports/slow?seconds=2: a report behind a slow query (`pg_sleep` stands in for a big
 * scan). While it waits, the server goes on answering everything else; past the query timeout
 * it is a 504, and the statement is stopped in the database, as it is when the client leaves.
 * At most `slowQueries` of these run at once (fewer than the pool's connections, so /orders
 * always finds one); more wait briefly for a turn, and beyond that get a 503 with Retry-After.
 */
export class SlowReportHandler extends withDbSchemas({
  get: {
    query: SlowQuery,
    responses: {
      200: z.object({
        report: z.literal("slow"),
        seconds: z.number(),
        orders: z.number().int(),
        revenueCents: z.number().nullable(),
        tookMs: z.number().int(),
      }),
      ...busy,
    },
    summary: "A report behind a slow query",
    tags,
  },
}) {
  async get(): Promise<void> {
    const { seconds } = this.valid("get").query;
    const turn = await this.takeTurn(this.settings.slowQueries);
    try {
      const started = performance.now();
      const [report] = await this.query<{ orders: number; revenueCents: number }>(
        `SELECT count(*)::int AS orders, sum(amount_cents)::float8 AS "revenueCents"
           FROM orders CROSS JOIN pg_sleep($1)`,
        [seconds],
      );
      this.write({ report: "slow", seconds, ...report, tookMs: Math.round(performance.now() - started) });
    } finally {
      turn.release();
    }
  }
}

/**
 * GET /reports/top-customers?seconds=1&limit=10: a heavy aggregate. At most
 * `heavyQueries` of these run at once (a Semaphore, in `Turns`): the others wait for a turn,
 * and one that waits longer than its limit gets a 503 with Retry-After instead of piling
 * more work on a busy database.
 */
export class TopCustomersHandler extends withDbSchemas({
  get: {
    query: TopCustomersQuery,
    responses: {
      200: z.object({
        report: z.literal("top-customers"),
        customers: z.array(
          z.object({ customer: z.string(), orders: z.number().int(), revenueCents: z.number(), p90Cents: z.number() }),
        ),
      }),
      ...busy,
    },
    summary: "The customers who spend most (a heavy aggregate)",
    tags,
  },
}) {
  async get(): Promise<void> {
    const { seconds, limit } = this.valid("get").query;
    const turn = await this.takeTurn(this.settings.heavyQueries);
    try {
      const customers = await this.query<{ customer: string; orders: number; revenueCents: number; p90Cents: number }>(
        `SELECT customer, count(*)::int AS orders, sum(amount_cents)::float8 AS "revenueCents",
                percentile_cont(0.9) WITHIN GROUP (ORDER BY amount_cents)::float8 AS "p90Cents"
           FROM orders CROSS JOIN pg_sleep($1)
          GROUP BY customer
          ORDER BY "revenueCents" DESC, customer
          LIMIT $2`,
        [seconds, limit],
      );
      this.write({ report: "top-customers", customers });
    } finally {
      turn.release();
    }
  }
}

/**
 * GET /reports/order-stats?resamples=2000: statistics of every order amount, with a bootstrap
 * confidence interval for the mean. The query is quick; the arithmetic is CPU-heavy, so it
 * runs in a worker thread (`runInExecutor`) and the server stays free meanwhile. The worker
 * threads take `executorJobs` at a time, with a short line behind them; beyond, a 503.
 */
export class OrderStatsHandler extends withDbSchemas({
  get: {
    query: StatsQuery,
    responses: { 200: z.looseObject({ report: z.literal("order-stats"), computeMs: z.number().int() }), ...busy },
    summary: "Statistics of every order amount, computed in a worker thread",
    tags,
  },
}) {
  async get(): Promise<void> {
    const { resamples } = this.valid("get").query;
    const rows = await this.query<{ amountCents: number }>(`SELECT amount_cents AS "amountCents" FROM orders`);
    const amounts = rows.map((row) => row.amountCents);
    const turn = await this.takeTurn(this.settings.executorJobs);
    try {
      const started = performance.now();
      const stats = await IOLoop.current().runInExecutor(orderStats, amounts, resamples);
      this.write({ report: "order-stats", ...stats, computeMs: Math.round(performance.now() - started) });
    } finally {
      turn.release();
    }
  }
}

import { z } from "zod";

/** The most `seconds` a report may ask for (a query past the timeout is cancelled anyway). */
export const MAX_SECONDS = 30;

/** `?seconds=` of a report: how long its stand-in query sleeps, 0 to 30 (fractions allowed). */
const seconds = (fallback: number) => z.number().min(0).max(MAX_SECONDS).default(fallback);

/** GET /orders: `?limit=` 1-100, default 20. @example OrdersQuery.parse({}) // { limit: 20 } */
export const OrdersQuery = z.object({ limit: z.number().int().min(1).max(100).default(20) });

/**
 * POST /orders. PostgreSQL stores no NUL character in text: the runtime refuses one in any JSON
 * string before this schema sees it (400 `body.customer`), rather than let the INSERT fail as a 500.
 *
 * @example
 * NewOrder.parse({ customer: "ann", amountCents: 1234 })
 */
export const NewOrder = z.object({
  customer: z
    .string()
    .max(100, { message: "must be at most 100 characters", abort: true })
    .trim()
    .min(1, { message: "must be a non-empty string" }),
  amountCents: z.number().int().min(1).max(100_000_000),
});

/** An order as the API returns it. @example const order: z.infer<typeof Order> = { id: 1, customer: "ann", amountCents: 5, createdAt: "…" }; */
export const Order = z.object({
  id: z.number().int(),
  customer: z.string(),
  amountCents: z.number().int(),
  createdAt: z.string(),
});

/** GET /reports/slow: `?seconds=` (default 2). @example SlowQuery.parse({}) // { seconds: 2 } */
export const SlowQuery = z.object({ seconds: seconds(2) });

/** GET /reports/top-customers: `?seconds=` (default 1) and `?limit=` 1-100 (default 10). @example TopCustomersQuery.parse({ limit: 3 }) */
export const TopCustomersQuery = z.object({ seconds: seconds(1), limit: z.number().int().min(1).max(100).default(10) });

/** GET /reports/order-stats: `?resamples=` 1-20,000 (default 2000). @example StatsQuery.parse({}) // { resamples: 2000 } */
export const StatsQuery = z.object({ resamples: z.number().int().min(1).max(20_000).default(2000) });

/**
 * Every error this app answers with: `issues` lists what was wrong with a request that failed
 * its schemas, each with its location (`query.seconds`, `body.amountCents`).
 *
 * @example
 * { "error": { "status": 504, "message": "the query took longer than 5000 ms and was cancelled" } }
 */
export const ApiError = z.object({
  error: z.object({
    status: z.number().int(),
    message: z.string(),
    issues: z.array(z.object({ location: z.string(), message: z.string() })).optional(),
  }),
});

/** GET /health (200 when ready, 503 before): the fields a load balancer reads; more are listed. @example Health.parse(await res.json()) */
export const Health = z.looseObject({
  status: z.enum(["ok", "starting", "failed"]),
  database: z.string(),
  uptimeSeconds: z.number().int(),
});

import { availableParallelism } from "node:os";
import { ReadinessHandler } from "tornado/handlers";
import type { HTTPServerOptions } from "tornado/httpserver";
import { Application, type ApplicationSettings, url } from "tornado/web";
import { type Database, openAppDatabase, positiveInteger } from "./db/database.js";
import { NotFoundHandler } from "./handlers/base.js";
import { HealthHandler } from "./handlers/health.js";
import { OrdersHandler } from "./handlers/orders.js";
import { OrderStatsHandler, SlowReportHandler, TopCustomersHandler } from "./handlers/reports.js";
import { Turns } from "./turns.js";

/** Settings this app's handlers read, on top of the runtime's own. */
export interface AppSettings extends ApplicationSettings {
  /** The database. Default: `openAppDatabase()`: PostgreSQL when DATABASE_URL is set, else the embedded PostgreSQL. */
  db?: Database;
  /** A statement running longer (not counting its wait for a connection) is stopped and answered with 504. Default: QUERY_TIMEOUT_MS, or 5000. */
  queryTimeoutMs?: number;
  /** Turns for heavy reports. Default: HEAVY_QUERY_LIMIT (2) at once, 10 waiting, each for HEAVY_QUERY_WAIT_MS (1000). */
  heavyQueries?: Turns;
  /** Turns for slow reports. Default: SLOW_QUERY_LIMIT (16) at once, 200 waiting, each for SLOW_QUERY_WAIT_MS (10000). */
  slowQueries?: Turns;
  /** Turns for jobs on the worker threads (order-stats): one per core at once, two per core waiting, each for 10 s. */
  executorJobs?: Turns;
}

/**
 * What the server accepts from a client, for `src/main.ts` and the tests. An order is a few
 * dozen bytes of JSON: 1 MiB is plenty, and a larger body gets a 413 before it is read.
 *
 * @example
 * const server = await makeApp().listen(8888, undefined, serverOptions);
 */
export const serverOptions: HTTPServerOptions = { maxBodySize: 1024 * 1024 };

/** Builds the application: its routes, and settings (tests pass their own). */
export function makeApp(settings: AppSettings = {}): Application {
  const db = settings.db ?? openAppDatabase();
  return new Application(
    [
      url("/health", HealthHandler, { name: "health" }),
      // Ready for traffic: the database open and migrated, and not shutting down.
      url("/ready", ReadinessHandler, {
        name: "ready",
        initArgs: { checks: { database: () => db.status === "ready" || `the database is ${db.status}` } },
      }),
      url("/orders", OrdersHandler, { name: "orders" }),
      url("/reports/slow", SlowReportHandler, { name: "slow-report" }),
      url("/reports/top-customers", TopCustomersHandler, { name: "top-customers" }),
      url("/reports/order-stats", OrderStatsHandler, { name: "order-stats" }),
    ],
    {
      defaultHandlerClass: NotFoundHandler,
      // The API's description at /openapi.json, built from the handlers' schemas; the docs page
      // at /docs (swagger-ui-dist, a devDependency) everywhere but production.
      openapi: { title: "Orders and reports API", version: "0.1.0", docs: process.env.NODE_ENV !== "production" },
      queryTimeoutMs: positiveInteger("QUERY_TIMEOUT_MS", 5000),
      ...settings,
      heavyQueries:
        settings.heavyQueries ??
        new Turns("heavy reports", {
          running: positiveInteger("HEAVY_QUERY_LIMIT", 2),
          waiting: 10,
          waitMs: positiveInteger("HEAVY_QUERY_WAIT_MS", 1000),
        }),
      // Fewer than the pool's connections (20, DATABASE_POOL_SIZE): slow reports never take all of
      // them from /orders. 100 one-second reports at once all get their turn within 10 s.
      slowQueries:
        settings.slowQueries ??
        new Turns("slow reports", {
          running: positiveInteger("SLOW_QUERY_LIMIT", 16),
          waiting: 200,
          waitMs: positiveInteger("SLOW_QUERY_WAIT_MS", 10_000),
        }),
      // The worker pool has a thread per core; more jobs than that would only queue in it.
      executorJobs:
        settings.executorJobs ??
        new Turns("statistics jobs", {
          running: availableParallelism(),
          waiting: 2 * availableParallelism(),
          waitMs: 10_000,
        }),
      db,
    },
  );
}

import { Application, url, type ApplicationSettings } from "tornado";
import { Semaphore } from "tornado/locks";
import { openDatabase, positiveInteger, type Database } from "./db/database.js";
import { NotFoundHandler } from "./handlers/base.js";
import { HealthHandler } from "./handlers/health.js";
import { OrdersHandler } from "./handlers/orders.js";
import { OrderStatsHandler, SlowReportHandler, TopCustomersHandler } from "./handlers/reports.js";

/** Settings this app's handlers read, on top of the runtime's own. */
export interface AppSettings extends ApplicationSettings {
  /** The database. Default: `openDatabase()`: PostgreSQL when DATABASE_URL is set, else embedded. */
  db?: Database;
  /** A query running longer is cancelled and answered with 504. Default: QUERY_TIMEOUT_MS, or 5000. */
  queryTimeoutMs?: number;
  /** Slots for heavy reports. Default: HEAVY_QUERY_LIMIT (2) at once. */
  heavyQueries?: Semaphore;
  /** How long a heavy report waits for a slot before a 503. Default: HEAVY_QUERY_WAIT_MS, or 1000. */
  heavyQueryWaitMs?: number;
}

/** Builds the application: its routes, and settings (tests pass their own). */
export function makeApp(settings: AppSettings = {}): Application {
  return new Application(
    [
      url("/health", HealthHandler, { name: "health" }),
      url("/orders", OrdersHandler, { name: "orders" }),
      url("/reports/slow", SlowReportHandler, { name: "slow-report" }),
      url("/reports/top-customers", TopCustomersHandler, { name: "top-customers" }),
      url("/reports/order-stats", OrderStatsHandler, { name: "order-stats" }),
    ],
    {
      defaultHandlerClass: NotFoundHandler,
      queryTimeoutMs: positiveInteger("QUERY_TIMEOUT_MS", 5000),
      heavyQueryWaitMs: positiveInteger("HEAVY_QUERY_WAIT_MS", 1000),
      ...settings,
      heavyQueries: settings.heavyQueries ?? new Semaphore(positiveInteger("HEAVY_QUERY_LIMIT", 2)),
      db: settings.db ?? openDatabase(),
    },
  );
}

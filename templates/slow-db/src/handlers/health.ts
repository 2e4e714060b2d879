import { Health } from "../schemas.js";
import { withDbSchemas } from "./base.js";

/**
 * GET /health: a load balancer's check. It never touches the database, so it answers at once
 * however slow the database is, and shows what the database and the reports are doing.
 *
 * It is 200 `{"status": "ok"}` once the database is ready, and 503 with Retry-After before
 * (`"starting"`: the embedded database creates its files and orders on first start) or if it
 * could not open (`"failed"`): a load balancer sends requests only to an app that can answer them.
 */
export class HealthHandler extends withDbSchemas({
  get: {
    responses: {
      200: Health,
      503: { schema: Health, description: "The database is starting, or failed to open (Retry-After)" },
    },
    summary: "Load balancer check",
    tags: ["health"],
  },
}) {
  get(): void {
    const status = this.db.status;
    if (status !== "ready") {
      this.setStatus(503);
      this.setHeader("Retry-After", "2");
    }
    this.write({
      status: status === "ready" ? "ok" : status,
      database: this.db.kind,
      queries: this.db.counts(),
      turns: {
        slowReports: this.settings.slowQueries?.counts(),
        heavyReports: this.settings.heavyQueries?.counts(),
        executorJobs: this.settings.executorJobs?.counts(),
      },
      uptimeSeconds: Math.round(process.uptime()),
    });
  }
}

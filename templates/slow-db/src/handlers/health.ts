import { DatabaseHandler } from "./base.js";

/**
 * GET /health: a load balancer's liveness check. It never touches the database, so it
 * answers at once however slow the database is; it shows what the database is doing.
 */
export class HealthHandler extends DatabaseHandler {
  get(): void {
    this.write({
      status: "ok",
      database: this.db.kind,
      queries: this.db.counts(),
      uptimeSeconds: Math.round(process.uptime()),
    });
  }
}

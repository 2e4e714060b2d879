import { Health } from "../schemas.js";
import { withApiSchemas } from "./base.js";

/** GET /health: a load balancer's liveness check. */
export class HealthHandler extends withApiSchemas({
  get: { responses: { 200: Health }, summary: "Liveness check", tags: ["health"] },
}) {
  get(): void {
    this.write({ status: "ok", uptimeSeconds: Math.round(process.uptime()) });
  }
}

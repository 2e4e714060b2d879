import { RequestHandler } from "tornado";

/** GET /health: a load balancer's liveness check. */
export class HealthHandler extends RequestHandler {
  get(): void {
    this.write({ status: "ok", uptimeSeconds: Math.round(process.uptime()) });
  }
}

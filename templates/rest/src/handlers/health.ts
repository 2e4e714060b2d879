import { ApiHandler } from "./base.js";

/** GET /health: a load balancer's liveness check. */
export class HealthHandler extends ApiHandler {
  get(): void {
    this.write({ status: "ok", uptimeSeconds: Math.round(process.uptime()) });
  }
}

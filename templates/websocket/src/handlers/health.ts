import { RequestHandler, withSchemas } from "tornado/web";
import { Health } from "../schemas.js";

/** GET /health: a load balancer's liveness check (its answer is the `Health` schema, in the app's OpenAPI document). */
export class HealthHandler extends withSchemas(
  { get: { responses: { 200: Health }, summary: "Liveness check", tags: ["health"] } },
  RequestHandler,
) {
  get(): void {
    this.write({ status: "ok", uptimeSeconds: Math.round(process.uptime()) });
  }
}

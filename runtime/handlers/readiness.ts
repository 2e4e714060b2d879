/** `ReadinessHandler`: is this process ready to take traffic? For load balancers and orchestrators. */

import { isDraining } from "../httpserver/registry.js";
import { RequestHandler } from "../web/handler.js";

/**
 * One readiness check: resolves true when ready, or false or a reason (a string) when not; a
 * throw counts as not ready, with the error's message as the reason.
 *
 * @example
 * const databaseReady: ReadinessCheck = async () => (await db.status()) === "ready" || "the database is not ready";
 */
export type ReadinessCheck = () => boolean | string | Promise<boolean | string>;

/**
 * `initArgs` of `ReadinessHandler`.
 *
 * @example
 * ["/ready", ReadinessHandler, { checks: { database: () => db.ready.then(() => true) } } satisfies ReadinessHandlerArgs]
 */
export interface ReadinessHandlerArgs {
  /** Named checks, all of which must pass (run at each request, side by side). */
  checks?: Record<string, ReadinessCheck>;
}

/**
 * Answers `200 {"status":"ready"}` when the process is ready to take traffic, `503` with
 * `{"status":"draining"}` from the moment it starts shutting down (`isDraining()`: SIGTERM
 * under `tornado start`), or `{"status":"not ready","failing":{name: reason}}` when a check
 * fails. Liveness is another question (does the process answer at all): keep `/health` for it.
 *
 * @example
 * new Application([
 *   ["/health", HealthHandler],
 *   ["/ready", ReadinessHandler, { checks: { database: () => db.status === "ready" || db.status } }],
 * ]);
 */
export class ReadinessHandler extends RequestHandler {
  private checks = new Map<string, ReadinessCheck>();

  /** Takes the named checks. @example ["/ready", ReadinessHandler, { checks }] */
  override initialize({ checks = {} }: ReadinessHandlerArgs = {}): void {
    this.checks = new Map(Object.entries(checks));
  }

  /** Runs the checks and answers 200 or 503. @example GET /ready */
  async get(): Promise<void> {
    this.setHeader("Cache-Control", "no-store");
    if (isDraining()) {
      this.setStatus(503);
      this.write({ status: "draining" });
      return;
    }
    const failing = Object.create(null) as Record<string, string>;
    await Promise.all(
      [...this.checks].map(async ([name, check]) => {
        try {
          const result = await check();
          if (result !== true) failing[name] = typeof result === "string" ? result : "not ready";
        } catch (error) {
          failing[name] = error instanceof Error ? error.message : String(error);
        }
      }),
    );
    if (Object.keys(failing).length > 0) {
      this.setStatus(503);
      this.write({ status: "not ready", failing });
      return;
    }
    this.write({ status: "ready" });
  }

  /** Left out of the OpenAPI document: it is for the infrastructure, not the API. */
  static openapiHidden = true;
}

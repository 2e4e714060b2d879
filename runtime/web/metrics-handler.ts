/** The handler behind `/metrics` when the `metrics` setting serves them on the app's port. */

import type { ProcessMetrics } from "../metrics.js";
import { RequestHandler } from "./handler.js";

/**
 * Answers `GET /metrics` with Prometheus's exposition text.
 * @internal
 */
export class MetricsHandler extends RequestHandler {
  private metrics!: ProcessMetrics;

  /** Takes the process's metrics from the route. @example ["/metrics", MetricsHandler, { metrics }] */
  override initialize({ metrics }: { metrics: ProcessMetrics }): void {
    this.metrics = metrics;
  }

  /** The metrics, as Prometheus scrapes them. @example GET /metrics */
  async get(): Promise<void> {
    const { body, contentType } = await this.metrics.render();
    this.setHeader("Content-Type", contentType);
    this.setHeader("Cache-Control", "no-store");
    this.finish(body);
  }

  /** Left out of the OpenAPI document: it is not part of the API. */
  static openapiHidden = true;
}

/**
 * `tornado start --workers N` with a metrics port (the `metrics: { port }` setting): the port
 * cannot be shared by the workers, so the first worker asks the primary, which serves there the
 * sum over every worker through prom-client's `AggregatorRegistry` (loaded from the app).
 */

import http from "node:http";
import { createRequire } from "node:module";
import { join } from "node:path";

/** What a worker sends the primary when its app has a metrics port. */
export interface MetricsRequest {
  tornado: "metrics";
  port: number;
  host: string;
  path: string;
}

/**
 * Whether a worker's message asks for the metrics port.
 *
 * @example
 * cluster.on("message", (_worker, message) => { if (isMetricsRequest(message)) … });
 */
export function isMetricsRequest(message: unknown): message is MetricsRequest {
  const m = message as Partial<MetricsRequest> | null;
  return typeof m === "object" && m !== null && m.tornado === "metrics" && typeof m.port === "number" && typeof m.host === "string" && typeof m.path === "string";
}

interface Aggregator {
  clusterMetrics(): Promise<string>;
  contentType: string;
}

/**
 * Serves every worker's metrics, summed, on the port the app asked for; resolves with a
 * function that closes it.
 *
 * @example
 * const close = await serveClusterMetrics(request, process.cwd());
 */
export async function serveClusterMetrics(request: MetricsRequest, root: string): Promise<() => void> {
  const { AggregatorRegistry } = createRequire(join(root, "package.json"))("prom-client") as { AggregatorRegistry: new () => Aggregator };
  const registry = new AggregatorRegistry();
  const server = http.createServer((req, res) => {
    if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== request.path) {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("Not Found\n");
      return;
    }
    registry.clusterMetrics().then(
      (body) => res.writeHead(200, { "Content-Type": registry.contentType }).end(body),
      (error: Error) => res.writeHead(500, { "Content-Type": "text/plain" }).end(`Could not collect the workers' metrics: ${error.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(request.port, request.host, () => resolve());
  });
  return () => server.close();
}

/**
 * Prometheus metrics through `prom-client`, turned on by the `metrics` application setting:
 * requests by route, method and status, their durations, requests in flight, open WebSockets,
 * the event loop's delay and Node's own process metrics, and a database pool's connections when
 * one is given. Off by default; `prom-client` is loaded only when it is on (the app lists it in
 * its dependencies).
 *
 * @example
 * new Application(routes, { metrics: true });                   // GET /metrics on the app's port
 * new Application(routes, { metrics: { port: 9464, database } }); // on a port of its own
 */

import type { Cluster } from "node:cluster";
import { createRequire } from "node:module";
import type { HTTPServerRequest } from "../httputil/request.js";
import { appLog } from "../log.js";
import { liveServers } from "../httpserver/registry.js";

/**
 * The `metrics` setting: `true` serves `/metrics` on the app's port; an object moves it.
 *
 * @example
 * const metrics: MetricsOptions = { port: 9464, host: "0.0.0.0" };
 */
export interface MetricsOptions {
  /** The path metrics are served at. Default `/metrics`. */
  path?: string;
  /**
   * A port of its own for the metrics (not reachable through the app's port then). Under
   * `tornado start --workers`, the primary serves there the sum over every worker.
   */
  port?: number;
  /** The address the metrics port binds. Default `127.0.0.1`; `0.0.0.0` for a scraper elsewhere. */
  host?: string;
  /** A database whose pool is reported (`tornado/db`'s `openDatabase()`, or anything with `counts()`). */
  database?: { counts(): { running: number; waiting: number } };
  /** Node's default process metrics (CPU, memory, GC, event-loop lag). Default true. */
  defaultMetrics?: boolean;
}

/** The part of prom-client used here. */
interface PromClient {
  register: { metrics(): Promise<string>; contentType: string; getSingleMetric(name: string): unknown };
  Counter: new (config: Record<string, unknown>) => { inc(labels: Record<string, string>): void };
  Histogram: new (config: Record<string, unknown>) => { observe(labels: Record<string, string>, value: number): void };
  Gauge: new (config: Record<string, unknown>) => { set(labels: Record<string, string>, value: number): void; set(value: number): void };
  collectDefaultMetrics(config?: Record<string, unknown>): void;
  AggregatorRegistry: new () => unknown;
}

/**
 * Loads prom-client from the app's dependencies, or says how to add it.
 *
 * @example
 * const client = loadPromClient();
 */
function loadPromClient(): PromClient {
  try {
    return createRequire(import.meta.url)("prom-client") as PromClient;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "MODULE_NOT_FOUND") {
      throw new Error("The metrics setting needs prom-client: run `npm install prom-client` in the app", { cause: error });
    }
    throw error;
  }
}

// One set of metrics per process, whatever the number of Applications: prom-client's registry
// is global, and a metric can be registered once.
let shared: ProcessMetrics | undefined;

/**
 * The metrics of one process: what an Application with the `metrics` setting records into.
 * @internal
 */
export class ProcessMetrics {
  readonly client: PromClient;
  private readonly requests: { inc(labels: Record<string, string>): void };
  private readonly durations: { observe(labels: Record<string, string>, value: number): void };
  private readonly databases = new Set<{ counts(): { running: number; waiting: number } }>();

  private constructor(defaultMetrics: boolean) {
    const client = (this.client = loadPromClient());
    if (defaultMetrics) client.collectDefaultMetrics();
    // In a `tornado start --workers` worker: answer the primary's requests for this worker's
    // metrics (prom-client listens for them once an AggregatorRegistry exists).
    if (isClusterWorker()) new client.AggregatorRegistry();
    this.requests = new client.Counter({
      name: "tornado_http_requests_total",
      help: "HTTP requests answered, by route (its name, else its pattern), method and status.",
      labelNames: ["route", "method", "status"],
    });
    this.durations = new client.Histogram({
      name: "tornado_http_request_duration_seconds",
      help: "Time from a request's arrival to the end of its response, by route, method and status.",
      labelNames: ["route", "method", "status"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    });
    new client.Gauge({
      name: "tornado_http_requests_in_flight",
      help: "Requests being served now.",
      collect(this: { set(value: number): void }) {
        this.set(liveServers().reduce((sum, server) => sum + (server.requestsInFlight ?? 0), 0));
      },
    });
    new client.Gauge({
      name: "tornado_websocket_connections_open",
      help: "WebSocket connections open now.",
      collect(this: { set(value: number): void }) {
        this.set(liveServers().reduce((sum, server) => sum + (server.openWebSockets ?? 0), 0));
      },
    });
    const databases = this.databases;
    new client.Gauge({
      name: "tornado_db_pool_queries",
      help: "Database queries running on a pool connection, and waiting for one.",
      labelNames: ["state"],
      collect(this: { set(labels: Record<string, string>, value: number): void }) {
        let running = 0;
        let waiting = 0;
        for (const database of databases) {
          const counts = database.counts();
          running += counts.running;
          waiting += counts.waiting;
        }
        this.set({ state: "running" }, running);
        this.set({ state: "waiting" }, waiting);
      },
    });
  }

  /**
   * The process's metrics, made on first use.
   *
   * @example
   * const metrics = ProcessMetrics.get(options);
   */
  static get(options: MetricsOptions): ProcessMetrics {
    shared ??= new ProcessMetrics(options.defaultMetrics ?? true);
    if (options.database !== undefined) shared.databases.add(options.database);
    return shared;
  }

  /**
   * Counts a finished request and its duration.
   *
   * @example
   * metrics.observe("user", request, 200);
   */
  observe(route: string, request: HTTPServerRequest, status: number): void {
    const labels = { route, method: request.method, status: String(status) };
    this.requests.inc(labels);
    this.durations.observe(labels, request.requestTime() / 1000);
  }

  /**
   * The exposition text and its content type.
   *
   * @example
   * const { body, contentType } = await metrics.render();
   */
  async render(): Promise<{ body: string; contentType: string }> {
    return { body: await this.client.register.metrics(), contentType: this.client.register.contentType };
  }
}

/**
 * Serves the metrics on a port of their own. In a `tornado start --workers` worker it asks the
 * primary to serve the sum over all workers there instead (the port cannot be shared).
 * Resolves with a function that closes the server (nothing to close in a worker).
 * @internal
 */
export async function serveMetricsPort(metrics: ProcessMetrics, options: MetricsOptions & { port: number }): Promise<() => Promise<void>> {
  const path = options.path ?? "/metrics";
  const host = options.host ?? "127.0.0.1";
  if (isClusterWorker() && process.send !== undefined) {
    process.send({ tornado: "metrics", port: options.port, host, path });
    return async () => {};
  }
  // node:http through getBuiltinModule, as in httputil/request.ts: an import would load undici.
  const server = process.getBuiltinModule("node:http").createServer((req, res) => {
    if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== path) {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("Not Found\n");
      return;
    }
    metrics.render().then(
      ({ body, contentType }) => res.writeHead(200, { "Content-Type": contentType }).end(body),
      (error: unknown) => {
        appLog.error("Could not collect the metrics", error);
        res.writeHead(500, { "Content-Type": "text/plain" }).end("Internal Server Error\n");
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") error.message = `Metrics port ${options.port} is already in use on ${host}: choose another (metrics.port)`;
      reject(error);
    });
    server.listen(options.port, host, () => resolve());
  });
  return () => new Promise((resolve) => server.close(() => resolve()));
}

// node:cluster only when metrics are on: importing it loads child_process and the cluster
// primary (~2 ms of CPU) in every process that builds an app.
function isClusterWorker(): boolean {
  // The module object is the cluster itself (its types describe the ES module's default export).
  return (process.getBuiltinModule("node:cluster") as unknown as Cluster).isWorker;
}

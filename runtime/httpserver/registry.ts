/**
 * The servers listening in this process, so that a process manager (`tornado start`) can drain
 * them all on SIGTERM without the app having to hand them over.
 */

import { installProcessGuards } from "../ioloop/process-guard.js";
import { appLog } from "../log.js";

/**
 * A server that can be closed gracefully.
 *
 * @example
 * const server: ClosableServer = await app.listen(0);
 */
export interface ClosableServer {
  close(options?: { timeout?: number }): Promise<void>;
  /** Requests being served now (what the metrics report). */
  readonly requestsInFlight?: number;
  /** WebSockets open now (what the metrics report). */
  readonly openWebSockets?: number;
}

const live = new Set<ClosableServer>();

/**
 * Records a server as listening (`HTTPServer.listen` calls it). A process with a listening
 * server logs uncaught errors instead of exiting on them (see `installProcessGuards`).
 *
 * @example
 * trackServer(this);
 */
export function trackServer(server: ClosableServer): void {
  live.add(server);
  installProcessGuards();
}

/**
 * Forgets a server (`HTTPServer.close` calls it).
 *
 * @example
 * untrackServer(this);
 */
export function untrackServer(server: ClosableServer): void {
  live.delete(server);
}

/**
 * Closes every listening server gracefully: requests in flight finish within `timeout` ms.
 *
 * @example
 * process.once("SIGTERM", async () => { await closeAllServers(30_000); process.exit(0); });
 */
export async function closeAllServers(timeout: number): Promise<void> {
  await Promise.all([...live].map((server) => server.close({ timeout })));
}

/**
 * How many servers are listening in this process (the blocking `HTTPClient` warns when any is).
 *
 * @example
 * if (listeningServerCount() > 0) genLog.warning("this blocks the server");
 */
export function listeningServerCount(): number {
  return live.size;
}

/**
 * The servers listening in this process now.
 *
 * @example
 * liveServers().reduce((sum, s) => sum + (s.requestsInFlight ?? 0), 0)
 */
export function liveServers(): ClosableServer[] {
  return [...live];
}

let draining = false;
const shutdownHooks: (() => unknown)[] = [];

/**
 * Whether this process is shutting down: from the moment `shutDownGracefully` starts (SIGTERM
 * under `tornado start`), readiness checks answer 503 while requests are still served.
 *
 * @example
 * if (isDraining()) throw new HTTPError(503);
 */
export function isDraining(): boolean {
  return draining;
}

/**
 * Runs `hook` when the process shuts down gracefully, after every server has closed (requests
 * finished, WebSockets closed): close a database pool, flush a queue. Hooks run in the reverse
 * order of registration; returns a function that removes it.
 *
 * @example
 * const db = openDatabase();
 * onShutdown(() => db.close());
 */
export function onShutdown(hook: () => unknown): () => void {
  shutdownHooks.push(hook);
  return () => {
    const i = shutdownHooks.indexOf(hook);
    if (i >= 0) shutdownHooks.splice(i, 1);
  };
}

/**
 * Options for `shutDownGracefully`.
 *
 * @example
 * const options: ShutdownOptions = { drainDelay: 5000, timeout: 30_000 };
 */
export interface ShutdownOptions {
  /**
   * How long to keep serving after readiness turns 503, so that a load balancer sees it and
   * stops sending new requests before the server stops accepting them. Default 0.
   */
  drainDelay?: number;
  /** How long requests in flight may take to finish once the servers close. Default 30 s. */
  timeout?: number;
}

/**
 * Shuts this process down as a load balancer expects (what `tornado start` does on SIGTERM):
 * readiness turns 503 at once (`isDraining()`), the servers keep serving for `drainDelay` ms,
 * then stop accepting, finish the requests in flight and close WebSockets with 1001; then the
 * `onShutdown` hooks run (a failing one is logged). Calling it again returns the same promise.
 *
 * @example
 * process.once("SIGTERM", () => void shutDownGracefully({ drainDelay: 5000 }).then(() => process.exit(0)));
 */
export function shutDownGracefully(options: ShutdownOptions = {}): Promise<void> {
  shuttingDown ??= (async () => {
    draining = true;
    if ((options.drainDelay ?? 0) > 0) await new Promise((resolve) => setTimeout(resolve, options.drainDelay));
    await closeAllServers(options.timeout ?? 30_000);
    for (const hook of shutdownHooks.splice(0).reverse()) {
      try {
        await hook();
      } catch (error) {
        appLog.error("A shutdown hook failed", error);
      }
    }
  })();
  return shuttingDown;
}
let shuttingDown: Promise<void> | undefined;

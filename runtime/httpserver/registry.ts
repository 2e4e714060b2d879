/**
 * The servers listening in this process, so that a process manager (`tornado start`) can drain
 * them all on SIGTERM without the app having to hand them over.
 */

import { installProcessGuards } from "../ioloop/process-guard.js";

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

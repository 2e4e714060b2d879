/**
 * A `tornado start` worker: imports the built app and, on SIGTERM or SIGINT, turns readiness
 * 503, keeps serving for the drain delay, lets every server it started finish its requests in
 * flight, runs the app's shutdown hooks, then exits 0.
 */

import cluster from "node:cluster";
import { pathToFileURL } from "node:url";
import { shutDownGracefully } from "../../runtime/httpserver/registry.js";
import { whenOrphaned } from "../cli/orphan.js";

const entry = process.env.TORNADO_START_ENTRY!;
// The app is built with source maps (tsconfig.build.json): its stack traces name src/….ts,
// not dist/….js. (Only modules loaded after this call are mapped: the app is.)
process.setSourceMapsEnabled(true);
const drainTimeout = Number(process.env.TORNADO_DRAIN_TIMEOUT ?? 30_000);
const drainDelay = Number(process.env.TORNADO_DRAIN_DELAY ?? 0);

// Readiness turns 503 at once, the app keeps serving for the drain delay (the load balancer
// notices), then the servers close, requests in flight finish, the app's onShutdown hooks run.
const drainAndExit = () => void shutDownGracefully({ drainDelay, timeout: drainTimeout }).then(() => process.exit(0));
for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, drainAndExit);
// A single process started through a wrapper (npm start) stops when the wrapper is gone.
if (cluster.isPrimary) whenOrphaned(drainAndExit);

try {
  await import(pathToFileURL(entry).href);
} catch (error) {
  if (cluster.isPrimary) throw error;
  // In a cluster worker: one line for a port in use, the stack otherwise; then exit so the
  // primary can decide whether to start another.
  const code = (error as NodeJS.ErrnoException | null)?.code;
  process.stderr.write(code === "EADDRINUSE" ? `error: ${(error as Error).message}\n` : `${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
}

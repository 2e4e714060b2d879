/**
 * A `tornado start` worker: imports the built app and, on SIGTERM or SIGINT, lets every
 * server it started finish its requests in flight, then exits 0.
 */

import { pathToFileURL } from "node:url";
import { closeAllServers } from "../../runtime/httpserver/registry.js";

const entry = process.env.TORNADO_START_ENTRY!;
const drainTimeout = Number(process.env.TORNADO_DRAIN_TIMEOUT ?? 30_000);

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    void closeAllServers(drainTimeout).then(() => process.exit(0));
  });
}

await import(pathToFileURL(entry).href);

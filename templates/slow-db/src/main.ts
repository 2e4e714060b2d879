import { onShutdown } from "tornado/httpserver";
import { configureLogging } from "tornado/log";
import { makeApp, serverOptions } from "./app.js";
import { readEnv } from "./env.js";

const env = readEnv();
configureLogging({ level: "info" });

const app = makeApp();
const db = app.settings.db!;
console.log(`Database: ${db.description}`);
// The server listens at once: until the database is ready, /health and the queries answer 503
// with Retry-After (a load balancer sends no traffic yet). The embedded PostgreSQL is shared by
// every process of this app folder (`tornado dev`'s restarts, `tornado start --workers`): the
// first one starts it, and it stops a moment after the last one exits.
db.ready.then(
  () => console.log(`Database: ready (${db.kind}; migrations applied)`),
  (error: Error) => {
    console.error(`Database: ${error.message}`);
    process.exit(1);
  },
);
const server = await app.listen(env.PORT, undefined, serverOptions);
console.log(`Listening on http://localhost:${server.port}`);

// On SIGTERM `tornado start` drains: /ready answers 503 at once, the app serves on for the drain
// delay, stops accepting, lets the requests in flight finish; then this closes the database.
onShutdown(() => db.close());

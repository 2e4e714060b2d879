import { configureLogging } from "tornado";
import { makeApp, serverOptions } from "./app.js";

configureLogging({ level: "info" });

const port = Number(process.env.PORT ?? 8888);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a port number (0-65535), not "${process.env.PORT}"`);
  process.exit(1);
}

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
const server = await app.listen(port, undefined, serverOptions);
console.log(`Listening on http://localhost:${server.port}`);

// Finish the requests in flight, then close the database and exit.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, async () => {
    console.log(`${signal}: shutting down`);
    await server.close({ timeout: 10_000 });
    await db.close();
    process.exit(0);
  });
}

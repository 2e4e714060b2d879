import cluster from "node:cluster";
import { configureLogging } from "tornado";
import { makeApp, serverOptions } from "./app.js";

configureLogging({ level: "info" });

const port = Number(process.env.PORT ?? 8888);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a port number (0-65535), not "${process.env.PORT}"`);
  process.exit(1);
}

if (!process.env.DATABASE_URL && cluster.isWorker) {
  // `tornado start --workers N` forks processes; the embedded database's files serve one.
  console.error("The embedded database serves one process: run `npm start` without --workers, or set DATABASE_URL to use PostgreSQL.");
  process.exit(1);
}

const app = makeApp();
const db = app.settings.db!;
console.log(`Database: ${db.description}`);
// The server listens at once: until the database is ready, /health and the queries answer 503
// with Retry-After (a load balancer sends no traffic yet). (Under `tornado dev`
// the previous app process keeps the embedded database until it has drained, and it only
// drains once this one listens.)
db.ready.then(
  () => console.log(`Database: ready (${db.kind}; schema in place)`),
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

import { migrate, openDatabase } from "tornado/db";
import { onShutdown } from "tornado/httpserver";
import { configureLogging } from "tornado/log";
import { makeApp, serverOptions } from "./app.js";
import { readEnv } from "./env.js";

const env = readEnv();
configureLogging({ level: "info" });

// PostgreSQL at DATABASE_URL, or without one the embedded PostgreSQL in .tornado/db (started with
// the app, shared by its processes, stopped after the last). Pending migrations are applied first:
// with several processes, node-pg-migrate's lock lets one apply them and the others wait.
const db = openDatabase();
console.log(
  `Database: ${db.kind === "embedded" ? "embedded PostgreSQL (no DATABASE_URL)" : "PostgreSQL at DATABASE_URL"}`,
);
await migrate({ database: db, log: (line) => console.log(line) });

const server = await makeApp({ db }).listen(env.PORT, undefined, serverOptions);
console.log(`Listening on http://localhost:${server.port}`);

// On SIGTERM `tornado start` drains: /ready answers 503 at once, the app serves on for the drain
// delay, stops accepting, lets the requests in flight finish; then this closes the database.
onShutdown(() => db.close());

import { configureLogging } from "tornado";
import { makeApp, serverOptions } from "./app.js";

configureLogging({ level: "info" });

const port = Number(process.env.PORT ?? 8888);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a port number (0-65535), not "${process.env.PORT}"`);
  process.exit(1);
}

const server = await makeApp().listen(port, undefined, serverOptions);
console.log(`Listening on http://localhost:${server.port}`);

// Finish the requests in flight, then exit (Ctrl-C in a terminal, SIGTERM from a supervisor).
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, async () => {
    console.log(`${signal}: shutting down`);
    await server.close({ timeout: 10_000 });
    process.exit(0);
  });
}

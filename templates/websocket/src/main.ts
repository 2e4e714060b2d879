import { configureLogging } from "tornado";
import { makeApp } from "./app.js";

configureLogging({ level: "info" });

const port = Number(process.env.PORT ?? 8888);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a port number (0-65535), not "${process.env.PORT}"`);
  process.exit(1);
}

const app = makeApp();
const broadcast = app.settings.broadcast!;
const server = await app.listen(port);
console.log(`Listening on http://localhost:${server.port} (broadcast: ${broadcast.kind})`);

// Close the chats (clients get 1001 Going Away and reconnect elsewhere), then exit.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, async () => {
    console.log(`${signal}: shutting down`);
    await server.close({ timeout: 10_000 });
    await broadcast.close();
    process.exit(0);
  });
}

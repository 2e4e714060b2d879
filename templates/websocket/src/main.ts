import { Broadcast } from "tornado/broadcast";
import { onShutdown } from "tornado/httpserver";
import { configureLogging } from "tornado/log";
import { makeApp } from "./app.js";
import { readEnv } from "./env.js";

const env = readEnv();
configureLogging({ level: "info" });

// Chat messages go through Redis when REDIS_URL is set (every process sees them), else memory.
const broadcast = Broadcast.fromEnv({ REDIS_URL: env.REDIS_URL });
const app = makeApp({ broadcast });
const server = await app.listen(env.PORT);
console.log(`Listening on http://localhost:${server.port} (broadcast: ${broadcast.kind})`);

// On SIGTERM `tornado start` drains: /ready answers 503, chats close with 1001 (clients
// reconnect elsewhere), then this runs before the process exits.
onShutdown(() => broadcast.close());

// Fastify 5 with its defaults, logger off, no plugins.
// GET /      -> "Hello, world"      (text/plain; charset=utf-8, Fastify's default for a string)
// GET /json  -> {"hello":"world"}   (application/json; charset=utf-8)
// Listens on 127.0.0.1:$PORT (0 = any free port) and prints "PORT=<n>" once listening.
import Fastify from "fastify";

const app = Fastify({ logger: false });
app.get("/", async () => "Hello, world");
app.get("/json", async () => ({ hello: "world" }));

await app.listen({ port: Number(process.env.PORT ?? 0), host: "127.0.0.1" });
console.log(`PORT=${app.server.address().port}`);

// Exit normally on a signal so that `node --cpu-prof` writes its profile.
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));

// Fastify 5 with its defaults (logger off), POST /validated with its JSON-schema body validation
// (Ajv, compiled at start-up) and a response schema (fast-json-stringify), the same contract as
// servers/tornado-schema.mjs: {"id":1,"name":…,"email":…}. Listens on 127.0.0.1:$PORT (0 = any
// free port) and prints "PORT=<n>" once listening.
import Fastify from "fastify";

const app = Fastify({ logger: false });
const body = {
  type: "object",
  required: ["name", "email"],
  additionalProperties: false,
  properties: {
    name: { type: "string", minLength: 1, maxLength: 100 },
    email: { type: "string", format: "email" },
    age: { type: "integer", minimum: 0 },
  },
};
const user = { type: "object", properties: { id: { type: "number" }, name: { type: "string" }, email: { type: "string" } } };
app.post("/validated", { schema: { body, response: { 200: user } } }, async (request) => ({ id: 1, name: request.body.name, email: request.body.email }));

await app.listen({ port: Number(process.env.PORT ?? 0), host: "127.0.0.1" });
console.log(`PORT=${app.server.address().port}`);

for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));

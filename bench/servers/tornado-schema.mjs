// POST with a JSON body on this project's runtime (compiled to dist/runtime by `npm run build`):
// POST /validated -> withSchemas({ post: { body: NewUser } }) (zod 4), the body from this.valid("post")
// POST /plain     -> the same handler on RequestHandler, the body from this.jsonBody() unchecked
// Both answer {"id":1,"name":…,"email":…}. Listens on 127.0.0.1:$PORT (0 = any free port) and
// prints "PORT=<n>" once listening. Run with NODE_ENV=production (responses are not checked).
import { z } from "zod";
import { Application, RequestHandler, withSchemas } from "../../dist/runtime/index.js";

const NewUser = z.object({ name: z.string().min(1).max(100), email: z.email(), age: z.number().int().min(0).optional() });
const User = z.object({ id: z.number(), name: z.string(), email: z.string() });

class Validated extends withSchemas({ post: { body: NewUser, responses: { 200: User } } }) {
  post() {
    const { body } = this.valid("post");
    this.write({ id: 1, name: body.name, email: body.email });
  }
}

class Plain extends RequestHandler {
  post() {
    const body = this.jsonBody();
    this.write({ id: 1, name: body.name, email: body.email });
  }
}

const app = new Application([
  ["/validated", Validated],
  ["/plain", Plain],
]);
const server = await app.listen(Number(process.env.PORT ?? 0), "127.0.0.1");
console.log(`PORT=${server.port}`);

for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));

// Hello-world server on this project's runtime (compiled to dist/runtime by `npm run build`).
// GET /      -> "Hello, world"      (text/html; charset=UTF-8, the runtime's default)
// GET /json  -> {"hello":"world"}   (application/json; an object passed to write())
// Listens on 127.0.0.1:$PORT (0 = any free port) and prints "PORT=<n>" once listening.
import { Application, RequestHandler } from "../../dist/runtime/index.js";

class Hello extends RequestHandler {
  get() {
    this.write("Hello, world");
  }
}

class Json extends RequestHandler {
  get() {
    this.write({ hello: "world" });
  }
}

const app = new Application([
  ["/", Hello],
  ["/json", Json],
]);
const server = await app.listen(Number(process.env.PORT ?? 0), "127.0.0.1");
console.log(`PORT=${server.port}`);

// Exit normally on a signal so that `node --cpu-prof` writes its profile.
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));

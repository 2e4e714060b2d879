// Baseline: raw node:http, no framework.
// GET /      -> "Hello, world"      (text/plain; charset=utf-8)
// GET /json  -> {"hello":"world"}   (application/json; serialised per request, like the others)
// Content-Length is set so that the response is framed as the frameworks frame theirs (without
// it, node:http would answer with Transfer-Encoding: chunked).
// Listens on 127.0.0.1:$PORT (0 = any free port) and prints "PORT=<n>" once listening.
import http from "node:http";

const server = http.createServer((req, res) => {
  if (req.url === "/") {
    const body = "Hello, world";
    res.writeHead(200, {
      "Content-Type": "text/plain; charset=utf-8",
      "Content-Length": Buffer.byteLength(body),
    });
    res.end(body);
  } else if (req.url === "/json") {
    const body = JSON.stringify({ hello: "world" });
    res.writeHead(200, {
      "Content-Type": "application/json; charset=utf-8",
      "Content-Length": Buffer.byteLength(body),
    });
    res.end(body);
  } else {
    res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" });
    res.end("Not Found");
  }
});

server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  console.log(`PORT=${server.address().port}`);
});

// Exit normally on a signal so that `node --cpu-prof` writes its profile.
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));

// Express 5 with its defaults, no middleware.
// GET /      -> "Hello, world"      (text/html; charset=utf-8, Express's default for a string)
// GET /json  -> {"hello":"world"}   (application/json; charset=utf-8)
// Listens on 127.0.0.1:$PORT (0 = any free port) and prints "PORT=<n>" once listening.
import express from "express";

const app = express();
app.get("/", (req, res) => {
  res.send("Hello, world");
});
app.get("/json", (req, res) => {
  res.json({ hello: "world" });
});

const server = app.listen(Number(process.env.PORT ?? 0), "127.0.0.1", (error) => {
  if (error) throw error;
  console.log(`PORT=${server.address().port}`);
});

// Exit normally on a signal so that `node --cpu-prof` writes its profile.
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));

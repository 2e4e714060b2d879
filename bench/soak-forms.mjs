// Soak test of the server's input limits: floods a server on 127.0.0.1 with hostile bodies
// (urlencoded forms over the size limit, forms of many small fields, gzip bombs, large JSON)
// while another client calls GET /health, and prints the server's memory over time and the
// /health latency. A server that holds its limits keeps RSS flat and /health fast.
//
//   npm run build && node bench/soak-forms.mjs [--seconds 30] [--concurrency 4] [--max-requests 20000]
//
// The server runs in a child process (this file with --serve) on the compiled runtime
// (dist/runtime), so the memory reported is the server's alone. Loopback only; bounded in time
// and in requests.

import { spawn } from "node:child_process";
import http from "node:http";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { makeUsage, parseOptions } from "./lib.mjs";

const USAGE = `usage: node bench/soak-forms.mjs [--seconds N] [--concurrency N] [--max-requests N]
  --seconds       how long to flood (default 30, at most 120)
  --concurrency   flooding clients at once (default 4)
  --max-requests  stop flooding after this many requests (default 20000)`;

if (process.argv[2] === "--serve") await serve();
else await main();

// ---------------------------------------------------------------- the server (child process)

async function serve() {
  const { Application, RequestHandler, configureLogging } = await import("../dist/runtime/index.js");
  // Quiet the per-request warnings (413s, 400s): the soak measures memory, not logs.
  configureLogging({ level: "error" });
  class Health extends RequestHandler {
    get() {
      this.write("ok");
    }
  }
  class Form extends RequestHandler {
    post() {
      this.write({ fields: Object.keys(this.request.arguments).length });
    }
  }
  class Json extends RequestHandler {
    post() {
      this.write({ keys: Object.keys(this.jsonBody()).length });
    }
  }
  const app = new Application([
    ["/health", Health],
    ["/form", Form],
    ["/json", Json],
  ]);
  const server = await app.listen(0, "127.0.0.1", { decompressRequest: true });
  console.log(`PORT=${server.port}`);
  const report = () => {
    const { rss, heapUsed } = process.memoryUsage();
    console.log(`MEM ${rss} ${heapUsed}`);
  };
  setInterval(report, 1000).unref();
  process.on("SIGTERM", () => process.exit(0));
}

// ---------------------------------------------------------------- the flood (parent)

async function main() {
  const opts = { seconds: 30, concurrency: 4, maxRequests: 20_000 };
  const usage = makeUsage("soak-forms.mjs", USAGE);
  parseOptions(process.argv.slice(2), usage, (name, value, arg) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) usage(`${arg} needs a positive whole number`);
    if (name === "seconds") opts.seconds = Math.min(n, 120);
    else if (name === "concurrency") opts.concurrency = Math.min(n, 64);
    else if (name === "max-requests") opts.maxRequests = n;
    else usage(`unknown option ${arg}`);
  });

  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "--serve"], { stdio: ["ignore", "pipe", "inherit"] });
  // SIGKILL: a server wedged by a body it should have refused could not run a SIGTERM handler.
  const stop = () => child.kill("SIGKILL");
  process.on("exit", stop);
  const memory = [];
  const port = await new Promise((resolve, reject) => {
    let buffered = "";
    child.stdout.on("data", (chunk) => {
      buffered += chunk;
      let nl;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.startsWith("PORT=")) resolve(Number(line.slice(5)));
        else if (line.startsWith("MEM ")) {
          const [rss, heap] = line.slice(4).split(" ").map(Number);
          memory.push({ t: Date.now(), rss, heap });
        }
      }
    });
    child.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
  });

  const attacks = makeAttacks();
  console.log(`soak-forms: ${opts.seconds} s, ${opts.concurrency} flooding clients, at most ${opts.maxRequests} requests, server on 127.0.0.1:${port}`);
  for (const a of attacks) console.log(`  ${a.name}: ${a.describe}`);

  // /health alone first: on a busy machine its latency is mostly the machine's.
  const quiet = [];
  for (const quietEnd = Date.now() + 3000; Date.now() < quietEnd; ) {
    const t0 = performance.now();
    await send(port, { method: "GET", path: "/health", headers: {}, body: null });
    quiet.push(performance.now() - t0);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  quiet.sort((a, b) => a - b);
  console.log(`  /health without the flood: ${quiet.length} calls, median ${pct(quiet, 0.5).toFixed(1)} ms, max ${quiet.at(-1).toFixed(1)} ms`);

  const started = Date.now();
  const deadline = started + opts.seconds * 1000;
  const counts = new Map(attacks.map((a) => [a.name, new Map()]));
  let sent = 0;
  const flooding = () => Date.now() < deadline && sent < opts.maxRequests;

  async function flooder(index) {
    for (let i = index; flooding(); i++) {
      const attack = attacks[i % attacks.length];
      sent++;
      const outcome = await send(port, attack);
      const byOutcome = counts.get(attack.name);
      byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1);
    }
  }

  const latencies = [];
  async function healthChecker() {
    while (flooding()) {
      const t0 = performance.now();
      const outcome = await send(port, { method: "GET", path: "/health", headers: {}, body: null });
      latencies.push({ ms: performance.now() - t0, ok: outcome === "200" });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  let lastPrint = started;
  const progress = setInterval(() => {
    const m = memory.at(-1);
    const recent = latencies.filter((l) => l.ms !== undefined).slice(-20);
    const worst = recent.length ? Math.max(...recent.map((l) => l.ms)) : 0;
    if (m && m.t > lastPrint) {
      lastPrint = m.t;
      console.log(`  t=${((m.t - started) / 1000).toFixed(0).padStart(3)}s  rss ${mb(m.rss)}  heap ${mb(m.heap)}  /health worst of last 20 ${worst.toFixed(1)} ms  requests ${sent}`);
    }
  }, 1000);

  await Promise.all([...Array.from({ length: opts.concurrency }, (_, i) => flooder(i)), healthChecker()]);
  clearInterval(progress);
  await new Promise((resolve) => setTimeout(resolve, 1500)); // one more memory sample

  const rss = memory.map((m) => m.rss);
  const heap = memory.map((m) => m.heap);
  const ms = latencies.map((l) => l.ms).sort((a, b) => a - b);
  console.log(`\nrequests sent: ${sent} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  for (const [name, byOutcome] of counts) {
    console.log(`  ${name}: ${[...byOutcome].map(([o, n]) => `${o} x${n}`).join(", ")}`);
  }
  console.log(`server RSS: first ${mb(rss[0])}, max ${mb(Math.max(...rss))}, last ${mb(rss.at(-1))}`);
  console.log(`server heap: max ${mb(Math.max(...heap))}, last ${mb(heap.at(-1))}`);
  console.log(
    `/health during the flood: ${ms.length} calls, ${latencies.filter((l) => !l.ok).length} failed, ` +
      `median ${pct(ms, 0.5).toFixed(1)} ms, p99 ${pct(ms, 0.99).toFixed(1)} ms, max ${ms.at(-1).toFixed(1)} ms`,
  );
  stop();
}

function makeAttacks() {
  const fields = (n) => Buffer.from(new Array(n).fill("a=1").join("&"));
  const form = { "Content-Type": "application/x-www-form-urlencoded" };
  const manyFields = fields(250_000); // just under 1 MiB: within the size limit, over the field count
  const bigForm = fields(2_500_000); // ~10 MB, over maxFormBodySize
  const bomb = gzipSync(fields(25_000_000)); // ~100 MB of fields inflated from ~100 kB
  const json = Buffer.from(JSON.stringify({ k: "x".repeat(900 * 1024) }));
  const bigJson = Buffer.from(JSON.stringify({ k: "x".repeat(8 * 1024 * 1024) }));
  return [
    { name: "many-fields", describe: `${mb(manyFields.length)} urlencoded, 250,000 fields`, method: "POST", path: "/form", headers: form, body: manyFields },
    { name: "big-form", describe: `${mb(bigForm.length)} urlencoded`, method: "POST", path: "/form", headers: form, body: bigForm },
    {
      name: "gzip-bomb",
      describe: `${mb(bomb.length)} gzip inflating to ${mb(25_000_000 * 4)} urlencoded`,
      method: "POST",
      path: "/form",
      headers: { ...form, "Content-Encoding": "gzip" },
      body: bomb,
    },
    { name: "json-900k", describe: `${mb(json.length)} JSON (within the limit)`, method: "POST", path: "/json", headers: { "Content-Type": "application/json" }, body: json },
    { name: "json-8m", describe: `${mb(bigJson.length)} JSON`, method: "POST", path: "/json", headers: { "Content-Type": "application/json" }, body: bigJson },
  ];
}

/** Sends one request on a fresh connection; resolves with the status or the error code. */
function send(port, { method, path, headers, body }) {
  return new Promise((resolve) => {
    const req = http.request({ host: "127.0.0.1", port, method, path, headers: body ? { ...headers, "Content-Length": body.length } : headers, agent: false, timeout: 60_000 });
    req.on("response", (res) => {
      res.resume();
      res.on("end", () => resolve(String(res.statusCode)));
      res.on("error", () => resolve(String(res.statusCode)));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (error) => resolve(error.code ?? error.message));
    req.end(body ?? undefined);
  });
}

function mb(bytes) {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function pct(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : NaN;
}

#!/usr/bin/env node
// WebSocket soak: clients that never read, against this runtime's WebSocketHandler, while another
// client checks that the server keeps answering.
//
//   node bench/soak-websocket.mjs [--scenario ping-flood|echo-flood|both] [--duration 30]
//                                 [--max-mb 2000] [--max-outgoing BYTES]
//   npm run build && node bench/soak-websocket.mjs       (from the repository root; no bench deps)
//
// Scenarios (each runs --duration seconds, and stops early once --max-mb of attack traffic is sent):
//   ping-flood  a raw client pings (125-byte payloads) as fast as the socket takes them and never
//               reads the pongs; when the server closes it, it connects again and goes on.
//   echo-flood  a `ws` client sends 1 MiB binary frames to the documented echo handler
//               (`onMessage(m) { this.writeMessage(m) }`, not awaited) and never reads the
//               echoes; when the server closes it, it connects again and goes on.
// Throughout, a probe client sends a WebSocket message to the echo handler and a GET /health
// every 100 ms, on connections of its own, and records how long each answer takes.
//
// The server is a child process (this file with SOAK_ROLE=server) on 127.0.0.1 and a free port;
// the attacker is another (SOAK_ROLE=attacker), so that its busy loop never delays the probe,
// which runs in this process. Every second the server reports process.memoryUsage() over IPC, and this process prints one line per
// second: server RSS, heap used, external (incl. array buffers), the slowest probe answer in that
// second, MB sent by the attacker and connections the server closed. At the end: the peaks, and
// the slowest probe answer over the whole scenario. Loopback only; every child is stopped when
// the run ends or is interrupted.

import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { connect as netConnect } from "node:net";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const requireFromRoot = createRequire(path.join(ROOT, "package.json"));
const MiB = 1024 * 1024;

function options(argv) {
  const opts = { scenario: "both", duration: 30, maxMb: 2000, maxOutgoing: undefined };
  for (let i = 0; i < argv.length; i++) {
    const [name, value] = [argv[i], argv[i + 1]];
    if (name === "--scenario" && ["ping-flood", "echo-flood", "both"].includes(value)) opts.scenario = value;
    else if (name === "--duration" && Number(value) > 0 && Number(value) <= 120) opts.duration = Number(value);
    else if (name === "--max-mb" && Number(value) > 0) opts.maxMb = Number(value);
    else if (name === "--max-outgoing" && Number(value) > 0) opts.maxOutgoing = Number(value);
    else {
      console.error(`usage: node bench/soak-websocket.mjs [--scenario ping-flood|echo-flood|both] [--duration 1-120] [--max-mb N] [--max-outgoing BYTES]\n(bad option ${name} ${value ?? ""})`);
      process.exit(2);
    }
    i++;
  }
  return opts;
}

// ---------------------------------------------------------------------------------------------
// The server (child process).

async function runServer() {
  const runtime = await import(pathToFileURL(path.join(ROOT, "dist/runtime/index.js")).href);
  const { Application, RequestHandler, WebSocketHandler, configureLogging } = runtime;
  configureLogging({ level: "warning" });
  class EchoSocket extends WebSocketHandler {
    // The form a reader copies first: not awaited.
    onMessage(message) {
      void this.writeMessage(message);
    }
  }
  class Health extends RequestHandler {
    get() {
      this.write({ status: "ok" });
    }
  }
  const settings = process.env.SOAK_MAX_OUTGOING ? { websocketMaxOutgoingBuffer: Number(process.env.SOAK_MAX_OUTGOING) } : {};
  const app = new Application([["/echo", EchoSocket], ["/health", Health]], settings);
  const server = await app.listen(0, "127.0.0.1");
  process.send({ port: server.port });
  setInterval(() => process.send({ memory: process.memoryUsage() }), 1000);
  process.on("disconnect", () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------
// The attackers and the probe.

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A raw WebSocket connection: handshake done, nothing read after it. */
function rawWebSocket(port) {
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, "127.0.0.1");
    socket.on("error", () => {});
    socket.once("error", reject);
    socket.write(
      `GET /echo HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    let head = "";
    const onData = (chunk) => {
      head += chunk.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      socket.off("data", onData);
      socket.pause();
      if (!head.startsWith("HTTP/1.1 101")) reject(new Error(head.split("\r\n")[0]));
      else resolve(socket);
    };
    socket.on("data", onData);
  });
}

async function pingFlood(port, stats, until) {
  // 64 masked pings (zero mask key) of 125 bytes per write.
  const ping = Buffer.concat([Buffer.from([0x89, 0x80 | 125, 0, 0, 0, 0]), Buffer.alloc(125, 0x61)]);
  const batch = Buffer.concat(Array.from({ length: 64 }, () => ping));
  while (!until()) {
    const socket = await rawWebSocket(port);
    let closed = false;
    socket.once("close", () => (closed = true));
    while (!closed && !until()) {
      stats.sentBytes += batch.length;
      if (socket.write(batch)) await new Promise((resolve) => setImmediate(resolve));
      else {
        // The server stopped reading: wait (a bounded while) for room, as a real flooder would.
        await new Promise((resolve) => {
          const done = () => {
            clearTimeout(timer);
            socket.off("drain", done);
            resolve();
          };
          const timer = setTimeout(done, 200);
          socket.once("drain", done);
        });
      }
    }
    if (closed) stats.closedByServer++;
    socket.destroy();
  }
}

async function echoFlood(port, stats, until) {
  const { WebSocket } = requireFromRoot("ws");
  const frame = Buffer.alloc(MiB, 0x62);
  while (!until()) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/echo`);
    ws.on("error", () => {});
    const opened = await new Promise((resolve) => {
      ws.once("open", () => resolve(true));
      ws.once("close", () => resolve(false));
    });
    if (!opened) continue;
    ws.pause(); // never reads the echoes
    let closed = false;
    ws.once("close", () => (closed = true));
    while (!closed && !until()) {
      if (ws.bufferedAmount > 8 * MiB) {
        await sleep(20); // the client's own memory: sends go on as the socket takes them
        continue;
      }
      ws.send(frame);
      stats.sentBytes += frame.length;
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (closed) stats.closedByServer++;
    ws.terminate();
  }
}

async function probe(port, stats, until) {
  const { WebSocket } = requireFromRoot("ws");
  let ws;
  const connectProbe = () =>
    new Promise((resolve, reject) => {
      const socket = new WebSocket(`ws://127.0.0.1:${port}/echo`);
      socket.once("open", () => resolve(socket));
      socket.once("error", reject);
    });
  ws = await connectProbe();
  while (!until()) {
    const started = performance.now();
    const echoed = new Promise((resolve) => ws.once("message", resolve));
    ws.send("probe");
    const health = fetch(`http://127.0.0.1:${port}/health`).then((res) => res.json());
    const result = await Promise.race([Promise.all([echoed, health]).then(() => "ok"), sleep(10_000).then(() => "timeout")]);
    const latency = performance.now() - started;
    if (result === "timeout") stats.probeTimeouts++;
    stats.probeLatencies.push(latency);
    stats.secondMaxLatency = Math.max(stats.secondMaxLatency, latency);
    await sleep(100);
  }
  ws.terminate();
}

// ---------------------------------------------------------------------------------------------
// The run.

async function runAttacker() {
  const { scenario, port, duration, maxMb } = JSON.parse(process.env.SOAK_ATTACK);
  const stats = { sentBytes: 0, closedByServer: 0 };
  const started = Date.now();
  const until = () => Date.now() - started > duration * 1000 || stats.sentBytes > maxMb * MiB;
  const report = setInterval(() => process.send({ attack: stats }), 250);
  process.on("disconnect", () => process.exit(0));
  await (scenario === "ping-flood" ? pingFlood : echoFlood)(port, stats, until).catch((error) => console.log(`attacker stopped: ${error.message}`));
  clearInterval(report);
  process.send({ attack: stats, done: true });
  process.exit(0);
}

function startAttacker(scenario, port, opts, stats) {
  const env = { ...process.env, SOAK_ROLE: "attacker", SOAK_ATTACK: JSON.stringify({ scenario, port, duration: opts.duration, maxMb: opts.maxMb }) };
  const child = fork(fileURLToPath(import.meta.url), [], { env, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  return new Promise((resolve) => {
    child.on("message", (message) => {
      Object.assign(stats, message.attack);
      if (message.done) resolve();
    });
    child.once("exit", () => resolve());
  });
}

function startServer(maxOutgoing) {
  const env = { ...process.env, SOAK_ROLE: "server" };
  if (maxOutgoing !== undefined) env.SOAK_MAX_OUTGOING = String(maxOutgoing);
  const child = fork(fileURLToPath(import.meta.url), [], { env, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the server exited (${code}) before listening`)));
    child.on("message", (message) => {
      if (message.port) resolve({ child, port: message.port });
    });
  });
}

const mb = (bytes) => (bytes / MiB).toFixed(0).padStart(6);

async function runScenario(name, opts) {
  const { child, port } = await startServer(opts.maxOutgoing);
  const stats = { sentBytes: 0, closedByServer: 0, probeLatencies: [], probeTimeouts: 0, secondMaxLatency: 0 };
  const peak = { rss: 0, heapUsed: 0, external: 0 };
  let last;
  let died = null;
  child.on("message", (message) => {
    if (!message.memory) return;
    last = message.memory;
    for (const key of Object.keys(peak)) peak[key] = Math.max(peak[key], last[key]);
  });
  child.once("exit", (code, signal) => (died = signal ?? code));
  const started = Date.now();
  let attackDone = false;
  const until = () => died !== null || attackDone || Date.now() - started > opts.duration * 1000;
  console.log(`\n== ${name} (${opts.duration} s at most, ${opts.maxMb} MB of attack traffic at most; websocketMaxOutgoingBuffer: ${opts.maxOutgoing ?? "default"})`);
  console.log("     s   rss MB  heap MB   ext MB  probe max ms  attack MB sent  closed by server");
  const attack = startAttacker(name, port, opts, stats).then(() => (attackDone = true));
  const probing = probe(port, stats, until).catch((error) => console.log(`probe failed: ${error.message}`));
  const ticker = setInterval(() => {
    if (!last) return;
    const s = ((Date.now() - started) / 1000).toFixed(0).padStart(6);
    console.log(`${s} ${mb(last.rss)}   ${mb(last.heapUsed)}   ${mb(last.external)}  ${stats.secondMaxLatency.toFixed(1).padStart(12)}  ${mb(stats.sentBytes).padStart(14)}  ${String(stats.closedByServer).padStart(16)}`);
    stats.secondMaxLatency = 0;
  }, 1000);
  await Promise.all([attack, probing]);
  clearInterval(ticker);
  child.kill();
  const latencies = stats.probeLatencies.sort((a, b) => a - b);
  const p99 = latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))] ?? NaN;
  console.log(
    `-- ${name}: server ${died !== null ? `DIED (${died})` : "alive"}; peak rss ${mb(peak.rss).trim()} MB, heap ${mb(peak.heapUsed).trim()} MB, external ${mb(peak.external).trim()} MB; ` +
      `${mb(stats.sentBytes).trim()} MB sent by the attacker, ${stats.closedByServer} connections closed by the server; ` +
      `probe: ${latencies.length} answers, p99 ${p99.toFixed(1)} ms, max ${(latencies.at(-1) ?? NaN).toFixed(1)} ms, ${stats.probeTimeouts} timeouts (10 s)`,
  );
}

if (process.env.SOAK_ROLE === "server") {
  await runServer();
} else if (process.env.SOAK_ROLE === "attacker") {
  await runAttacker();
} else {
  const opts = options(process.argv.slice(2));
  for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => process.exit(130));
  const scenarios = opts.scenario === "both" ? ["ping-flood", "echo-flood"] : [opts.scenario];
  for (const name of scenarios) await runScenario(name, opts);
  process.exit(0);
}

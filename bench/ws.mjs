#!/usr/bin/env node
// WebSockets: this runtime's WebSocketHandler vs a raw `ws` WebSocketServer (the same `ws` copy
// the runtime uses), on echo throughput and on memory per idle connection.
//
//   node bench/ws.mjs [--rounds 6] [--duration 4] [--warmup 1] [--connections 50] [--window 8]
//                     [--payload 64] [--idle-rounds 3] [--idle-connections 10000] [--idle-hold 10]
//                     [--hold-connections 20000] [--hold 10] [--per-generator 10000] [--source-addresses no]
//                     [--cpu-prof DIR]    (DIR/tornado/ and DIR/ws/: the echo servers' CPU profiles)
//   npm run build && cd bench && npm ci && node ws.mjs       (from the repository root)
//
// Every process is a whole Node.js process: each server runs in its own child process (this
// file, started with WS_BENCH_ROLE=tornado or WS_BENCH_ROLE=ws), and the load generator runs in
// another child (WS_BENCH_ROLE=client); this process only starts them, tells them what to do over
// the IPC channel and writes the report. The servers listen on 127.0.0.1, on a free port, and
// print PORT=<n>.
//
// Echo: both servers run side by side. Each round measures each contender once, in an order
// rotated every round: the load generator opens `--connections` WebSocket connections, each
// keeping `--window` text messages of `--payload` bytes in flight (a new one is sent as each
// echo arrives, and every echo is checked byte for byte), for `--warmup` unmeasured seconds then
// `--duration` measured seconds; then it stops sending, waits for the last echoes and closes.
// Figures: echoes per second, and the MEDIAN over rounds of (tornado's msgs/s ÷ raw ws's in the
// same round), which cancels most of the machine's minute-to-minute drift; the server's CPU time
// (from /proc) during the measured seconds gives a CPU-normalised ratio beside it. The default
// window is 8: with 1 message in flight per connection the two processes play ping-pong, neither
// saturates its core, and a slower server lets both sides batch more per event-loop turn, so
// msgs/s says more about that rhythm than about the server's cost per message. The CPU used by
// the rest of the machine during each measurement (from /proc/stat) is recorded too: rounds in
// which it reached a quarter of a core are reported as not quiet.
//
// Idle: for each round and contender (order rotated), a fresh server (node --expose-gc) gets 100
// warm-up connections (one echo each, then closed), is garbage-collected and its
// process.memoryUsage() read; then `--idle-connections` connections are opened (no messages),
// held for `--idle-hold` seconds, the server is garbage-collected and read again, and both the
// server and the load generator count the connections still open. Per connection: (after −
// before) ÷ connections, for rss, heapUsed and external. Figures: medians over rounds, and the
// median of per-round ratios tornado ÷ raw ws. When the soft open-file limit is below
// `--idle-connections` + 1024, the children start through `sh -c 'ulimit -n N; exec node …'`
// (N: the hard limit, at most 65536); a hard limit too low stops the run.
//
// Held: for each contender (one round), a fresh server gets `--hold-connections` idle
// connections from several load-generator processes at once (at most `--per-generator` each, so
// that no process needs more file descriptors than the limit allows); with `--source-addresses yes`
// each connects from its own source address, 127.0.0.2, 127.0.0.3, … (every source address has
// its own ephemeral ports: needed past about 28,000 connections with Linux's default port range,
// but binding each socket first makes opening them several times slower). They are held
// `--hold` seconds, then counted on the server and on the load generators, with the
// server's memory per connection as in the idle test. The server needs the connections plus
// about 30 descriptors of its own: a hard open-file limit of 20,000 allows 19,900 or so, not
// 20,000 (`--hold-connections 0` skips this test).
//
// The tables are printed and written to bench/ws-results.md. Every child is stopped when the run
// ends, fails or is interrupted (and a child whose parent vanished exits on its own).

import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  BENCH_DIR,
  ROOT_DIR,
  childEnv,
  commandOutput,
  describeCommand,
  displayPath,
  gitRevision,
  handleExits,
  machine,
  makeUsage,
  median,
  packageVersion,
  parseOptions,
  procStat,
  roundsTable,
  signalChildren,
} from "./lib.mjs";

const SELF = fileURLToPath(import.meta.url);
const RESULTS_FILE = path.join(BENCH_DIR, "ws-results.md");
const RUNTIME_INDEX = path.join(ROOT_DIR, "dist", "runtime", "index.js");
const RUNTIME_WEBSOCKET = path.join(ROOT_DIR, "dist", "runtime", "websocket.js");
// `ws` as the runtime resolves it (the root package's node_modules/ws), so that both contenders
// and the load generator run the very same copy.
const requireFromRuntime = createRequire(RUNTIME_WEBSOCKET);
const WS_DIR = (() => {
  try {
    return path.dirname(requireFromRuntime.resolve("ws/package.json"));
  } catch {
    return null;
  }
})();

const BASELINE = "ws";
const CONTENDERS = [
  { name: "ws", label: "raw ws", show: "`new WebSocketServer({ host, port: 0 })`, `ws.send(data, { binary: isBinary })` on each message" },
  {
    name: "tornado",
    label: "tornado (this runtime)",
    show: "`Application([[\"/\", Echo]])`, `class Echo extends WebSocketHandler { onMessage(m) { this.writeMessage(m); } }`, default settings",
  },
];
const WARM_CONNECTIONS = 100;
const OPEN_CONCURRENCY = 200; // idle handshakes in flight at once
const CLOCK_TICKS = 100; // USER_HZ on Linux
// A round is "quiet" when, during each contender's measured seconds, the rest of the machine
// (other processes, stolen time) used less than this share of one core.
const QUIET_OTHER_CPU = 0.25;


// ================================================================ shared by the children

/** Answers the parent's IPC requests ({ id, cmd, ... }) with { id, result } or { id, error }. */
function serveRequests(handlers) {
  process.on("message", async (message) => {
    try {
      const handler = handlers[message.cmd];
      if (handler === undefined) throw new Error(`unknown command ${message.cmd}`);
      process.send({ id: message.id, result: await handler(message) });
    } catch (error) {
      process.send({ id: message.id, error: error?.stack ?? String(error) });
    }
  });
  // The parent is gone (killed without cleaning up): do not linger.
  process.on("disconnect", () => process.exit(0));
  // Exit normally on a signal, so that `node --cpu-prof` writes its profile.
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ================================================================ servers

async function serve(which) {
  let open = 0; // connections open now, counted by the server
  let port;
  if (which === "tornado") {
    const { Application } = await import(pathToFileURL(RUNTIME_INDEX).href);
    const { WebSocketHandler } = await import(pathToFileURL(RUNTIME_WEBSOCKET).href);
    class Echo extends WebSocketHandler {
      open() {
        open++;
      }
      onMessage(message) {
        // Not awaited: the echo goes out, and the next message is delivered at once.
        this.writeMessage(message);
      }
      onClose() {
        open--;
      }
    }
    const app = new Application([["/", Echo]]);
    const server = await app.listen(0, "127.0.0.1");
    port = server.port;
  } else {
    const { WebSocketServer } = requireFromRuntime("ws");
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    wss.on("connection", (ws) => {
      open++;
      ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
      ws.on("error", () => {}); // a protocol error closes the socket; nothing to report
      ws.on("close", () => open--);
    });
    await new Promise((resolve) => wss.once("listening", resolve));
    port = wss.address().port;
  }
  serveRequests({
    count: () => ({ open }),
    // A full garbage collection (twice, letting finalizers run in between), then the figures.
    stats: async () => {
      if (typeof globalThis.gc !== "function") throw new Error("the server needs node --expose-gc");
      globalThis.gc();
      await sleep(50);
      globalThis.gc();
      return { open, memory: process.memoryUsage() };
    },
  });
  console.log(`PORT=${port}`);
}

// ================================================================ load generator

async function client() {
  const { WebSocket } = requireFromRuntime("ws");
  // The load generator's own cost kept low, so that the server is the limit: no compression,
  // no UTF-8 validation of the echoes (they are compared byte for byte instead), and an all-zero
  // masking key, which `ws` then skips applying (RFC 6455 lets a client pick any key; the server
  // still unmasks every frame as usual).
  const zeroMask = (mask) => mask.fill(0);
  const WS_OPTIONS = { perMessageDeflate: false, skipUTF8Validation: true, generateMask: zeroMask };

  function connect(url, extra = {}) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { ...WS_OPTIONS, ...extra });
      const onError = (error) => reject(error);
      ws.once("error", onError);
      ws.once("open", () => {
        ws.off("error", onError);
        resolve(ws);
      });
    });
  }

  function closeAll(sockets, how = "close") {
    return Promise.all(
      sockets.map(
        (ws) =>
          new Promise((resolve) => {
            if (ws.readyState === WebSocket.CLOSED) return resolve();
            ws.once("close", resolve);
            if (how === "terminate") ws.terminate();
            else ws.close(1000);
          }),
      ),
    );
  }

  const cpuOf = (pid) => {
    const fields = procStat(pid);
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return fields === null ? null : (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  };
  const ownCpu = () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1e6;
  };
  // CPU seconds the whole machine was busy (user, nice, system, irq, softirq, steal), from
  // /proc/stat; null where there is none.
  const machineBusy = () => {
    try {
      const [user, nice, system, , , irq, softirq, steal] = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
      return (user + nice + system + irq + softirq + (steal || 0)) / CLOCK_TICKS;
    } catch {
      return null;
    }
  };

  /** Echo load on one server; resolves with the measured figures. */
  async function echo({ port, connections, window, payload: size, warmup, duration, serverPid }) {
    const payload = Buffer.from("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/".repeat(Math.ceil(size / 64)).slice(0, size));
    const sendOptions = { binary: false };
    const sockets = await Promise.all(Array.from({ length: connections }, () => connect(`ws://127.0.0.1:${port}/`)));
    let running = true;
    let received = 0;
    let inFlight = 0;
    let wrong = 0;
    let problem = null;
    let drained;
    const allDrained = new Promise((resolve) => (drained = resolve));
    for (const ws of sockets) {
      ws.on("message", (data, isBinary) => {
        if (isBinary || !payload.equals(data)) wrong++;
        received++;
        if (running) ws.send(payload, sendOptions);
        else if (--inFlight === 0) drained();
      });
      ws.on("error", (error) => (problem ??= `socket error: ${error.message}`));
      ws.on("close", (code) => {
        if (running || inFlight > 0) problem ??= `a connection closed during the test (code ${code})`;
      });
    }
    for (const ws of sockets) {
      for (let i = 0; i < window; i++) ws.send(payload, sendOptions);
    }
    inFlight = connections * window;
    await sleep(warmup * 1000);
    const start = { t: performance.now(), received, server: cpuOf(serverPid), client: ownCpu(), busy: machineBusy() };
    await sleep(duration * 1000);
    const end = { t: performance.now(), received, server: cpuOf(serverPid), client: ownCpu(), busy: machineBusy() };
    running = false;
    const timeout = sleep(10_000).then(() => "timeout");
    if ((await Promise.race([allDrained, timeout])) === "timeout") problem ??= `${inFlight} echoes never came back`;
    await closeAll(sockets);
    if (wrong > 0) problem ??= `${wrong} echoes differed from what was sent`;
    if (problem !== null) throw new Error(problem);
    const seconds = (end.t - start.t) / 1000;
    return {
      messages: end.received - start.received,
      seconds,
      rate: (end.received - start.received) / seconds,
      serverCpu: start.server === null || end.server === null ? null : (end.server - start.server) / seconds,
      clientCpu: (end.client - start.client) / seconds,
      // Everything else on the machine (other processes, the VM's stolen time), in cores.
      otherCpu:
        start.server === null || end.server === null || start.busy === null || end.busy === null
          ? null
          : Math.max(0, (end.busy - start.busy - (end.server - start.server) - (end.client - start.client)) / seconds),
    };
  }

  /** Opens `count` connections, sends one message on each, waits for the echoes, closes them. */
  async function warm({ port, count }) {
    const sockets = await Promise.all(Array.from({ length: count }, () => connect(`ws://127.0.0.1:${port}/`)));
    await Promise.all(
      sockets.map(
        (ws) =>
          new Promise((resolve) => {
            ws.once("message", resolve);
            ws.send("warm-up");
          }),
      ),
    );
    await closeAll(sockets);
    return { count };
  }

  let idle = [];
  let idleExpectClose = false;
  let idleClosedEarly = 0;

  /** Opens `count` idle connections, `concurrency` handshakes at a time. */
  async function openIdle({ port, count, concurrency, localAddress }) {
    idle = [];
    idleExpectClose = false;
    idleClosedEarly = 0;
    const started = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < count) {
        next++;
        const ws = await connect(`ws://127.0.0.1:${port}/`, localAddress === undefined ? {} : { localAddress });
        ws.on("error", () => {});
        ws.on("close", () => {
          if (!idleExpectClose) idleClosedEarly++;
        });
        idle.push(ws);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
    return { opened: idle.length, seconds: (performance.now() - started) / 1000 };
  }

  serveRequests({
    echo,
    warm,
    openIdle,
    idleStatus: () => ({ open: idle.filter((ws) => ws.readyState === WebSocket.OPEN).length, closedEarly: idleClosedEarly }),
    expectIdleClose: () => {
      idleExpectClose = true;
      return {};
    },
    closeIdle: async () => {
      idleExpectClose = true;
      await closeAll(idle, "terminate");
      idle = [];
      return {};
    },
  });
  process.send({ ready: true });
}

// ================================================================ the run

async function parent() {
  // -------------------------------------------------------------- options
  const usage = makeUsage(
    "ws.mjs",
    "usage: node bench/ws.mjs [--rounds N] [--duration SECONDS] [--warmup SECONDS] [--connections N]\n" +
      "                         [--window N] [--payload BYTES] [--idle-rounds N] [--idle-connections N]\n" +
      "                         [--idle-hold SECONDS] [--hold-connections N] [--hold SECONDS] [--per-generator N]\n" +
      "                         [--source-addresses yes|no] [--cpu-prof DIR]\n" +
      "contenders: ws (raw ws, the baseline), tornado; --rounds 0 or --idle-rounds 0 skips that test",
  );
  const opts = {
    rounds: 6,
    duration: 4,
    warmup: 1,
    connections: 50,
    window: 8,
    payload: 64,
    idleRounds: 3,
    idleConnections: 10_000,
    idleHold: 10,
    holdConnections: 20_000,
    hold: 10,
    perGenerator: 10_000,
    sourceAddresses: false,
    cpuProf: null,
  };
  parseOptions(process.argv.slice(2), usage, (key, value, arg) => {
    const camel = key.replace(/-(\w)/g, (_, c) => c.toUpperCase());
    switch (key) {
      case "rounds":
      case "idle-rounds":
      case "connections":
      case "window":
      case "payload":
      case "idle-connections":
      case "hold-connections":
      case "per-generator": {
        const n = Number(value);
        const min = key === "rounds" || key === "idle-rounds" || key === "hold-connections" ? 0 : 1;
        if (!Number.isInteger(n) || n < min) usage(`${arg} must be a whole number >= ${min}`);
        opts[camel] = n;
        break;
      }
      case "duration":
      case "warmup":
      case "idle-hold":
      case "hold": {
        const n = Number(value);
        const min = key === "duration" ? 1 : 0;
        if (!Number.isFinite(n) || n < min) usage(`${arg} must be a number of seconds (>= ${min})`);
        opts[camel] = n;
        break;
      }
      case "source-addresses":
        if (value !== "yes" && value !== "no") usage(`${arg} must be yes or no`);
        opts.sourceAddresses = value === "yes";
        break;
      case "cpu-prof":
        opts.cpuProf = path.resolve(value);
        break;
      default:
        usage(`unknown option ${arg}`);
    }
  });
  const command = describeCommand(import.meta.url, "bench:ws");

  // -------------------------------------------------------------- children
  /** @type {Set<import("node:child_process").ChildProcess>} */
  const children = new Set();
  let shuttingDown = false;
  const stopAll = () => {
    shuttingDown = true;
    signalChildren(children, "SIGTERM");
  };
  const fail = handleExits({ cleanUp: stopAll, stopping: "stopping the servers and the load generator" });

  // Each server holds up to --idle-connections (or --hold-connections) sockets, and each load
  // generator up to --idle-connections or --per-generator, plus descriptors of their own.
  const OWN_FDS = 64;
  const fdNeed = Math.max(opts.idleRounds > 0 ? opts.idleConnections : 0, opts.holdConnections) + OWN_FDS;
  const [softFd, hardFd] = (commandOutput("sh", ["-c", "ulimit -Sn; ulimit -Hn"]) ?? "").split("\n");
  const asLimit = (s) => (s === "unlimited" ? Infinity : Number(s));
  let raiseFdTo = null;
  if ((opts.idleRounds > 0 || opts.holdConnections > 0) && !(asLimit(softFd) >= fdNeed)) {
    if (!(asLimit(hardFd) >= fdNeed)) {
      fail(
        `the open-file limit is too low: soft ${softFd}, hard ${hardFd}, need ${fdNeed} for a server holding ${Math.max(opts.idleConnections, opts.holdConnections)} connections ` +
          `(raise the hard limit, e.g. \`prlimit --nofile=${fdNeed + 1024} -- node bench/ws.mjs\` as root, or pass a smaller --idle-connections / --hold-connections)`,
      );
    }
    raiseFdTo = Math.min(asLimit(hardFd), 65536);
  }
  const fdLine = `open-file limit ${softFd} (hard ${hardFd})${raiseFdTo === null ? "" : `, raised to ${raiseFdTo} for the children with \`sh -c 'ulimit -n ${raiseFdTo}; exec node …'\``}`;

  /**
   * Starts this file in a child process with WS_BENCH_ROLE=role and an IPC channel; resolves once
   * it is ready (a server printed PORT=<n>, the load generator said so) with
   * { child, port, request(cmd, args) }.
   */
  function startChild(name, { nodeArgs = [] } = {}) {
    const argv = [...nodeArgs, SELF];
    const [file, args] =
      raiseFdTo === null ? [process.execPath, argv] : ["sh", ["-c", `ulimit -n ${raiseFdTo} && exec "$0" "$@"`, process.execPath, ...argv]];
    const child = spawn(file, args, {
      cwd: BENCH_DIR,
      env: { ...childEnv(), WS_BENCH_ROLE: name, NODE_ENV: "production" },
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    });
    children.add(child);
    const handle = { child, port: null, stopping: false };
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
      process.stderr.write(`[${name}] ${chunk}`);
    });
    let nextId = 0;
    const pending = new Map();
    child.on("message", (message) => {
      const p = pending.get(message.id);
      if (p === undefined) return;
      pending.delete(message.id);
      if (message.error !== undefined) p.reject(new Error(`${name}: ${message.error}`));
      else p.resolve(message.result);
    });
    handle.request = (cmd, args = {}, timeoutMs = 120_000) =>
      new Promise((resolve, reject) => {
        const id = ++nextId;
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${name} did not answer ${cmd} within ${timeoutMs / 1000} s`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (r) => (clearTimeout(timer), resolve(r)),
          reject: (e) => (clearTimeout(timer), reject(e)),
        });
        child.send({ id, cmd, ...args });
      });
    const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
    handle.stop = async () => {
      handle.stopping = true;
      signalChildren([child], "SIGTERM");
      const killer = setTimeout(() => signalChildren([child], "SIGKILL"), 10_000);
      await exited;
      clearTimeout(killer);
    };
    void exited.then(({ code, signal }) => {
      children.delete(child);
      // A terminal's Ctrl-C reaches the children too; give our own handler a moment first.
      setTimeout(() => {
        if (!shuttingDown && !handle.stopping) fail(`${name} exited (code ${code}, signal ${signal}) during the run\n${stderr}`);
      }, 200).unref();
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not start within 15 s\n${stderr}`)), 15_000);
      const ready = () => {
        clearTimeout(timer);
        resolve(handle);
      };
      if (name === "client") {
        child.once("message", (m) => m?.ready && ready());
        child.stdout.resume();
        return;
      }
      let stdout = "";
      child.stdout.setEncoding("utf8");
      child.stdout.on("data", (chunk) => {
        stdout += chunk;
        const match = /^PORT=(\d+)\s*$/m.exec(stdout);
        if (match) {
          handle.port = Number(match[1]);
          child.stdout.removeAllListeners("data");
          child.stdout.resume();
          ready();
        }
      });
    });
  }

  const startServer = (contender, { profile = false } = {}) =>
    startChild(contender.name, {
      nodeArgs: ["--expose-gc", ...(profile ? ["--cpu-prof", "--cpu-prof-dir", path.join(opts.cpuProf, contender.name)] : [])],
    });

  /** Polls the server's count of open connections until it is `want` (or the time is up). */
  async function waitForCount(server, want, timeoutMs) {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const { open } = await server.request("count");
      if (open === want || performance.now() > deadline) return open;
      await sleep(50);
    }
  }

  const fmtInt = (n) => Math.round(n).toLocaleString("en-US");
  const fmtRatio = (n) => `${n.toFixed(2)}x`;
  const fmtPct = (n) => (n === null ? "n/a" : `${Math.round(n * 100)}%`);
  const order = (round) => CONTENDERS.map((_, i) => CONTENDERS[(i + round) % CONTENDERS.length]);
  const medianOrNull = (xs) => (xs.length > 0 && xs.every((x) => x !== null) ? median(xs) : null);

  // -------------------------------------------------------------- main
  if (!existsSync(RUNTIME_INDEX) || !existsSync(RUNTIME_WEBSOCKET)) {
    fail("dist/runtime is missing: run `npm run build` at the repository root first");
  }
  if (WS_DIR === null) fail("the runtime's `ws` is missing: run `npm ci` (or `npm install`) at the repository root first");
  const wsVersion = packageVersion(WS_DIR);

  const echoEstimate = opts.rounds * CONTENDERS.length * (opts.warmup + opts.duration + 0.5);
  const idleEstimate =
    opts.idleRounds * CONTENDERS.length * (opts.idleHold + 3 + opts.idleConnections / 3000) +
    (opts.holdConnections > 0 ? CONTENDERS.length * (opts.hold + 5 + opts.holdConnections / 3000) : 0);
  console.log(
    `WebSockets: tornado vs raw ws ${wsVersion} (${path.relative(ROOT_DIR, WS_DIR)}); ` +
      `echo: ${opts.rounds} rounds x (${opts.warmup} s warmup + ${opts.duration} s), ${opts.connections} connections x ${opts.window} in flight, ${opts.payload}-byte text; ` +
      `idle: ${opts.idleRounds} rounds x ${opts.idleConnections} connections held ${opts.idleHold} s; ` +
      `held: ${opts.holdConnections} connections held ${opts.hold} s; ${fdLine}; ` +
      `about ${Math.ceil((echoEstimate + idleEstimate) / 60)} min`,
  );

  const loadGenerator = await startChild("client");
  const started = performance.now();

  // -------------------------------------------------------------- echo
  /** echo[name] = [{ rate, ratio, serverCpu, cpuRatio, clientCpu, messages }], one per round */
  const echo = Object.fromEntries(CONTENDERS.map((c) => [c.name, []]));
  if (opts.rounds > 0) {
    const servers = new Map();
    for (const contender of CONTENDERS) {
      servers.set(contender.name, await startServer(contender, { profile: opts.cpuProf !== null }));
    }
    console.log(`\nEcho; servers up: ${CONTENDERS.map((c) => `${c.name} :${servers.get(c.name).port}`).join(", ")}`);
    for (let round = 0; round < opts.rounds; round++) {
      const r = {};
      for (const contender of order(round)) {
        const server = servers.get(contender.name);
        try {
          r[contender.name] = await loadGenerator.request("echo", {
            port: server.port,
            connections: opts.connections,
            window: opts.window,
            payload: opts.payload,
            warmup: opts.warmup,
            duration: opts.duration,
            serverPid: server.child.pid,
          });
        } catch (error) {
          fail(`echo, round ${round + 1}, ${contender.name}: ${error.message}`);
        }
      }
      const base = r[BASELINE];
      const line = [];
      for (const contender of CONTENDERS) {
        const s = r[contender.name];
        const cpuRatio = s.serverCpu === null || base.serverCpu === null ? null : s.rate / s.serverCpu / (base.rate / base.serverCpu);
        echo[contender.name].push({ ...s, ratio: s.rate / base.rate, cpuRatio });
        line.push(
          `${contender.name} ${fmtInt(s.rate)} msg/s (${(s.rate / base.rate).toFixed(2)}x, server cpu ${fmtPct(s.serverCpu)}, ` +
            `load cpu ${fmtPct(s.clientCpu)}, other ${fmtPct(s.otherCpu)})`,
        );
      }
      console.log(`  round ${round + 1}/${opts.rounds}: ${line.join(", ")}`);
    }
    for (const server of servers.values()) await server.stop();
  }

  // -------------------------------------------------------------- idle
  /** idle[name] = [{ rss, heapUsed, external, ratios..., serverOpen, clientOpen, closedEarly, openSeconds }] */
  const idle = Object.fromEntries(CONTENDERS.map((c) => [c.name, []]));
  if (opts.idleRounds > 0) {
    console.log(`\nIdle: ${opts.idleConnections} connections per server, held ${opts.idleHold} s`);
    for (let round = 0; round < opts.idleRounds; round++) {
      const r = {};
      for (const contender of order(round)) {
        const where = `idle, round ${round + 1}, ${contender.name}`;
        const server = await startServer(contender);
        try {
          await loadGenerator.request("warm", { port: server.port, count: WARM_CONNECTIONS });
          const left = await waitForCount(server, 0, 10_000);
          if (left !== 0) throw new Error(`${left} warm-up connections still open on the server`);
          const before = await server.request("stats");
          const opened = await loadGenerator.request("openIdle", {
            port: server.port,
            count: opts.idleConnections,
            concurrency: OPEN_CONCURRENCY,
          });
          const seen = await waitForCount(server, opts.idleConnections, 30_000);
          if (seen !== opts.idleConnections) throw new Error(`the server counts ${seen} open connections, not ${opts.idleConnections}`);
          await sleep(opts.idleHold * 1000);
          const after = await server.request("stats");
          const status = await loadGenerator.request("idleStatus");
          const n = opts.idleConnections;
          r[contender.name] = {
            rss: (after.memory.rss - before.memory.rss) / n,
            heapUsed: (after.memory.heapUsed - before.memory.heapUsed) / n,
            external: (after.memory.external - before.memory.external) / n,
            before: before.memory,
            after: after.memory,
            serverOpen: after.open,
            clientOpen: status.open,
            closedEarly: status.closedEarly,
            openSeconds: opened.seconds,
          };
          await loadGenerator.request("expectIdleClose");
        } catch (error) {
          fail(`${where}: ${error.message}`);
        }
        await server.stop();
        await loadGenerator.request("closeIdle");
      }
      const base = r[BASELINE];
      const line = [];
      for (const contender of CONTENDERS) {
        const s = r[contender.name];
        const row = { ...s, rssRatio: s.rss / base.rss, heapRatio: s.heapUsed / base.heapUsed };
        idle[contender.name].push(row);
        line.push(
          `${contender.name} rss ${fmtInt(s.rss)} B/conn, heap ${fmtInt(s.heapUsed)} B/conn, ` +
            `open ${s.serverOpen}/${s.clientOpen}${s.closedEarly ? ` (${s.closedEarly} closed early)` : ""}, opened in ${s.openSeconds.toFixed(1)} s`,
        );
      }
      console.log(`  round ${round + 1}/${opts.idleRounds}: ${line.join("; ")}`);
    }
  }
  // -------------------------------------------------------------- held
  /** held[name] = { serverOpen, clientOpen, closedEarly, rss, heapUsed, openSeconds, generators } */
  const held = {};
  if (opts.holdConnections > 0) {
    const generators = Math.ceil(opts.holdConnections / opts.perGenerator);
    console.log(`\nHeld: ${opts.holdConnections} connections per server from ${generators} load generators${opts.sourceAddresses ? " (from 127.0.0.2 on)" : ""}, held ${opts.hold} s`);
    const extra = [];
    for (let g = 0; g < generators; g++) extra.push(await startChild("client"));
    for (const contender of CONTENDERS) {
      const server = await startServer(contender);
      try {
        const before = await server.request("stats");
        const shares = extra.map((_, g) => Math.floor(opts.holdConnections / generators) + (g < opts.holdConnections % generators ? 1 : 0));
        const t0 = performance.now();
        await Promise.all(
          extra.map((generator, g) =>
            generator.request(
              "openIdle",
              { port: server.port, count: shares[g], concurrency: Math.max(1, Math.floor(OPEN_CONCURRENCY / generators)), localAddress: opts.sourceAddresses ? `127.0.0.${g + 2}` : undefined },
              300_000,
            ),
          ),
        );
        const openSeconds = (performance.now() - t0) / 1000;
        const seen = await waitForCount(server, opts.holdConnections, 60_000);
        if (seen !== opts.holdConnections) throw new Error(`the server counts ${seen} open connections, not ${opts.holdConnections}`);
        await sleep(opts.hold * 1000);
        const after = await server.request("stats");
        const statuses = await Promise.all(extra.map((generator) => generator.request("idleStatus")));
        const n = opts.holdConnections;
        held[contender.name] = {
          serverOpen: after.open,
          clientOpen: statuses.reduce((sum, st) => sum + st.open, 0),
          closedEarly: statuses.reduce((sum, st) => sum + st.closedEarly, 0),
          rss: (after.memory.rss - before.memory.rss) / n,
          heapUsed: (after.memory.heapUsed - before.memory.heapUsed) / n,
          openSeconds,
        };
        await Promise.all(extra.map((generator) => generator.request("expectIdleClose")));
      } catch (error) {
        fail(`held, ${contender.name}: ${error.message}`);
      }
      await server.stop();
      await Promise.all(extra.map((generator) => generator.request("closeIdle", {}, 300_000)));
      const h = held[contender.name];
      console.log(`  ${contender.name}: open ${h.serverOpen} on the server / ${h.clientOpen} on the load generators after ${opts.hold} s, rss ${fmtInt(h.rss)} B/conn, heap ${fmtInt(h.heapUsed)} B/conn, opened in ${h.openSeconds.toFixed(1)} s`);
    }
    for (const generator of extra) await generator.stop();
  }

  await loadGenerator.stop();
  const elapsed = (performance.now() - started) / 1000;

  // -------------------------------------------------------------- report
  const goals = [];
  let echoTable = "";
  let echoRounds = "";
  if (opts.rounds > 0) {
    const rows = CONTENDERS.map((c) => {
      const list = echo[c.name];
      const ratios = list.map((s) => s.ratio);
      return {
        contender: c,
        rate: median(list.map((s) => s.rate)),
        ratio: median(ratios),
        min: Math.min(...ratios),
        max: Math.max(...ratios),
        serverCpu: medianOrNull(list.map((s) => s.serverCpu)),
        cpuRatio: medianOrNull(list.map((s) => s.cpuRatio)),
        clientCpu: median(list.map((s) => s.clientCpu)),
        otherCpu: medianOrNull(list.map((s) => s.otherCpu)),
      };
    });
    echoTable =
      "| contender | median msgs/s | median ratio to raw ws | min–max ratio | median server CPU | median CPU-normalised ratio | median load-generator CPU | median CPU of the rest of the machine |\n" +
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n" +
      rows
        .map(
          (r) =>
            `| ${r.contender.label} | ${fmtInt(r.rate)} | ${fmtRatio(r.ratio)} | ${r.min.toFixed(2)}–${r.max.toFixed(2)} | ` +
            `${fmtPct(r.serverCpu)} | ${r.cpuRatio === null ? "n/a" : fmtRatio(r.cpuRatio)} | ${fmtPct(r.clientCpu)} | ${fmtPct(r.otherCpu)} |`,
        )
        .join("\n");
    const t = rows.find((r) => r.contender.name === "tornado");
    const quiet = echo.tornado
      .map((s, i) => ({ t: s, b: echo[BASELINE][i] }))
      .filter(({ t: a, b }) => a.otherCpu !== null && b.otherCpu !== null && a.otherCpu < QUIET_OTHER_CPU && b.otherCpu < QUIET_OTHER_CPU);
    // The goal is judged on every round when all were quiet, on the quiet ones when they are at
    // least half, and not at all otherwise: with another core's worth of work on a 2-core
    // machine, both processes get half a core each and the ratio says nothing about the server.
    const known = echo.tornado[0].otherCpu !== null;
    const verdict = (ratio) => `goal ≥ 0.95x: ${ratio >= 0.95 ? "met" : "NOT met"}`;
    let echoGoal = `- Echo: tornado ${fmtRatio(t.ratio)} raw ws's msgs/s${t.cpuRatio === null ? "" : ` (CPU-normalised ${fmtRatio(t.cpuRatio)})`}`;
    if (!known || quiet.length === opts.rounds) {
      echoGoal += `; ${verdict(t.ratio)}${known ? `; every round was quiet (the rest of the machine used < ${fmtPct(QUIET_OTHER_CPU)} of a core)` : ""}`;
    } else {
      const busy = `${opts.rounds - quiet.length} of ${opts.rounds} rounds were not quiet (the rest of the machine used ≥ ${fmtPct(QUIET_OTHER_CPU)} of a core)`;
      if (quiet.length * 2 >= opts.rounds) {
        const qRatio = median(quiet.map((q) => q.t.ratio));
        echoGoal +=
          `; ${busy}; the ${quiet.length} quiet rounds alone: ${fmtRatio(qRatio)} (CPU-normalised ` +
          `${fmtRatio(median(quiet.map((q) => q.t.cpuRatio)))}); ${verdict(qRatio)}, on the quiet rounds`;
      } else {
        echoGoal += `; ${busy}: goal ≥ 0.95x NOT JUDGED, rerun on a quieter machine`;
      }
    }
    goals.push(echoGoal);
    echoRounds =
      `\nEcho msgs/s per round (ratio to raw ws in that round; server CPU; load-generator CPU; CPU of the rest of the machine). Order: round 1 ${order(0).map((c) => c.name).join(", ")}, then rotated:\n\n` +
      roundsTable(
        CONTENDERS.map((c) => c.name),
        opts.rounds,
        (i, name) => {
          const s = echo[name][i];
          return `${fmtInt(s.rate)} (${s.ratio.toFixed(2)}; ${fmtPct(s.serverCpu)}; ${fmtPct(s.clientCpu)}; ${fmtPct(s.otherCpu)})`;
        },
      ) +
      "\n";
  }
  let idleTable = "";
  let idleRoundsText = "";
  if (opts.idleRounds > 0) {
    const rows = CONTENDERS.map((c) => {
      const list = idle[c.name];
      return {
        contender: c,
        rss: median(list.map((s) => s.rss)),
        rssRatio: median(list.map((s) => s.rssRatio)),
        rssMin: Math.min(...list.map((s) => s.rssRatio)),
        rssMax: Math.max(...list.map((s) => s.rssRatio)),
        heapUsed: median(list.map((s) => s.heapUsed)),
        heapRatio: median(list.map((s) => s.heapRatio)),
        external: median(list.map((s) => s.external)),
        kept: list.every((s) => s.serverOpen === opts.idleConnections && s.clientOpen === opts.idleConnections && s.closedEarly === 0),
        minOpen: Math.min(...list.map((s) => Math.min(s.serverOpen, s.clientOpen))),
        openSeconds: median(list.map((s) => s.openSeconds)),
      };
    });
    idleTable =
      `| contender | median rss B/conn | median rss ratio to raw ws | min–max rss ratio | median heapUsed B/conn | median heapUsed ratio to raw ws | median external B/conn | all ${fmtInt(opts.idleConnections)} open after ${opts.idleHold} s | median s to open them |\n` +
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |\n" +
      rows
        .map(
          (r) =>
            `| ${r.contender.label} | ${fmtInt(r.rss)} | ${fmtRatio(r.rssRatio)} | ${r.rssMin.toFixed(2)}–${r.rssMax.toFixed(2)} | ` +
            `${fmtInt(r.heapUsed)} | ${fmtRatio(r.heapRatio)} | ${fmtInt(r.external)} | ` +
            `${r.kept ? "yes, every round" : `NO (fewest: ${fmtInt(r.minOpen)})`} | ${r.openSeconds.toFixed(1)} |`,
        )
        .join("\n");
    const t = rows.find((r) => r.contender.name === "tornado");
    const b = rows.find((r) => r.contender.name === BASELINE);
    goals.push(
      `- Idle memory: tornado ${fmtRatio(t.rssRatio)} raw ws's rss per connection (${fmtInt(t.rss)} vs ${fmtInt(b.rss)} B; goal ≤ 1.10x: ${t.rssRatio <= 1.1 ? "met" : "NOT met"}), ` +
        `${fmtRatio(t.heapRatio)} its heapUsed per connection (${fmtInt(t.heapUsed)} vs ${fmtInt(b.heapUsed)} B; goal ≤ 1.10x: ${t.heapRatio <= 1.1 ? "met" : "NOT met"})`,
      `- Idle connections kept open: tornado ${t.kept ? "all, every round" : `NOT all (fewest ${fmtInt(t.minOpen)})`}; raw ws ${b.kept ? "all, every round" : `NOT all (fewest ${fmtInt(b.minOpen)})`}`,
    );
    const mb = (bytes) => (bytes / 2 ** 20).toFixed(1);
    idleRoundsText =
      `\nIdle bytes per connection per round: rss / heapUsed / external (rss ratio to raw ws in that round; open on the server / on the load generator after the hold). Order: round 1 ${order(0).map((c) => c.name).join(", ")}, then rotated:\n\n` +
      roundsTable(
        CONTENDERS.map((c) => c.name),
        opts.idleRounds,
        (i, name) => {
          const s = idle[name][i];
          return `${fmtInt(s.rss)} / ${fmtInt(s.heapUsed)} / ${fmtInt(s.external)} (${s.rssRatio.toFixed(2)}; ${s.serverOpen} / ${s.clientOpen}${s.closedEarly ? `, ${s.closedEarly} closed early` : ""})`;
        },
      ) +
      "\n\nServer memory before → after, MiB (rss; heapUsed; external), per round:\n\n" +
      roundsTable(
        CONTENDERS.map((c) => c.name),
        opts.idleRounds,
        (i, name) => {
          const { before: x, after: y } = idle[name][i];
          return `${mb(x.rss)} → ${mb(y.rss)}; ${mb(x.heapUsed)} → ${mb(y.heapUsed)}; ${mb(x.external)} → ${mb(y.external)}`;
        },
      ) +
      "\n";
  }

  let heldTable = "";
  if (opts.holdConnections > 0) {
    const generators = Math.ceil(opts.holdConnections / opts.perGenerator);
    heldTable =
      `| contender | open on the server after ${opts.hold} s | open on the load generators | rss B/conn | heapUsed B/conn | s to open them |\n` +
      "| --- | ---: | ---: | ---: | ---: | ---: |\n" +
      CONTENDERS.map((c) => {
        const h = held[c.name];
        return `| ${c.label} | ${fmtInt(h.serverOpen)} | ${fmtInt(h.clientOpen)}${h.closedEarly ? ` (${h.closedEarly} closed early)` : ""} | ${fmtInt(h.rss)} | ${fmtInt(h.heapUsed)} | ${h.openSeconds.toFixed(1)} |`;
      }).join("\n");
    for (const c of CONTENDERS) {
      const h = held[c.name];
      const all = h.serverOpen === opts.holdConnections && h.clientOpen === opts.holdConnections && h.closedEarly === 0;
      goals.push(`- Held: ${c.label} ${all ? "kept all" : "did NOT keep all"} ${fmtInt(opts.holdConnections)} connections open for ${opts.hold} s (${fmtInt(h.serverOpen)} on the server, ${fmtInt(h.clientOpen)} on the ${generators} load generators)`);
    }
  }

  const { date, node, cpu } = machine();
  const revision = gitRevision(["runtime"]);
  const markdown = `# WebSocket benchmark results

- Date: ${date}
- Runtime: ${revision}
- Node.js: ${node}
- CPU: ${cpu}
- Command: ${command}
- ws: ${wsVersion}, the runtime's own copy (\`${path.relative(ROOT_DIR, WS_DIR)}\`), for the raw server and the load generator alike
- Contenders, each in its own process (\`node --expose-gc\`), on 127.0.0.1:
${CONTENDERS.map((c) => `  - ${c.label}: ${c.show}`).join("\n")}
- Load generator: one more process, \`ws\` clients (no compression, no UTF-8 validation of the echoes, which are compared byte for byte instead, and an all-zero masking key, so that \`ws\` skips masking: less work for the load generator, the same work for the servers)
${
  opts.rounds > 0
    ? `- Echo: ${opts.connections} connections, each with ${opts.window} text message${opts.window === 1 ? "" : "s"} of ${opts.payload} bytes in flight (the next sent as each echo arrives; every echo checked byte for byte); ${opts.rounds} alternating rounds of ${opts.warmup} s warmup + ${opts.duration} s measured per contender (order rotated every round), fresh connections each time. Figures: median over rounds of echoes/s, and of the ratio to raw ws's in the same round. Server CPU: the server's CPU time (user + system, from /proc) during the measured seconds ÷ wall time; CPU-normalised ratio: (msgs/s ÷ server CPU) relative to raw ws's in the same round. Load-generator CPU likewise (near 100% means it, not the server, was the limit). CPU of the rest of the machine: the busy time in /proc/stat (stolen time included) minus the server's and the load generator's, in cores; a round is quiet when it stayed below ${fmtPct(QUIET_OTHER_CPU)} of a core for both contenders\n`
    : ""
}${
  opts.idleRounds > 0
    ? `- Idle: per round and contender (order rotated every round), a fresh server; ${WARM_CONNECTIONS} warm-up connections (one echo each, closed); a full GC (\`gc()\` twice) and \`process.memoryUsage()\` (before); ${fmtInt(opts.idleConnections)} connections opened (${OPEN_CONCURRENCY} handshakes at a time, no messages) and held ${opts.idleHold} s; GC and \`process.memoryUsage()\` again (after), and the connections still open counted on the server and on the load generator. Per connection: (after − before) ÷ ${fmtInt(opts.idleConnections)}. Figures: medians over ${opts.idleRounds} rounds, and the median of per-round ratios to raw ws\n`
    : ""
}${
  opts.holdConnections > 0
    ? `- Held: per contender, a fresh server; ${fmtInt(opts.holdConnections)} connections opened at once from ${Math.ceil(opts.holdConnections / opts.perGenerator)} load-generator processes (at most ${fmtInt(opts.perGenerator)} each${opts.sourceAddresses ? ", each from its own source address 127.0.0.2, 127.0.0.3, …" : ", from 127.0.0.1"}), held ${opts.hold} s, then counted on both sides; memory per connection as in the idle test (without the warm-up)\n`
    : ""
}- Limits: ${fdLine}
- Wall time of the measurements: ${elapsed.toFixed(0)} s
${echoTable ? `\n## Echo\n\n${echoTable}\n` : ""}${idleTable ? `\n## Idle connections\n\n${idleTable}\n` : ""}${heldTable ? `\n## Held connections\n\n${heldTable}\n` : ""}
## Goal check

Goals: echo msgs/s ≥ 0.95x raw ws's; idle memory per connection within 10% of raw ws's (≤ 1.10x), all connections kept open; 20,000 connections held.

${goals.join("\n")}

## Per round
${echoRounds}${idleRoundsText}`;
  writeFileSync(RESULTS_FILE, markdown);

  if (echoTable) console.log(`\n${echoTable}`);
  if (idleTable) console.log(`\n${idleTable}`);
  if (heldTable) console.log(`\n${heldTable}`);
  console.log(`\n${goals.join("\n")}\n`);
  console.log(`Written to ${displayPath(RESULTS_FILE)}`);
  stopAll();
}

// ================================================================ which part this process plays

const role = process.env.WS_BENCH_ROLE;
if (role === "tornado" || role === "ws") await serve(role);
else if (role === "client") await client();
else if (role !== undefined) throw new Error(`unknown WS_BENCH_ROLE ${role}`);
else await parent();

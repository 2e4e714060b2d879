#!/usr/bin/env node
// HTTP client throughput: this runtime's AsyncHTTPClient.fetch vs undici's fetch, against a
// local node:http server.
//
//   node bench/httpclient.mjs [--rounds 6] [--duration 5] [--warmup 1] [--concurrency 50]
//   npm run build && cd bench && npm ci && node httpclient.mjs      (from the repository root)
//
// Every party is a whole Node.js process: the server (this file with HTTPCLIENT_BENCH_ROLE=server,
// a bare node:http server answering GET / with "Hello, world", keep-alive) runs in one child for
// the whole run, and each measurement runs the client in a fresh child (HTTPCLIENT_BENCH_ROLE=
// tornado or undici), so the two clients never share a process, a heap or a JIT. A client child
// runs `--concurrency` loops, each awaiting one GET at a time, for `--warmup` unmeasured seconds
// then `--duration` measured seconds, checks every answer (status 200 and the exact body) and
// prints its counts as JSON. Both clients are limited to the same number of connections:
//   tornado  new AsyncHTTPClient({ maxClients: N }) from dist/runtime/httpclient.js (node:http
//            Agent with keep-alive underneath), response.body checked
//   undici   undici's fetch (the pinned version in bench/node_modules, not Node's bundled copy)
//            with dispatcher new Agent({ connections: N }) (keep-alive by default),
//            await response.text() checked
// Rounds alternate the contenders (A, B, then B, A, …). Figures: median req/s over rounds, and
// the MEDIAN over rounds of (tornado's req/s ÷ undici's in the same round), which cancels most of
// the machine's minute-to-minute drift; the client's CPU time (from /proc) during the run is
// recorded too. Any error or wrong answer fails the run. The tables are printed and written to
// bench/httpclient-results.md.

import { spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  BENCH_DIR,
  ROOT_DIR,
  describeCommand,
  displayPath,
  gitRevision,
  handleExits,
  machine,
  makeUsage,
  median,
  packageVersion,
  parseOptions,
  roundsTable,
  signalChildren,
} from "./lib.mjs";

const BODY = "Hello, world";
const SELF = fileURLToPath(import.meta.url);
const ROLE = process.env.HTTPCLIENT_BENCH_ROLE;

// ---------------------------------------------------------------- child roles

if (ROLE === "server") {
  const body = Buffer.from(BODY);
  const server = http.createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": body.length });
    res.end(body);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1", () => console.log(`PORT=${server.address().port}`));
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));
} else if (ROLE === "tornado" || ROLE === "undici") {
  const { url, concurrency, warmup, duration } = JSON.parse(process.env.HTTPCLIENT_BENCH_ARGS);
  let get;
  let close;
  if (ROLE === "tornado") {
    const { AsyncHTTPClient } = await import(path.join(ROOT_DIR, "dist", "runtime", "httpclient.js"));
    const client = new AsyncHTTPClient({ maxClients: concurrency });
    get = async () => {
      const response = await client.fetch(url, { raiseError: false });
      return [response.code, response.body.toString("utf8")];
    };
    close = () => client.close();
  } else {
    const { fetch, Agent } = await import("undici");
    const dispatcher = new Agent({ connections: concurrency });
    get = async () => {
      const response = await fetch(url, { dispatcher });
      return [response.status, await response.text()];
    };
    close = () => dispatcher.close();
  }
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  let measuring = false;
  let stop = false;
  let count = 0;
  let bad = 0;
  let firstBad = null;
  const loop = async () => {
    while (!stop) {
      let status;
      let text;
      try {
        [status, text] = await get();
      } catch (error) {
        status = "error";
        text = String(error?.message ?? error);
      }
      if (status !== 200 || text !== BODY) {
        bad++;
        firstBad ??= `${status} ${JSON.stringify(text).slice(0, 200)}`;
      } else if (measuring) {
        count++;
      }
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  await new Promise((r) => setTimeout(r, warmup * 1000));
  measuring = true;
  const start = performance.now();
  const cpuStart = cpu();
  await new Promise((r) => setTimeout(r, duration * 1000));
  measuring = false;
  const seconds = (performance.now() - start) / 1000;
  const cpuSeconds = cpu() - cpuStart;
  stop = true;
  await Promise.all(loops);
  await close();
  process.stdout.write(`${JSON.stringify({ count, seconds, cpuSeconds, bad, firstBad })}\n`);
  process.exit(0);
} else if (ROLE !== undefined) {
  console.error(`unknown HTTPCLIENT_BENCH_ROLE ${ROLE}`);
  process.exit(2);
} else {
  await runner();
}

// ---------------------------------------------------------------- runner

async function runner() {
  const CONTENDERS = [
    { name: "tornado", label: "AsyncHTTPClient.fetch (this runtime)" },
    { name: "undici", label: `undici fetch ${packageVersion(path.join(BENCH_DIR, "node_modules", "undici")) ?? "?"}` },
  ];
  const usage = makeUsage(
    "httpclient.mjs",
    "usage: node bench/httpclient.mjs [--rounds N] [--duration S] [--warmup S] [--concurrency N]\n",
  );
  const opts = { rounds: 6, duration: 5, warmup: 1, concurrency: 50 };
  parseOptions(process.argv.slice(2), usage, (key, value, arg) => {
    if (!(key in opts)) usage(`unknown option ${arg}`);
    const n = Number(value);
    const integer = key === "rounds" || key === "concurrency";
    if (!Number.isFinite(n) || n < (key === "warmup" ? 0 : 1) || (integer && !Number.isInteger(n))) {
      usage(`${arg} must be a ${integer ? "positive integer" : "number of seconds"}`);
    }
    opts[key] = n;
  });
  const command = describeCommand(import.meta.url, "bench:httpclient");

  /** @type {Set<import("node:child_process").ChildProcess>} */
  const children = new Set();
  let shuttingDown = false;
  const stopAll = () => {
    shuttingDown = true;
    signalChildren(children, "SIGTERM");
  };
  const fail = handleExits({ cleanUp: stopAll, stopping: "stopping the server and clients" });

  if (!existsSync(path.join(ROOT_DIR, "dist", "runtime", "httpclient.js"))) {
    fail("dist/runtime/httpclient.js is missing: run `npm run build` at the repository root first");
  }
  if (!existsSync(path.join(BENCH_DIR, "node_modules", "undici"))) {
    fail("bench/node_modules/undici is missing: run `npm ci` in bench/ first");
  }

  // The server.
  const server = spawn(process.execPath, [SELF], {
    cwd: BENCH_DIR,
    env: { ...process.env, HTTPCLIENT_BENCH_ROLE: "server" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.add(server);
  server.on("exit", (code, signal) => {
    children.delete(server);
    if (!shuttingDown) fail(`the server exited (code ${code}, signal ${signal}) during the run`);
  });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the server did not print PORT=<n> within 15 s")), 15_000);
    let out = "";
    server.stdout.setEncoding("utf8");
    server.stdout.on("data", (chunk) => {
      out += chunk;
      const m = /^PORT=(\d+)\s*$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        server.stdout.resume();
        resolve(Number(m[1]));
      }
    });
  });
  const url = `http://127.0.0.1:${port}/`;

  const measure = (name) =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [SELF], {
        cwd: BENCH_DIR,
        env: {
          ...process.env,
          HTTPCLIENT_BENCH_ROLE: name,
          HTTPCLIENT_BENCH_ARGS: JSON.stringify({ url, concurrency: opts.concurrency, warmup: opts.warmup, duration: opts.duration }),
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      children.add(child);
      let out = "";
      let err = "";
      child.stdout.on("data", (c) => (out += c));
      child.stderr.on("data", (c) => (err += c));
      child.on("exit", (code) => {
        children.delete(child);
        if (code !== 0) fail(`client ${name} exited with code ${code}\n${err}`);
        const result = JSON.parse(out.trim().split("\n").pop());
        if (result.bad > 0) fail(`client ${name}: ${result.bad} failed or wrong answers, first: ${result.firstBad}`);
        if (result.count === 0) fail(`client ${name}: no successful answer`);
        resolve(result);
      });
    });

  console.log(
    `HTTP client benchmark: ${CONTENDERS.map((c) => c.name).join(" vs ")} against ${url}; ` +
      `${opts.rounds} rounds x (${opts.warmup} s warmup + ${opts.duration} s), ${opts.concurrency} concurrent loops`,
  );
  const samples = Object.fromEntries(CONTENDERS.map((c) => [c.name, []]));
  const ratios = [];
  for (let round = 0; round < opts.rounds; round++) {
    const order = round % 2 === 0 ? CONTENDERS : [...CONTENDERS].reverse();
    const rps = {};
    for (const c of order) {
      const r = await measure(c.name);
      rps[c.name] = r.count / r.seconds;
      samples[c.name].push({ rps: rps[c.name], cpu: r.cpuSeconds / r.seconds });
    }
    ratios.push(rps.tornado / rps.undici);
    console.log(
      `round ${round + 1}/${opts.rounds} (${order.map((c) => c.name).join(", ")}): ` +
        CONTENDERS.map((c) => `${c.name} ${fmtInt(rps[c.name])} req/s`).join(", ") +
        `; ratio ${ratios[round].toFixed(2)}`,
    );
  }

  const rows = CONTENDERS.map((c) => {
    const list = samples[c.name].map((s) => s.rps);
    const cpu = median(samples[c.name].map((s) => s.cpu));
    return `| ${c.label} | ${fmtInt(median(list))} | ${fmtInt(Math.min(...list))} | ${fmtInt(Math.max(...list))} | ${Math.round(cpu * 100)}% |`;
  });
  const table =
    "| client | median req/s | min req/s | max req/s | median client CPU |\n" +
    "| --- | ---: | ---: | ---: | ---: |\n" +
    rows.join("\n");
  const ratioLine =
    `Median per-round ratio AsyncHTTPClient ÷ undici: **${median(ratios).toFixed(2)}x** ` +
    `(min ${Math.min(...ratios).toFixed(2)}, max ${Math.max(...ratios).toFixed(2)})`;
  const perRound = roundsTable(
    [...CONTENDERS.map((c) => c.name), "ratio"],
    opts.rounds,
    (i, name) => (name === "ratio" ? ratios[i].toFixed(2) : `${fmtInt(samples[name][i].rps)} (cpu ${Math.round(samples[name][i].cpu * 100)}%)`),
  );

  const { date, node, cpu } = machine();
  const markdown = `# HTTP client benchmark results

- Date: ${date}
- Runtime: ${gitRevision(["runtime"])}
- Node.js: ${node}
- CPU: ${cpu}
- Command: ${command}
- Server: bare node:http in its own process, \`GET /\` → 200 \`${BODY}\` (text/plain), keep-alive
- Load: each client in a fresh process, ${opts.concurrency} concurrent loops (one request in flight each), at most ${opts.concurrency} connections (\`maxClients\` / undici \`Agent({ connections })\`), keep-alive; ${opts.rounds} rounds of ${opts.warmup} s warmup + ${opts.duration} s measured per client, order alternated every round
- Checks: every answer must be 200 with the exact body; errors and wrong answers: 0 (the run fails otherwise)
- Client CPU: the client process's CPU time (user + system) during the measured seconds ÷ wall time

${table}

${ratioLine}

## Per round

req/s (client CPU) and the ratio tornado ÷ undici in that round:

${perRound}
`;
  const resultsFile = path.join(BENCH_DIR, "httpclient-results.md");
  writeFileSync(resultsFile, markdown);
  console.log(`\n${table}\n\n${ratioLine}\n\nWritten to ${displayPath(resultsFile)}`);
  stopAll();
}

function fmtInt(n) {
  return Math.round(n).toLocaleString("en-US");
}

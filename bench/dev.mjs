#!/usr/bin/env node
// Restarting on change: `tornado dev` vs `tsx watch`, nodemon and `node --watch`.
//
//   node bench/dev.mjs [--rounds 5] [--restarts 4] [--only tsx,nodemon,node]
//                      [--timeout 20000] [--settle 1000] [--quiet 300] [--clients 3] [--write direct]
//   npm run build && cd bench && npm ci && node dev.mjs       (from the repository root)
//
// One app is generated (create-tornado-app --yes --no-git, with its install) into a temporary
// folder. Every contender runs that same app from its TypeScript entry (src/main.ts, through
// tsx's loader), one contender at a time, each on a fresh free port. For each restart, a new
// unique token is written into the /health handler (`status: "tok-…"` in
// src/handlers/health.ts) and the time of the write recorded; a poller sends GET /health on a
// new connection every 5 ms, and the edit-to-new-response time is the first answer whose body
// holds the token, minus the time of the write. All the while a "hammer" of a few clients (new
// connection per request, plus one keep-alive client) counts refused connections
// (ECONNREFUSED), reset ones (ECONNRESET, EPIPE, "socket hang up") and non-200 answers, per
// restart. A restart ends once the new answer has been seen, `--settle` ms have passed since,
// and no request has failed for `--quiet` ms; a restart with no new answer within `--timeout` ms
// counts as failed (and ends that contender's session for the round). Contenders alternate:
// each round runs every contender for `--restarts` restarts, in an order rotated every round.
// Figures: the median (and min, p90, max) edit-to-new-response ms over all restarts, the ratio
// of each median to tornado dev's, the median of per-round ratios, and failures per restart.
// The tables are printed and written to bench/dev-results.md. Every process started here runs in
// its own process group and is killed (with whatever it started) on exit, error or Ctrl-C.

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { setMaxListeners } from "node:events";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import {
  BENCH_DIR,
  ROOT_DIR,
  childEnv,
  commandOutput,
  contendersLine,
  describeCommand,
  displayPath,
  gitRevision,
  handleExits,
  machine,
  makeUsage,
  median,
  packageVersion,
  parseOnly,
  parseOptions,
  percentile,
  procStat,
  removeDirs,
  runCommand,
  selectContenders,
  signalChildren,
} from "./lib.mjs";

const RESULTS_FILE = path.join(BENCH_DIR, "dev-results.md");
const OUR_BIN = path.join(ROOT_DIR, "bin", "create-tornado-app.js");
const TSX_DIR = path.join(BENCH_DIR, "node_modules", "tsx");
const NODEMON_DIR = path.join(BENCH_DIR, "node_modules", "nodemon");
const HANDLER = path.join("src", "handlers", "health.ts");
const STATUS_PATTERN = /status: "[^"\\]*"/g;
const POLL_MS = 5;
const HAMMER_PAUSE_MS = 5;
const MAX_POLLS_IN_FLIGHT = 20;
const READY_TIMEOUT_MS = 30_000;

const BASELINE = "tornado";

/** The tsx loader (what `--import tsx` resolves to), as a file URL: bench/node_modules/tsx. */
function tsxLoaderUrl() {
  return pathToFileURL(path.join(TSX_DIR, "dist", "loader.mjs")).href;
}

const shellQuote = (s) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/**
 * Each contender: the command that runs the app's src/main.ts and restarts it on change (run with
 * the app folder as working directory, PORT set to the port), and how it is shown.
 */
const CONTENDERS = [
  {
    name: "tornado",
    label: "tornado dev (this project)",
    argv: (app, port) => [process.execPath, path.join(app, "node_modules", "tornado", "bin", "tornado.js"), "dev", "--port", String(port)],
    show: "tornado dev --port $PORT",
  },
  {
    name: "tsx",
    label: "tsx watch",
    argv: () => [process.execPath, path.join(TSX_DIR, "dist", "cli.mjs"), "watch", "src/main.ts"],
    show: "tsx watch src/main.ts",
  },
  {
    name: "nodemon",
    label: "nodemon",
    argv: () => [
      process.execPath,
      path.join(NODEMON_DIR, "bin", "nodemon.js"),
      "--no-update-notifier",
      "--watch",
      "src",
      "--ext",
      "ts",
      "--exec",
      `${shellQuote(process.execPath)} --import ${shellQuote(tsxLoaderUrl())} src/main.ts`,
    ],
    show: 'nodemon --no-update-notifier --watch src --ext ts --exec "node --import tsx src/main.ts"',
  },
  {
    name: "node",
    label: "node --watch",
    argv: () => [process.execPath, "--watch", "--import", tsxLoaderUrl(), "src/main.ts"],
    show: "node --watch --import tsx src/main.ts",
  },
];

// ---------------------------------------------------------------- options

const usage = makeUsage(
  "dev.mjs",
  "usage: node bench/dev.mjs [--rounds N] [--restarts N] [--only NAME,NAME] [--timeout MS]\n" +
    "                          [--settle MS] [--quiet MS] [--clients N] [--write direct|atomic]\n" +
    contendersLine(CONTENDERS, BASELINE),
);

function parseArgs(argv) {
  const opts = { rounds: 5, restarts: 4, only: null, timeout: 20_000, settle: 1000, quiet: 300, clients: 3, write: "direct" };
  parseOptions(argv, usage, (key, value, arg) => {
    switch (key) {
      case "rounds":
      case "restarts":
      case "timeout":
      case "settle":
      case "quiet":
      case "clients": {
        const n = Number(value);
        const min = key === "rounds" || key === "restarts" || key === "timeout" ? 1 : 0;
        if (!Number.isInteger(n) || n < min) usage(`${arg} must be a whole number >= ${min}`);
        opts[key] = n;
        break;
      }
      case "only":
        opts.only = parseOnly(value, CONTENDERS, usage);
        break;
      case "write":
        if (value !== "direct" && value !== "atomic") usage("--write must be direct or atomic");
        opts.write = value;
        break;
      default:
        usage(`unknown option ${arg}`);
    }
  });
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const contenders = selectContenders(CONTENDERS, BASELINE, opts.only);
const command = describeCommand(import.meta.url, "bench:dev");

// The children get this environment: ours minus what `npm run` adds about the bench package.
const baseEnv = childEnv();
delete baseEnv.PORT;
delete baseEnv.NODE_OPTIONS;

// ---------------------------------------------------------------- processes

/** Every process spawned here (its own process group each) that may still be running. */
const children = new Set();
/** @type {Set<string>} */
const tempDirs = new Set();
/** The handler file and its original text, restored on exit. */
let restoreFile = null;

/** pid → { ppid, start } for every process, from /proc. */
function processTable() {
  const table = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = procStat(entry);
    if (fields !== null) table.set(Number(entry), { ppid: Number(fields[1]), start: fields[19] }); // else gone meanwhile
  }
  return table;
}

/** The processes descended from `root` (not `root` itself): [{ pid, start }]. */
function descendants(root) {
  const table = processTable();
  const found = [];
  const queue = [root];
  while (queue.length) {
    const parent = queue.shift();
    for (const [pid, info] of table) {
      if (info.ppid === parent) {
        found.push({ pid, start: info.start });
        queue.push(pid);
      }
    }
  }
  return found;
}

/** Whether a process recorded earlier is still the same process (not a reused pid). */
function stillRunning({ pid, start }) {
  const fields = procStat(pid);
  return fields !== null && fields[19] === start && fields[0] !== "Z";
}

function signal(pid, sig) {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** Synchronously SIGKILLs everything still running that was started here. */
function killEverything() {
  const tree = descendants(process.pid);
  signalChildren(children, "SIGKILL", { group: true });
  for (const proc of tree) if (stillRunning(proc)) signal(proc.pid, "SIGKILL");
  children.clear();
}

function cleanUp() {
  killEverything();
  if (restoreFile !== null) {
    try {
      writeFileSync(restoreFile.file, restoreFile.text);
    } catch {
      // the folder may be gone already
    }
    restoreFile = null;
  }
  removeDirs(tempDirs);
}

const fail = handleExits({
  cleanUp,
  // On a signal, ask politely first (tornado dev then ends its app processes), then kill what is left.
  beforeSignalExit: (exit) => {
    const tree = descendants(process.pid);
    signalChildren(children, "SIGTERM", { group: true });
    setTimeout(() => {
      for (const proc of tree) if (stillRunning(proc)) signal(proc.pid, "SIGKILL");
      exit();
    }, 1500);
  },
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A port nothing listens on right now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a contender on the app; returns a handle with its child process and its output (the
 * last 16 KB, without the app's access log); `handle.onLine` sees every line.
 */
function startContender(contender, app, port) {
  const [file, ...args] = contender.argv(app, port);
  const child = spawn(file, args, {
    cwd: app,
    env: { ...baseEnv, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // its own process group: a watcher's children go with it
  });
  children.add(child);
  const handle = { child, output: "", exited: null, onLine: null };
  let partial = "";
  const onData = (chunk) => {
    const text = chunk.toString();
    partial += text;
    const lines = partial.split("\n");
    partial = lines.pop();
    for (const raw of lines) {
      const line = raw.replace(/\x1b\[[0-9;]*[A-Za-z]|\x1bc/g, "");
      // The app's access log (one line per request) would drown everything else.
      if (!/ tornado\.access\] /.test(line)) handle.output = (handle.output + line + "\n").slice(-16000);
      handle.onLine?.(line);
    }
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  child.on("error", (error) => (handle.exited = `spawn error: ${error.message}`));
  child.on("exit", (code, sig) => {
    handle.exited = sig ?? `code ${code}`;
    children.delete(child);
  });
  return handle;
}

/**
 * Stops a contender: SIGTERM to its process group, SIGKILL after 5 s; then waits for every
 * process it had started (tornado dev's app processes have process groups of their own), and
 * SIGKILLs any still there after 5 s more. Returns notes on anything that had to be killed.
 */
async function stopContender(handle) {
  const notes = [];
  const tree = descendants(handle.child.pid);
  if (handle.exited === null) {
    signal(-handle.child.pid, "SIGTERM");
    for (let waited = 0; handle.exited === null && waited < 5000; waited += 20) await sleep(20);
    if (handle.exited === null) {
      notes.push("did not exit within 5 s of SIGTERM: SIGKILLed");
      signal(-handle.child.pid, "SIGKILL");
      for (let waited = 0; handle.exited === null && waited < 2000; waited += 20) await sleep(20);
    }
  }
  for (let waited = 0; tree.some(stillRunning) && waited < 5000; waited += 20) await sleep(20);
  const left = tree.filter(stillRunning);
  if (left.length) {
    notes.push(`${left.length} child process(es) still running 5 s after it exited: SIGKILLed`);
    for (const proc of left) signal(proc.pid, "SIGKILL");
  }
  children.delete(handle.child);
  return notes;
}

// ---------------------------------------------------------------- HTTP clients

/** One GET /health; resolves with { status, body, t } or { error, t } (t: performance.now()). */
function getHealth(port, agent, signal) {
  return new Promise((resolve) => {
    let settled = false;
    const done = (result) => {
      if (!settled) {
        settled = true;
        resolve({ ...result, t: performance.now() });
      }
    };
    const req = http.get({ host: "127.0.0.1", port, path: "/health", agent, signal }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => done({ status: res.statusCode, body }));
      res.on("error", (error) => done({ error }));
      res.on("aborted", () => done({ error: Object.assign(new Error("aborted"), { code: "ECONNRESET" }) }));
    });
    req.on("error", (error) => done({ error }));
    req.setTimeout(60_000, () => req.destroy(Object.assign(new Error("no answer in 60 s"), { code: "TIMEOUT" })));
  });
}

/** The kind of a failed request: refused, reset, aborted (by us) or another code. */
function errorKind(error) {
  if (error.name === "AbortError" || error.code === "ABORT_ERR") return "aborted";
  if (error.code === "ECONNREFUSED") return "refused";
  if (error.code === "ECONNRESET" || error.code === "EPIPE" || /socket hang up/i.test(error.message)) return "reset";
  return error.code ?? error.message;
}

/**
 * The clients for one contender's session: a poller (a new connection every POLL_MS), `clients`
 * loops each sending one request at a time on a new connection, and one keep-alive loop. What
 * they see is added to `session.window` (the current restart), when there is one.
 */
function startClients(port, session) {
  const abort = new AbortController();
  const { signal: abortSignal } = abort;
  setMaxListeners(0, abortSignal); // every request in flight listens to it
  let inFlight = 0;

  const record = (result, keepAliveClient = false) => {
    const w = session.window;
    if (w === null || result.t < w.writeAt) return;
    if (result.error) {
      const kind = errorKind(result.error);
      if (kind === "aborted") return;
      w.requests++;
      if (kind === "refused") w.refused++;
      else if (kind === "reset") w.reset++;
      else w.other.set(kind, (w.other.get(kind) ?? 0) + 1);
      w.firstFail ??= result.t;
      w.lastFail = result.t;
      return;
    }
    w.requests++;
    if (result.status !== 200) {
      w.non200++;
      w.firstFail ??= result.t;
      w.lastFail = result.t;
      return;
    }
    if (result.body.includes(w.token)) {
      if (w.seenAt === null || result.t < w.seenAt) w.seenAt = result.t;
    } else if (w.seenAt !== null) {
      w.stale++; // the old code answered after the new code had
      if (keepAliveClient) w.staleKeepAlive++;
    }
  };

  const poller = setInterval(() => {
    if (inFlight >= MAX_POLLS_IN_FLIGHT) return;
    inFlight++;
    getHealth(port, false, abortSignal).then((result) => {
      inFlight--;
      record(result);
    });
  }, POLL_MS);

  const loop = async (agent) => {
    while (!abortSignal.aborted) {
      record(await getHealth(port, agent, abortSignal), agent !== false);
      await sleep(HAMMER_PAUSE_MS);
    }
  };
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const loops = [...Array.from({ length: opts.clients }, () => loop(false)), loop(keepAlive)];

  return async () => {
    clearInterval(poller);
    abort.abort();
    await Promise.all(loops);
    keepAlive.destroy();
  };
}

/** Waits until GET /health answers 200 with `expect` in its body; returns ms taken, or throws. */
async function waitReady(handle, port, expect) {
  const start = performance.now();
  let last = "no answer yet";
  while (performance.now() - start < READY_TIMEOUT_MS) {
    if (handle.exited !== null) throw new Error(`exited (${handle.exited}) before answering`);
    const result = await getHealth(port, false);
    if (!result.error && result.status === 200 && result.body.includes(expect)) return performance.now() - start;
    last = result.error ? (result.error.code ?? result.error.message) : `${result.status} ${result.body.slice(0, 200)}`;
    await sleep(50);
  }
  throw new Error(`GET /health did not answer 200 with ${expect} within ${READY_TIMEOUT_MS / 1000} s (last: ${last})`);
}

// ---------------------------------------------------------------- the edit

let handlerFile;
let handlerTemplate; // the original text, with STATUS_PATTERN's match replaced by a marker

function writeToken(token) {
  const text = handlerTemplate.replace("\u0000STATUS\u0000", `status: "${token}"`);
  if (opts.write === "atomic") {
    const tmp = path.join(path.dirname(handlerFile), `.${path.basename(handlerFile)}.${process.pid}.tmp`);
    writeFileSync(tmp, text);
    renameSync(tmp, handlerFile);
  } else {
    writeFileSync(handlerFile, text);
  }
}

// ---------------------------------------------------------------- one contender, one round

let tokenCounter = 0;
const runId = Date.now().toString(36);

/**
 * Starts the contender, lets it settle, makes `restarts` edits, stops it. Returns
 * { restarts: [window...], notes: [...], startMs }.
 */
async function runSession(contender, app, round) {
  const port = await freePort();
  const currentToken = `tok-${runId}-${tokenCounter}`;
  const handle = startContender(contender, app, port);
  const session = { window: null };
  const notes = [];
  handle.onLine = (line) => {
    const w = session.window;
    const restarted = /restarted in (\d+) ms · (\d+) requests? waited/.exec(line);
    if (restarted && w !== null) {
      w.self.push(Number(restarted[1]));
      return;
    }
    if (contender.name === BASELINE && /\[tornado\]/.test(line) && !/ dev server on | started src\/main\.ts in /.test(line)) {
      notes.push(`round ${round + 1}, ${w ? `restart with ${w.token}` : "outside a restart"}: tornado dev said: ${line.trim()}`);
    }
  };
  const restarts = [];
  let startMs;
  let stopClients = null;
  try {
    try {
      startMs = await waitReady(handle, port, currentToken);
    } catch (error) {
      throw new Error(`${contender.name} did not start: ${error.message}\n--- its output ---\n${handle.output.trim()}`);
    }
    stopClients = startClients(port, session);
    await sleep(opts.settle);
    for (let k = 0; k < opts.restarts; k++) {
      const token = `tok-${runId}-${++tokenCounter}`;
      const w = {
        token,
        writeAt: 0,
        seenAt: null,
        requests: 0,
        refused: 0,
        reset: 0,
        non200: 0,
        other: new Map(),
        stale: 0,
        staleKeepAlive: 0,
        firstFail: null,
        lastFail: null,
        self: [],
        failed: false,
      };
      w.writeAt = performance.now();
      session.window = w;
      writeToken(token);
      for (;;) {
        await sleep(5);
        const now = performance.now();
        if (w.seenAt === null && now - w.writeAt > opts.timeout) {
          w.failed = true;
          break;
        }
        const quietSince = Math.max(w.seenAt ?? Infinity, w.lastFail ?? -Infinity);
        if (w.seenAt !== null && now - w.seenAt >= opts.settle && now - quietSince >= opts.quiet) break;
        if (now - w.writeAt > opts.timeout + opts.settle + 10_000) {
          w.unquiet = true; // requests kept failing after the new answer
          break;
        }
      }
      session.window = null;
      restarts.push(w);
      if (w.unquiet) {
        notes.push(`round ${round + 1}: ${contender.name}: requests were still failing ${((performance.now() - w.writeAt) / 1000).toFixed(0)} s after the edit (${w.token})`);
      }
      if (w.failed) {
        notes.push(
          `round ${round + 1}: ${contender.name} gave no answer with the new token within ${opts.timeout / 1000} s ` +
            `(process ${handle.exited === null ? "still running" : `exited: ${handle.exited}`}); its session ended there.\n` +
            `Its output (last lines):\n${handle.output.trim().split("\n").slice(-15).join("\n")}`,
        );
        break;
      }
      if (handle.exited !== null) {
        notes.push(`round ${round + 1}: ${contender.name} exited (${handle.exited}) during a restart`);
        break;
      }
    }
  } finally {
    session.window = null;
    await stopClients?.();
    for (const note of await stopContender(handle)) notes.push(`round ${round + 1}: ${contender.name} ${note}`);
  }
  return { restarts, notes, startMs };
}

// ---------------------------------------------------------------- report helpers

const fmtMs = (n) => (n === undefined || Number.isNaN(n) ? "–" : String(Math.round(n)));
const fmtRatio = (n) => (Number.isFinite(n) ? `${n.toFixed(2)}x` : "–");
const fmtPer = (total, n) => (n === 0 ? "–" : (total / n).toFixed(total / n >= 10 || total === 0 ? 0 : 1));
const ms = (w) => w.seenAt - w.writeAt;
const otherTotal = (w) => [...w.other.values()].reduce((a, b) => a + b, 0);

// ---------------------------------------------------------------- main

async function main() {
  if (!existsSync(path.join(ROOT_DIR, "dist", "src", "create.js"))) {
    fail("dist/src/create.js is missing: run `npm run build` at the repository root first");
  }
  for (const dir of [TSX_DIR, NODEMON_DIR]) {
    if (packageVersion(dir) === null) fail(`${path.relative(ROOT_DIR, dir)} is missing: run \`npm ci\` in bench/ first`);
  }

  const npmVersion = commandOutput("npm", ["--version"], { cwd: BENCH_DIR, env: baseEnv }) ?? "unknown";
  const revision = gitRevision(["src", "templates", "runtime", "bin"]);
  const order = (round) => contenders.slice(round % contenders.length).concat(contenders.slice(0, round % contenders.length));
  console.log(
    `Restart on change: ${contenders.map((c) => c.name).join(", ")}; ${opts.rounds} rounds × ${opts.restarts} restarts each ` +
      `(timeout ${opts.timeout} ms, settle ${opts.settle} ms, quiet ${opts.quiet} ms, ${opts.clients}+1 hammer clients, ${opts.write} writes)`,
  );

  // One app for everyone.
  const tmp = mkdtempSync(path.join(os.tmpdir(), "dev-bench-"));
  tempDirs.add(tmp);
  const app = path.join(tmp, "app");
  console.log(`Creating the app in ${app} (with npm install)…`);
  const created = await runCommand([process.execPath, OUR_BIN, app, "--yes", "--no-git"], tmp, { env: baseEnv, children });
  if (created.code !== 0) fail(`create-tornado-app exited with ${created.signal ?? `code ${created.code}`}\n${created.output}`);
  for (const rel of ["src/main.ts", HANDLER, "node_modules/tornado/bin/tornado.js", "node_modules/tsx/package.json"]) {
    if (!existsSync(path.join(app, rel))) fail(`the created app has no ${rel}`);
  }
  handlerFile = path.join(app, HANDLER);
  const original = readFileSync(handlerFile, "utf8");
  const matches = original.match(STATUS_PATTERN) ?? [];
  if (matches.length !== 1) fail(`${HANDLER} should hold exactly one \`status: "…"\`, it holds ${matches.length}`);
  handlerTemplate = original.replace(STATUS_PATTERN, "\u0000STATUS\u0000");
  restoreFile = { file: handlerFile, text: original };
  writeToken(`tok-${runId}-0`);

  const versions = {
    tornado: `this checkout (${revision}); its app processes use Node's type stripping where this Node has it (${process.features.typescript || "none"}), else the app's own tsx ${packageVersion(path.join(app, "node_modules", "tsx"))}`,
    tsx: `tsx ${packageVersion(TSX_DIR)}`,
    nodemon: `nodemon ${packageVersion(NODEMON_DIR)}, running \`node --import tsx\` (tsx ${packageVersion(TSX_DIR)})`,
    node: `Node.js ${process.version} \`--watch\`, with \`--import tsx\` (tsx ${packageVersion(TSX_DIR)})`,
  };

  /** results[name] = { restarts: [window...], rounds: [[window...] per round], starts: [ms] } */
  const results = Object.fromEntries(contenders.map((c) => [c.name, { restarts: [], rounds: [], starts: [] }]));
  const notes = [];
  const started = performance.now();
  for (let round = 0; round < opts.rounds; round++) {
    const line = [];
    for (const contender of order(round)) {
      const session = await runSession(contender, app, round);
      const r = results[contender.name];
      r.restarts.push(...session.restarts);
      r.rounds[round] = session.restarts;
      r.starts.push(session.startMs);
      notes.push(...session.notes);
      const good = session.restarts.filter((w) => !w.failed);
      const refused = session.restarts.reduce((a, w) => a + w.refused, 0);
      const reset = session.restarts.reduce((a, w) => a + w.reset, 0);
      line.push(
        `${contender.name} ${good.length ? fmtMs(median(good.map(ms))) : "–"} ms` +
          ` (${good.length}/${opts.restarts}${refused ? `, ${refused} refused` : ""}${reset ? `, ${reset} reset` : ""})`,
      );
    }
    console.log(`  round ${round + 1}/${opts.rounds}: ${line.join(", ")}`);
  }
  const elapsed = (performance.now() - started) / 1000;
  writeFileSync(handlerFile, original);

  // ---------------------------------------------------------------- report
  const base = results[BASELINE];
  const baseMedian = median(base.restarts.filter((w) => !w.failed).map(ms));
  const roundMedian = (ws) => {
    const good = (ws ?? []).filter((w) => !w.failed);
    return good.length ? median(good.map(ms)) : NaN;
  };
  const rows = [];
  const summary = {};
  for (const contender of contenders) {
    const r = results[contender.name];
    const good = r.restarts.filter((w) => !w.failed);
    const times = good.map(ms);
    const n = r.restarts.length;
    const sum = (f) => r.restarts.reduce((a, w) => a + f(w), 0);
    const ratios = [];
    for (let round = 0; round < opts.rounds; round++) {
      const ratio = roundMedian(r.rounds[round]) / roundMedian(base.rounds[round]);
      if (Number.isFinite(ratio)) ratios.push(ratio);
    }
    const planned = opts.rounds * opts.restarts;
    const failed = r.restarts.filter((w) => w.failed).length;
    const spans = r.restarts.map((w) => (w.firstFail === null ? 0 : w.lastFail - w.firstFail));
    summary[contender.name] = {
      median: times.length ? median(times) : NaN,
      refused: sum((w) => w.refused),
      reset: sum((w) => w.reset),
      non200: sum((w) => w.non200),
      other: sum(otherTotal),
      failed,
      measured: good.length,
      planned,
    };
    rows.push(
      `| ${contender.label} | ${good.length}/${planned}${failed ? ` (${failed} failed)` : ""} | ` +
        `${times.length ? fmtMs(median(times)) : "–"} | ` +
        `${times.length ? `${fmtMs(Math.min(...times))}–${fmtMs(Math.max(...times))}` : "–"} | ` +
        `${times.length ? fmtMs(percentile(times, 90)) : "–"} | ` +
        `${fmtRatio(median(times) / baseMedian)} | ${ratios.length ? fmtRatio(median(ratios)) : "–"} | ` +
        `${fmtPer(sum((w) => w.refused), n)} | ${fmtPer(sum((w) => w.reset), n)} | ` +
        `${fmtPer(sum((w) => w.non200) + sum(otherTotal), n)} | ${fmtMs(median(spans))} | ${fmtPer(sum((w) => w.requests), n)} |`,
    );
  }
  const table =
    "| contender | restarts measured | median ms | min–max ms | p90 ms | median ÷ tornado dev's | median of per-round ratios | refused / restart | reset / restart | non-200 + other errors / restart | median failing span ms | requests / restart |\n" +
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n" +
    rows.join("\n");

  const perRound =
    `| round | order | ${contenders.map((c) => c.name).join(" | ")} |\n` +
    `| ---: | --- | ${contenders.map(() => "---:").join(" | ")} |\n` +
    Array.from({ length: opts.rounds }, (_, round) => {
      const cells = contenders.map((c) => {
        const ws = results[c.name].rounds[round] ?? [];
        const m = roundMedian(ws);
        const refused = ws.reduce((a, w) => a + w.refused, 0);
        const reset = ws.reduce((a, w) => a + w.reset, 0);
        const ratio = m / roundMedian(base.rounds[round]);
        return `${fmtMs(m)} (${fmtRatio(ratio)}; ${refused} refused, ${reset} reset)`;
      });
      return `| ${round + 1} | ${order(round).map((c) => c.name).join(", ")} | ${cells.join(" | ")} |`;
    }).join("\n");

  const perRestart = contenders
    .map((c) => {
      const r = results[c.name];
      const list = r.restarts
        .map((w) => {
          const other = [...w.other].map(([k, v]) => `${v} ${k}`).join(", ");
          const bits = [
            w.refused && `${w.refused} refused`,
            w.reset && `${w.reset} reset`,
            w.non200 && `${w.non200} non-200`,
            other,
            w.stale && `${w.stale} old-code answer${w.stale === 1 ? "" : "s"} after the new one (${w.staleKeepAlive} on the keep-alive connection)`,
            w.self.length && `says ${w.self.join("+")} ms`,
          ].filter(Boolean);
          return `${w.failed ? "FAILED" : fmtMs(ms(w))}${bits.length ? ` (${bits.join(", ")})` : ""}`;
        })
        .join("; ");
      return `- ${c.label}: ${list}`;
    })
    .join("\n");

  const startLine = contenders.map((c) => `${c.name} ${fmtMs(median(results[c.name].starts.filter((x) => x !== undefined)))} ms`).join(", ");

  const goal = (() => {
    const t = summary[BASELINE];
    const others = contenders.filter((c) => c.name !== BASELINE && Number.isFinite(summary[c.name].median));
    const fastest = others.every((c) => t.median < summary[c.name].median);
    const zero = t.refused === 0 && t.reset === 0 && t.non200 === 0 && t.other === 0 && t.failed === 0;
    const best = others.reduce((a, c) => (a === null || summary[c.name].median < summary[a.name].median ? c : a), null);
    return (
      `- Fastest at the median: ${fastest ? "yes" : "no"} (tornado dev ${fmtMs(t.median)} ms` +
      (best ? `; fastest other: ${best.label} ${fmtMs(summary[best.name].median)} ms` : "") +
      `)\n- Zero refused: ${t.refused === 0 ? "yes" : "no"} (tornado dev: ${t.refused} refused, ${t.reset} reset, ` +
      `${t.non200} non-200, ${t.other} other errors, ${t.failed} failed restarts over ${t.measured + t.failed} restarts)` +
      (t.refused === 0 && !zero ? "; other failures were seen, see the table" : "")
    );
  })();

  const { date, node, cpu } = machine();
  const markdown = `# Restart-on-change results

- Date: ${date}
- Node.js: ${node}; npm ${npmVersion}
- CPU: ${cpu}
- Command: ${command}
- Contenders (one at a time, each on its own free port, all on the same generated app, entry \`src/main.ts\`):
${contenders.map((c) => `  - ${c.label}: \`${c.show}\`; ${versions[c.name]}`).join("\n")}
- App: \`create-tornado-app app --yes --no-git\` from this checkout, installed once into a temporary folder
- Edit: \`status: "…"\` in \`${HANDLER.replace(/\\/g, "/")}\` set to a new unique token (${opts.write === "atomic" ? "written to a temporary file then renamed over the handler" : "the file rewritten in place with one write"}), ${opts.restarts} edits per contender per round, ${opts.rounds} rounds, the order of the contenders rotated every round
- Edit-to-new-response: the first answer to GET /health whose body holds the token, minus the time of the write; GET /health is polled on a new connection every ${POLL_MS} ms (up to ${MAX_POLLS_IN_FLIGHT} in flight), and the hammer's answers count too
- Hammer, all the time a contender runs: ${opts.clients} clients each sending GET /health on a new connection, one at a time, ${HAMMER_PAUSE_MS} ms apart, plus one keep-alive client (one connection, reused), also ${HAMMER_PAUSE_MS} ms apart. Refused = ECONNREFUSED; reset = ECONNRESET, EPIPE or "socket hang up"; failures counted from the write to the end of the restart
- A restart ends when the new answer has been seen, ${opts.settle} ms have passed since and no request has failed for ${opts.quiet} ms; failed = no new answer within ${opts.timeout / 1000} s. Each contender starts ${opts.settle} ms before its first edit (median time to its first answer: ${startLine})
- Figures: median, min–max and p90 (nearest rank) of edit-to-new-response ms over all restarts; the contender's median ÷ tornado dev's; the median over rounds of (the contender's median in the round ÷ tornado dev's median in the same round); failures per restart (all clients, poller included); failing span = time from the first to the last failed request in a restart (0 with none); requests / restart = requests completed during a restart by all clients
- Wall time of the measured rounds: ${elapsed.toFixed(0)} s

${table}

Goal: tornado dev the fastest at the median, and zero refused connections.

${goal}
${notes.length ? `\n## Notes\n\n${notes.map((n) => `- ${n.replace(/\n/g, "\n  ")}`).join("\n")}\n` : ""}
## Per round

Median edit-to-new-response ms in the round (ratio to tornado dev's in the same round; failures in the round):

${perRound}

## Every restart

Edit-to-new-response ms, in order, with the failures seen during each restart, the answers still from the old code after the first one from the new code (not failures), and tornado dev's own "restarted in" figures (after "says"):

${perRestart}
`;
  writeFileSync(RESULTS_FILE, markdown);
  console.log(`\n${table}\n\n${goal}\n${notes.length ? `\nNotes:\n${notes.map((n) => `- ${n}`).join("\n")}\n` : ""}`);
  console.log(`Written to ${displayPath(RESULTS_FILE)}`);
  cleanUp();
}

main().catch(fail);

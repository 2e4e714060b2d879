#!/usr/bin/env node
// How long the app's own commands take next to starting Node.js: `tornado generate handler
// orders` (real and --dry-run), `tornado destroy handler orders` and `tornado routes`, each as a
// whole child process, against `node -e 0` in the same round.
//
//   npm run build && node bench/cli.mjs [--rounds 15]
//
// One app is made per run, in a temporary folder, with its install (`create-tornado-app app
// --yes --no-git`: `routes` imports the app, so it needs the app's node_modules). Every command
// runs from this checkout (node bin/tornado.js, i.e. dist/), with the app folder as working
// directory:
//   generate   in a fresh copy of the pristine app (copy made before the clock starts)
//   dry run    generate … --dry-run, in the pristine app (nothing may be written)
//   destroy    in a fresh copy of the app after one generate (copy made before the clock starts)
//   routes     in the pristine app
//   floor      node -e 0
// Every run is checked (exit code 0, and what it prints or writes), else the benchmark fails.
// One unmeasured warm-up of each, then `--rounds` rounds, each running every command once in an
// order rotated every round. Figures: median (min, max) seconds, and the median over rounds of
// (the command's seconds ÷ `node -e 0`'s in the same round). Goal (issue #18): each at most 4×
// `node -e 0` (under 200 ms on a quiet machine). The node_modules copied into each fresh app is a
// symlink to the pristine app's, so a copy costs the app's own files only.

import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { BENCH_DIR, ROOT_DIR, childEnv, gitRevision, machine, median, roundsTable } from "./lib.mjs";

const RESULTS_FILE = path.join(BENCH_DIR, "cli-results.md");
const TORNADO = path.join(ROOT_DIR, "bin", "tornado.js");
const CREATE = path.join(ROOT_DIR, "bin", "create-tornado-app.js");
const GOAL_RATIO = 4;

const args = process.argv.slice(2);
const roundsAt = args.indexOf("--rounds");
const rounds = roundsAt === -1 ? 15 : Number(args[roundsAt + 1]);
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error("usage: node bench/cli.mjs [--rounds N]");
  process.exit(2);
}
if (!existsSync(path.join(ROOT_DIR, "dist", "src", "tornado.js"))) {
  console.error("dist/src/tornado.js is missing: run `npm run build` at the repository root first");
  process.exit(1);
}

const tmp = mkdtempSync(path.join(os.tmpdir(), "bench-cli-"));
const cleanUp = () => rmSync(tmp, { recursive: true, force: true });
process.on("exit", cleanUp);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(130));

const env = { ...childEnv(), NO_COLOR: "1" };
const run = (argv, cwd) => {
  const start = process.hrtime.bigint();
  const result = spawnSync(argv[0], argv.slice(1), { cwd, env, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, code: result.status, stdout: result.stdout, stderr: result.stderr };
};
const fail = (message) => {
  console.error(`bench/cli.mjs: ${message}`);
  process.exit(1);
};

// The apps: the pristine one (installed), and one after `generate handler orders`.
console.log(`making the app in ${tmp} (with its install)…`);
const made = run([process.execPath, CREATE, "app", "--yes", "--no-git"], tmp);
if (made.code !== 0) fail(`create-tornado-app failed:\n${made.stdout}\n${made.stderr}`);
const pristine = path.join(tmp, "app");
const generated = path.join(tmp, "generated");
const copyApp = (from, to) => {
  cpSync(from, to, { recursive: true, filter: (src) => path.relative(from, src) !== "node_modules" });
  symlinkSync(path.join(pristine, "node_modules"), path.join(to, "node_modules"));
};
copyApp(pristine, generated);
if (run([process.execPath, TORNADO, "generate", "handler", "orders"], generated).code !== 0) fail("generate in the destroy app failed");

let copies = 0;
const fresh = (from) => {
  const to = path.join(tmp, `copy-${copies++}`);
  copyApp(from, to);
  return to;
};

const COMMANDS = [
  { id: "floor", show: "node -e 0", argv: [process.execPath, "-e", "0"], dir: () => tmp, check: () => null },
  {
    id: "generate",
    show: "tornado generate handler orders",
    argv: [process.execPath, TORNADO, "generate", "handler", "orders"],
    dir: () => fresh(pristine),
    check: (r, dir) => (readFileSync(path.join(dir, "src/app.ts"), "utf8").includes('"/orders"') && existsSync(path.join(dir, "src/handlers/orders.ts")) ? null : "no /orders route or handler written"),
  },
  {
    id: "dry-run",
    show: "tornado generate handler orders --dry-run",
    argv: [process.execPath, TORNADO, "generate", "handler", "orders", "--dry-run"],
    dir: () => pristine,
    check: (r, dir) => (r.stdout.includes("Dry run:") && !existsSync(path.join(dir, "src/handlers/orders.ts")) ? null : 'no "Dry run:" or a file written'),
  },
  {
    id: "destroy",
    show: "tornado destroy handler orders",
    argv: [process.execPath, TORNADO, "destroy", "handler", "orders"],
    dir: () => fresh(generated),
    check: (r, dir) => (readFileSync(path.join(dir, "src/app.ts"), "utf8") === readFileSync(path.join(pristine, "src/app.ts"), "utf8") && !existsSync(path.join(dir, "src/handlers/orders.ts")) ? null : "the app was not restored"),
  },
  {
    id: "routes",
    show: "tornado routes",
    argv: [process.execPath, TORNADO, "routes"],
    dir: () => pristine,
    check: (r) => (/^PATTERN\s+HANDLER/.test(r.stdout) && r.stdout.includes("/users/:id") ? null : "no route table printed"),
  },
];

function once(command) {
  const dir = command.dir();
  const result = run(command.argv, dir);
  if (result.code !== 0) fail(`\`${command.show}\` exited with ${result.code}:\n${result.stdout}\n${result.stderr}`);
  const problem = command.check(result, dir);
  if (problem !== null) fail(`\`${command.show}\`: ${problem}`);
  if (dir.includes("copy-")) rmSync(dir, { recursive: true, force: true });
  return result.seconds;
}

const loadAtStart = os.loadavg()[0];
console.log("warm-up (not measured)");
for (const command of COMMANDS) console.log(`  ${command.id.padEnd(9)} ${once(command).toFixed(3)} s`);

const seconds = Object.fromEntries(COMMANDS.map((c) => [c.id, []]));
const orders = [];
for (let round = 0; round < rounds; round++) {
  const order = COMMANDS.slice(round % COMMANDS.length).concat(COMMANDS.slice(0, round % COMMANDS.length));
  orders.push(order.map((c) => c.id));
  for (const command of order) seconds[command.id].push(once(command));
  console.log(`  round ${round + 1}/${rounds}: ${COMMANDS.map((c) => `${c.id} ${seconds[c.id][round].toFixed(3)}`).join(", ")}`);
}

const ratio = (id) => seconds[id].map((s, i) => s / seconds.floor[i]);
const rows = COMMANDS.map((c) => {
  const s = seconds[c.id];
  const r = c.id === "floor" ? "1.00x" : `${median(ratio(c.id)).toFixed(2)}x`;
  const goal = c.id === "floor" ? "" : median(ratio(c.id)) <= GOAL_RATIO ? "met" : "**not met**";
  return `| \`${c.show}\` | ${median(s).toFixed(3)} | ${Math.min(...s).toFixed(3)} | ${Math.max(...s).toFixed(3)} | ${r} | ${goal} |`;
});
const { date, node, cpu } = machine();
const table = `| command | median s | min s | max s | median ratio to \`node -e 0\` | goal (≤ ${GOAL_RATIO}x) |\n| --- | ---: | ---: | ---: | ---: | --- |\n${rows.join("\n")}`;
const perRound = roundsTable(
  COMMANDS.map((c) => c.id),
  rounds,
  (i, id) => (id === "floor" ? seconds.floor[i].toFixed(3) : `${seconds[id][i].toFixed(3)} (${ratio(id)[i].toFixed(2)})`),
);
const markdown = `# CLI command times (tornado generate, destroy, routes)

- Date: ${date}
- Node.js: ${node}
- CPU: ${cpu}
- Code: ${gitRevision(["src", "templates", "runtime", "bin"])}
- Command: \`node bench/cli.mjs --rounds ${rounds}\`
- Method: wall time of each whole command (child process, from spawn to exit), ${rounds} rounds each running every command once, the order rotated every round (round 1: ${orders[0].join(", ")}); ratio = the command's seconds ÷ \`node -e 0\`'s in the same round, median over rounds
- The machine's 1-minute load average (other work included): ${loadAtStart.toFixed(2)} at the start, ${os.loadavg()[0].toFixed(2)} at the end

${table}

## Per round

Seconds (ratio to \`node -e 0\` in that round):

${perRound}
`;
writeFileSync(RESULTS_FILE, markdown);
console.log(`\n${table}\n\nWritten to ${path.relative(process.cwd(), RESULTS_FILE)}`);

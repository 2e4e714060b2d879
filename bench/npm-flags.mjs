#!/usr/bin/env node
// npm's flags on a new app's install: `npm install --no-audit --no-fund --loglevel=error` (what
// create-tornado-app runs) against the same with `--prefer-offline`, in the same run.
//
//   npm run build && node bench/npm-flags.mjs [--rounds 3]
//
// One app is written (`create-tornado-app app --yes --no-install --no-git`) and installed once
// unmeasured (which fills the npm cache). Then each round removes node_modules and
// package-lock.json (not timed) and runs each variant once, the order alternating every round.
// Figures: median seconds, and the median over rounds of (the variant's seconds ÷ the plain
// install's seconds in the same round). Every install is checked (exit 0, node_modules/tornado).

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT_DIR, childEnv, gitRevision, machine, median } from "./lib.mjs";

const roundsAt = process.argv.indexOf("--rounds");
const rounds = roundsAt === -1 ? 3 : Number(process.argv[roundsAt + 1]);
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error("usage: node bench/npm-flags.mjs [--rounds N]");
  process.exit(2);
}
const tmp = mkdtempSync(path.join(os.tmpdir(), "bench-npm-flags-"));
process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));
const env = childEnv();
const made = spawnSync(process.execPath, [path.join(ROOT_DIR, "bin", "create-tornado-app.js"), "app", "--yes", "--no-install", "--no-git"], { cwd: tmp, env, stdio: "ignore" });
if (made.status !== 0) throw new Error("create-tornado-app failed");
const app = path.join(tmp, "app");

const BASE = ["install", "--no-audit", "--no-fund", "--loglevel=error"];
const VARIANTS = [
  { id: "plain", args: BASE },
  { id: "prefer-offline", args: [...BASE, "--prefer-offline"] },
];
function install(args) {
  rmSync(path.join(app, "node_modules"), { recursive: true, force: true });
  rmSync(path.join(app, "package-lock.json"), { force: true });
  const start = process.hrtime.bigint();
  const result = spawnSync("npm", args, { cwd: app, env, stdio: "ignore" });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (result.status !== 0 || !existsSync(path.join(app, "node_modules", "tornado"))) throw new Error(`npm ${args.join(" ")} failed`);
  return seconds;
}

console.log(`warm-up (not measured): ${install(BASE).toFixed(2)} s`);
const seconds = { plain: [], "prefer-offline": [] };
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
  for (const v of order) seconds[v.id].push(install(v.args));
  console.log(`round ${round + 1}/${rounds}: ${VARIANTS.map((v) => `${v.id} ${seconds[v.id][round].toFixed(2)} s`).join(", ")}`);
}
const { date, node } = machine();
const npm = spawnSync("npm", ["--version"], { env, encoding: "utf8" }).stdout.trim();
console.log(`\n${date}, Node.js ${node}, npm ${npm}, ${gitRevision(["src", "templates", "runtime", "bin"])}, load average ${os.loadavg()[0].toFixed(2)} at the end`);
console.log("| npm install | median s | min s | max s | median ratio to plain |\n| --- | ---: | ---: | ---: | ---: |");
for (const v of VARIANTS) {
  const s = seconds[v.id];
  const ratio = median(s.map((x, i) => x / seconds.plain[i]));
  console.log(`| \`npm ${v.args.join(" ")}\` | ${median(s).toFixed(2)} | ${Math.min(...s).toFixed(2)} | ${Math.max(...s).toFixed(2)} | ${ratio.toFixed(2)}x |`);
}

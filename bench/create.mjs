#!/usr/bin/env node
// Project creation time: create-tornado-app vs create-vite and the Nest CLI.
//
//   node bench/create.mjs [--rounds 5] [--install-rounds 3] [--only vite,nest]
//   npm run build && cd bench && npm ci && node create.mjs      (from the repository root)
//
// Two phases, each timing whole commands run as child processes (wall time from spawn to exit),
// each into a fresh temporary folder that is removed afterwards:
//   files written  create-tornado-app --yes --no-install --no-git, create-vite (vanilla-ts),
//                  nest new --skip-install --skip-git
//   with install   create-tornado-app --yes --no-git (it runs npm install), create-vite then
//                  `npm install` in the app (timed together), nest new --skip-git (it runs npm
//                  install)
// The generators are the pinned versions in bench/node_modules/.bin, never `npm create …@latest`,
// which would download the generator on every run and so measure the network. Every contender
// first runs once unmeasured (warm-up, which also fills the npm cache), then the contenders run
// in alternating rounds (A, B, C, A, B, C, …). Each contender's figure is the median over rounds
// of its seconds, and the median of (its seconds ÷ create-tornado-app's seconds in the same
// round). Every run is checked: exit code 0 and the files the command should have written
// (package.json; node_modules with the main dependency after an install), else the benchmark
// fails. A contender other than create-tornado-app whose warm-up fails is recorded as "could
// not run here" with the reason, instead of a number. The tables are printed and written to
// bench/create-results.md.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
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
  removeDirs,
  roundsTable,
  runCommand,
  selectContenders,
  signalChildren,
} from "./lib.mjs";

const RESULTS_FILE = path.join(BENCH_DIR, "create-results.md");
const BIN_DIR = path.join(BENCH_DIR, "node_modules", ".bin");
const OUR_BIN = path.join(ROOT_DIR, "bin", "create-tornado-app.js");
const APP = "app";
/** The folders whose uncommitted changes the results file mentions: what a create is made of. */
const GIT_DIRS = ["src", "templates", "runtime", "bin"];

const BASELINE = "tornado";

/**
 * Each contender: how to create the app without and with installing its dependencies (a list of
 * commands run one after the other in the temporary folder, timed together), and the files that
 * must exist afterwards (relative to the temporary folder).
 */
const CONTENDERS = [
  {
    name: "tornado",
    label: "create-tornado-app (this project)",
    pkg: null,
    noInstall: [[process.execPath, OUR_BIN, APP, "--yes", "--no-install", "--no-git"]],
    install: [[process.execPath, OUR_BIN, APP, "--yes", "--no-git"]],
    show: {
      noInstall: "node bin/create-tornado-app.js app --yes --no-install --no-git",
      install: "node bin/create-tornado-app.js app --yes --no-git",
    },
    expect: ["package.json", "tsconfig.json", "src/main.ts"],
    expectInstalled: ["package-lock.json", "node_modules/tornado/package.json", "node_modules/typescript/package.json"],
  },
  {
    name: "vite",
    label: "create-vite",
    pkg: "create-vite",
    noInstall: [[path.join(BIN_DIR, "create-vite"), APP, "--template", "vanilla-ts", "--no-interactive", "--no-immediate"]],
    install: [
      [path.join(BIN_DIR, "create-vite"), APP, "--template", "vanilla-ts", "--no-interactive", "--no-immediate"],
      ["npm", "install", { cwd: APP }],
    ],
    show: {
      noInstall: "create-vite app --template vanilla-ts --no-interactive --no-immediate",
      install: "create-vite app --template vanilla-ts --no-interactive --no-immediate && cd app && npm install",
    },
    // create-vite falls back to vanilla-ts for an unknown template; src/main.ts is vanilla-ts's.
    expect: ["package.json", "tsconfig.json", "index.html", "src/main.ts"],
    expectInstalled: ["package-lock.json", "node_modules/vite/package.json"],
  },
  {
    name: "nest",
    label: "@nestjs/cli (nest new)",
    pkg: "@nestjs/cli",
    noInstall: [[path.join(BIN_DIR, "nest"), "new", APP, "--skip-install", "--skip-git", "--package-manager", "npm"]],
    install: [[path.join(BIN_DIR, "nest"), "new", APP, "--skip-git", "--package-manager", "npm"]],
    show: {
      noInstall: "nest new app --skip-install --skip-git --package-manager npm",
      install: "nest new app --skip-git --package-manager npm",
    },
    expect: ["package.json", "tsconfig.json", "nest-cli.json", "src/main.ts"],
    // nest new reports a failed install on its output but still exits 0: check the files.
    expectInstalled: ["package-lock.json", "node_modules/@nestjs/core/package.json"],
  },
];

const PHASES = [
  { key: "noInstall", title: "Files written (no install)", roundsOption: "rounds" },
  { key: "install", title: "Whole create with install", roundsOption: "installRounds" },
];

// ---------------------------------------------------------------- options

const usage = makeUsage(
  "create.mjs",
  "usage: node bench/create.mjs [--rounds N] [--install-rounds N] [--only NAME,NAME]\n" +
    `${contendersLine(CONTENDERS, BASELINE)}\n` +
    "--rounds 0 or --install-rounds 0 skips that phase",
);

function parseArgs(argv) {
  const opts = { rounds: 5, installRounds: 3, only: null };
  parseOptions(argv, usage, (key, value, arg) => {
    switch (key) {
      case "rounds":
      case "install-rounds": {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 0) usage(`${arg} must be a whole number (0 skips the phase)`);
        opts[key === "rounds" ? "rounds" : "installRounds"] = n;
        break;
      }
      case "only":
        opts.only = parseOnly(value, CONTENDERS, usage);
        break;
      default:
        usage(`unknown option ${arg}`);
    }
  });
  if (opts.rounds === 0 && opts.installRounds === 0) usage("--rounds and --install-rounds are both 0: nothing to run");
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const contenders = selectContenders(CONTENDERS, BASELINE, opts.only);
const phases = PHASES.filter((p) => opts[p.roundsOption] > 0);
const command = describeCommand(import.meta.url, "bench:create");

// The children get this environment: ours minus what `npm run` adds about the bench package, so
// that the generators and npm see the same thing whether or not this ran under `npm run`.
const env = childEnv();

// ---------------------------------------------------------------- children

/** @type {Set<import("node:child_process").ChildProcess>} */
const children = new Set();
/** @type {Set<string>} */
const tempDirs = new Set();

function cleanUp() {
  signalChildren(children, "SIGTERM", { group: true }); // its own process group: npm's children too
  removeDirs(tempDirs);
}

const fail = handleExits({ cleanUp });

/**
 * Creates one app with the contender's commands for the phase, in a fresh temporary folder;
 * returns { seconds } or { error }. The folder is removed afterwards (not timed).
 */
async function createOnce(contender, phase) {
  const tmp = mkdtempSync(path.join(os.tmpdir(), `create-bench-${contender.name}-`));
  tempDirs.add(tmp);
  try {
    const steps = contender[phase.key];
    const start = process.hrtime.bigint();
    for (const step of steps) {
      const last = step[step.length - 1];
      const options = typeof last === "object" ? last : {};
      const argv = typeof last === "object" ? step.slice(0, -1) : step;
      const result = await runCommand(argv, path.join(tmp, options.cwd ?? ""), { env, children });
      if (result.code !== 0) {
        const tail = result.output.trim().split("\n").slice(-15).join("\n");
        return {
          error: `\`${argv.map((a) => path.basename(a)).join(" ")}\` exited with ${
            result.code === null ? (result.signal ?? "a spawn error") : `code ${result.code}`
          }\n${tail}`,
        };
      }
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const expected = contender.expect.concat(phase.key === "install" ? contender.expectInstalled : []);
    const missing = expected.filter((rel) => !existsSync(path.join(tmp, APP, rel)));
    if (missing.length) return { error: `finished but ${missing.map((m) => `${APP}/${m}`).join(", ")} missing` };
    if (phase.key === "noInstall" && existsSync(path.join(tmp, APP, "node_modules"))) {
      return { error: `${APP}/node_modules exists although dependencies were not to be installed` };
    }
    return { seconds };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    tempDirs.delete(tmp);
  }
}

// ---------------------------------------------------------------- report helpers

const installedVersion = (pkg) => packageVersion(path.join(BENCH_DIR, "node_modules", pkg));
const fmtS = (n) => n.toFixed(2);
const fmtRatio = (n) => `${n.toFixed(2)}x`;

// ---------------------------------------------------------------- main

async function main() {
  if (!existsSync(path.join(ROOT_DIR, "dist", "src", "create.js"))) {
    fail("dist/src/create.js is missing: run `npm run build` at the repository root first");
  }
  for (const contender of contenders) {
    if (contender.pkg !== null && installedVersion(contender.pkg) === null) {
      fail(`bench/node_modules/${contender.pkg} is missing: run \`npm ci\` in bench/ first`);
    }
  }

  const npmVersion = commandOutput("npm", ["--version"], { cwd: BENCH_DIR, env }) ?? "unknown";
  const npmCache = commandOutput("npm", ["config", "get", "cache"], { cwd: os.tmpdir(), env }) ?? "unknown";
  const npmAudit = commandOutput("npm", ["config", "get", "audit"], { cwd: os.tmpdir(), env }) ?? "unknown";
  const npmFund = commandOutput("npm", ["config", "get", "fund"], { cwd: os.tmpdir(), env }) ?? "unknown";
  const versions = Object.fromEntries(
    contenders.map((c) => [c.name, c.pkg === null ? `this checkout (${gitRevision(GIT_DIRS)})` : `${c.pkg} ${installedVersion(c.pkg)}`]),
  );

  console.log(
    `Project creation: ${contenders.map((c) => c.name).join(", ")}; ` +
      phases.map((p) => `${p.title.toLowerCase()}: 1 warm-up + ${opts[p.roundsOption]} rounds`).join("; ") +
      `\nnpm ${npmVersion}, cache ${npmCache}\n`,
  );

  /** results[phase][contender] = { skipped: reason } | { seconds: [...], ratios: [...] } */
  const results = {};
  for (const phase of phases) {
    results[phase.key] = {};
    const rounds = opts[phase.roundsOption];
    console.log(`${phase.title}: warm-up (not measured)`);
    for (const contender of contenders) {
      const warm = await createOnce(contender, phase);
      if (warm.error !== undefined) {
        if (contender.name === BASELINE) fail(`${contender.name} (${phase.title}, warm-up): ${warm.error}`);
        console.error(
          `\n*** ${contender.name} COULD NOT RUN HERE (${phase.title}, warm-up): ${warm.error}\n` +
            `*** recorded as "could not run here"; the other contenders go on\n`,
        );
        const lines = warm.error.split("\n").map((l) => l.trim()).filter(Boolean);
        const reason = lines.length > 1 ? `${lines[0]}: ${lines[lines.length - 1]}` : lines[0];
        results[phase.key][contender.name] = { skipped: reason };
      } else {
        console.log(`  ${contender.name.padEnd(8)} ${fmtS(warm.seconds)} s`);
        results[phase.key][contender.name] = { seconds: [], ratios: [] };
      }
    }
    const running = contenders.filter((c) => results[phase.key][c.name].skipped === undefined);
    for (let round = 0; round < rounds; round++) {
      const seconds = {};
      for (const contender of running) {
        const run = await createOnce(contender, phase);
        if (run.error !== undefined) fail(`${contender.name} (${phase.title}, round ${round + 1}): ${run.error}`);
        seconds[contender.name] = run.seconds;
      }
      const line = [];
      for (const contender of running) {
        const r = results[phase.key][contender.name];
        r.seconds.push(seconds[contender.name]);
        r.ratios.push(seconds[contender.name] / seconds[BASELINE]);
        line.push(
          `${contender.name} ${fmtS(seconds[contender.name])} s` +
            (contender.name === BASELINE ? "" : ` (${fmtRatio(seconds[contender.name] / seconds[BASELINE])})`),
        );
      }
      console.log(`  round ${round + 1}/${rounds}: ${line.join(", ")}`);
    }
    console.log();
  }

  // ---------------------------------------------------------------- report
  const tables = [];
  const perRound = [];
  for (const phase of phases) {
    const rows = [];
    for (const contender of contenders) {
      const r = results[phase.key][contender.name];
      if (r.skipped !== undefined) {
        rows.push(`| ${contender.label} | could not run here: ${r.skipped.replace(/\|/g, "\\|")} | – | – | – | – |`);
        continue;
      }
      rows.push(
        `| ${contender.label} | \`${contender.show[phase.key]}\` | ${fmtS(median(r.seconds))} | ` +
          `${fmtS(Math.min(...r.seconds))} | ${fmtS(Math.max(...r.seconds))} | ${fmtRatio(median(r.ratios))} |`,
      );
    }
    tables.push(
      `### ${phase.title} (${opts[phase.roundsOption]} rounds)\n\n` +
        "| contender | command | median s | min s | max s | median ratio to create-tornado-app |\n" +
        "| --- | --- | ---: | ---: | ---: | ---: |\n" +
        rows.join("\n"),
    );
    const running = contenders.filter((c) => results[phase.key][c.name].skipped === undefined);
    perRound.push(
      `\n${phase.title}, seconds per round (ratio to create-tornado-app in that round):\n\n` +
        roundsTable(
          running.map((c) => c.name),
          opts[phase.roundsOption],
          (i, name) => {
            const r = results[phase.key][name];
            return `${fmtS(r.seconds[i])} (${r.ratios[i].toFixed(2)})`;
          },
        ),
    );
  }

  const { date, node, cpu } = machine();
  const markdown = `# Project creation results

- Date: ${date}
- Node.js: ${node}; npm ${npmVersion}
- CPU: ${cpu}
- Command: ${command}
- Contenders: ${contenders.map((c) => `${c.name} = ${versions[c.name]}`).join("; ")} (generators run from \`bench/node_modules/.bin\`, never downloaded during the run)
- npm cache: \`${npmCache}\`, shared by every contender and warm (one unmeasured warm-up create of each contender before each phase); npm config audit=${npmAudit}, fund=${npmFund}
- Method: wall time of the whole command (child process, stdin closed, from spawn to exit), each create in a fresh temporary folder removed afterwards (not timed); rounds alternate the contenders in the order ${contenders.map((c) => c.name).join(", ")}; every run checked (exit code 0, package.json, tsconfig.json and src/main.ts written, and after an install package-lock.json and the main dependency in node_modules)
- Figures: median, min and max seconds over the rounds, and the median over rounds of (the contender's seconds ÷ create-tornado-app's seconds in the same round): above 1.00x is slower than create-tornado-app

${tables.join("\n\n")}

## Per round
${perRound.join("\n")}
`;
  writeFileSync(RESULTS_FILE, markdown);

  console.log(`${tables.join("\n\n")}\n`);
  console.log(`Written to ${displayPath(RESULTS_FILE)}`);
}

main().catch(fail);

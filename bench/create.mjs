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

import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT_DIR = path.dirname(BENCH_DIR);
const RESULTS_FILE = path.join(BENCH_DIR, "create-results.md");
const BIN_DIR = path.join(BENCH_DIR, "node_modules", ".bin");
const OUR_BIN = path.join(ROOT_DIR, "bin", "create-tornado-app.js");
const APP = "app";

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

function usage(message) {
  if (message) console.error(`create.mjs: ${message}`);
  console.error(
    "usage: node bench/create.mjs [--rounds N] [--install-rounds N] [--only NAME,NAME]\n" +
      `contenders: ${CONTENDERS.map((c) => c.name).join(", ")} (${BASELINE} is always run: it is the baseline)\n` +
      "--rounds 0 or --install-rounds 0 skips that phase",
  );
  process.exit(message ? 2 : 0);
}

function parseArgs(argv) {
  const opts = { rounds: 5, installRounds: 3, only: null };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value;
    if (arg === "-h" || arg === "--help") usage();
    if (!arg.startsWith("--")) usage(`unexpected argument ${arg}`);
    const eq = arg.indexOf("=");
    if (eq !== -1) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    } else {
      value = argv[++i];
    }
    if (value === undefined) usage(`${arg} needs a value`);
    switch (arg) {
      case "--rounds":
      case "--install-rounds": {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 0) usage(`${arg} must be a whole number (0 skips the phase)`);
        opts[arg === "--rounds" ? "rounds" : "installRounds"] = n;
        break;
      }
      case "--only":
        opts.only = value.split(",").filter(Boolean);
        for (const name of opts.only) {
          if (!CONTENDERS.some((c) => c.name === name)) usage(`unknown contender ${name}`);
        }
        break;
      default:
        usage(`unknown option ${arg}`);
    }
  }
  if (opts.rounds === 0 && opts.installRounds === 0) usage("--rounds and --install-rounds are both 0: nothing to run");
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const contenders = CONTENDERS.filter(
  (c) => c.name === BASELINE || opts.only === null || opts.only.includes(c.name),
);
const phases = PHASES.filter((p) => opts[p.roundsOption] > 0);
const directCommand = ["node", path.relative(process.cwd(), fileURLToPath(import.meta.url)) || "create.mjs"]
  .concat(process.argv.slice(2))
  .join(" ");
const fromDir =
  path.relative(ROOT_DIR, process.cwd()) === ""
    ? "the repository root"
    : `\`${path.relative(ROOT_DIR, process.cwd())}/\``;
const command =
  process.env.npm_lifecycle_event === "bench:create"
    ? `\`npm run bench:create\` in \`bench/\` (\`${directCommand}\`)`
    : `\`${directCommand}\` (run from ${fromDir})`;

// The children get this environment: ours minus what `npm run` adds about the bench package, so
// that the generators and npm see the same thing whether or not this ran under `npm run`.
const childEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([key]) => !/^npm_(lifecycle_|package_|config_user_agent$|execpath$|node_execpath$|command$)/i.test(key),
  ),
);

// ---------------------------------------------------------------- children

/** @type {Set<import("node:child_process").ChildProcess>} */
const children = new Set();
/** @type {Set<string>} */
const tempDirs = new Set();

function cleanUp() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, "SIGTERM"); // its own process group: npm's children too
      } catch {
        // already gone
      }
    }
  }
  for (const dir of tempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
  tempDirs.clear();
}

function fail(message) {
  console.error(`\nBENCHMARK FAILED: ${message}`);
  cleanUp();
  process.exit(1);
}

process.on("exit", () => cleanUp());
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    console.error(`\nreceived ${signal}: stopping`);
    cleanUp();
    process.exit(128 + os.constants.signals[signal]);
  });
}
process.on("uncaughtException", (error) => fail(error?.stack ?? String(error)));
process.on("unhandledRejection", (error) => fail(error?.stack ?? String(error)));

/** Runs one command to its end; resolves with { code, signal, output } (output: its last 8 KB). */
function runCommand(argv, cwd) {
  const [file, ...args] = argv;
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      cwd,
      env: childEnv,
      stdio: ["ignore", "pipe", "pipe"], // no terminal: a generator that prompts would hang or fail
      detached: true, // own process group, so an interrupt can stop npm's children as well
    });
    children.add(child);
    let output = "";
    const keep = (chunk) => {
      output = (output + chunk.toString()).slice(-8000);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.on("error", (error) => {
      children.delete(child);
      resolve({ code: null, signal: null, output: error.message });
    });
    child.on("close", (code, signal) => {
      children.delete(child);
      resolve({ code, signal, output });
    });
  });
}

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
      const result = await runCommand(argv, path.join(tmp, options.cwd ?? ""));
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

// ---------------------------------------------------------------- facts about the machine

function quiet(file, args, cwd = ROOT_DIR) {
  try {
    return execFileSync(file, args, { cwd, env: childEnv, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return null;
  }
}

function gitRevision() {
  const commit = quiet("git", ["-C", ROOT_DIR, "rev-parse", "--short", "HEAD"]);
  if (commit === null) return "unknown (not a git checkout)";
  const dirty = quiet("git", ["-C", ROOT_DIR, "status", "--porcelain", "--", "src", "templates", "runtime", "bin"]);
  return `commit ${commit}${dirty ? " with uncommitted changes in src/, templates/, runtime/ or bin/" : ""}`;
}

function installedVersion(pkg) {
  try {
    return JSON.parse(readFileSync(path.join(BENCH_DIR, "node_modules", pkg, "package.json"), "utf8")).version;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- report helpers

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
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

  const npmVersion = quiet("npm", ["--version"], BENCH_DIR) ?? "unknown";
  const npmCache = quiet("npm", ["config", "get", "cache"], os.tmpdir()) ?? "unknown";
  const npmAudit = quiet("npm", ["config", "get", "audit"], os.tmpdir()) ?? "unknown";
  const npmFund = quiet("npm", ["config", "get", "fund"], os.tmpdir()) ?? "unknown";
  const versions = Object.fromEntries(
    contenders.map((c) => [c.name, c.pkg === null ? `this checkout (${gitRevision()})` : `${c.pkg} ${installedVersion(c.pkg)}`]),
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
        `| round | ${running.map((c) => c.name).join(" | ")} |\n` +
        `| ---: | ${running.map(() => "---:").join(" | ")} |\n` +
        Array.from(
          { length: opts[phase.roundsOption] },
          (_, i) =>
            `| ${i + 1} | ${running
              .map((c) => {
                const r = results[phase.key][c.name];
                return `${fmtS(r.seconds[i])} (${r.ratios[i].toFixed(2)})`;
              })
              .join(" | ")} |`,
        ).join("\n"),
    );
  }

  const cpu = os.cpus();
  const date = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const markdown = `# Project creation results

- Date: ${date}
- Node.js: ${process.version} (${process.platform} ${process.arch}); npm ${npmVersion}
- CPU: ${cpu[0]?.model ?? "unknown"} (${cpu.length} logical cores)
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
  console.log(`Written to ${path.relative(process.cwd(), RESULTS_FILE) || RESULTS_FILE}`);
}

main().catch((error) => fail(error?.stack ?? String(error)));

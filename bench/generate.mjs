#!/usr/bin/env node
// Handler generation time: `tornado generate handler orders` (with and without --dry-run) vs the
// Nest CLI's `nest generate controller orders`, with `node -e 0` as the process-startup floor.
//
//   node bench/generate.mjs [--rounds 10] [--only node,nest]
//   npm run build && cd bench && npm ci && node generate.mjs      (from the repository root)
//
// Two apps are made once per run, in a temporary folder: a tornado app
// (create-tornado-app app --yes --no-install --no-git) and a Nest project (nest new app
// --skip-install --skip-git --package-manager npm); neither gets node_modules. Every timed
// command is a whole child process (wall time from spawn to exit, stdin closed), run with the
// app folder as working directory:
//   dry run   tornado generate handler orders --dry-run, nest generate controller orders --dry-run,
//             in the app itself (nothing may be written)
//   real      the same without --dry-run, each in a fresh copy of the pristine app (the copy is
//             made before the clock starts and removed afterwards, neither timed)
//   floor     node -e 0 (how long starting and stopping Node.js takes on this machine)
// tornado runs from this checkout (node bin/tornado.js, i.e. dist/), nest from the version pinned
// in bench/node_modules/.bin. Every run is checked: exit code 0; for a dry run "Dry run:" (nest:
// "Dry run enabled") on stdout and no file written; for a real one the handler, its test, the
// manifest and the "/orders" route in src/app.ts (nest: the controller, its spec and
// OrdersController in src/app.module.ts), else the benchmark fails. First one cold run of each
// tornado command (not part of the medians), then one unmeasured warm-up of every command, then `--rounds`
// rounds, each running every command once in an order rotated every round. Figures: per command,
// the median (min, max) seconds over rounds and the median over rounds of (its seconds ÷ the
// tornado command's seconds of the same kind in the same round), and the median over rounds of
// tornado's seconds minus `node -e 0`'s. A peer whose app cannot be made or whose warm-up fails
// is recorded as "could not run here" with the reason. The tables, the goal (each tornado median
// under 0.5 s) and the machine's load average are printed and written to
// bench/generate-results.md; the temporary folder is removed on exit, error or Ctrl-C.

import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
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

const RESULTS_FILE = path.join(BENCH_DIR, "generate-results.md");
const BIN_DIR = path.join(BENCH_DIR, "node_modules", ".bin");
const CREATE_BIN = path.join(ROOT_DIR, "bin", "create-tornado-app.js");
const TORNADO_BIN = path.join(ROOT_DIR, "bin", "tornado.js");
const NEST_BIN = path.join(BIN_DIR, "nest");
const CLI_ENTRY = path.join(ROOT_DIR, "dist", "src", "tornado.js");
/** The module that parses the app file; `oxc-parser` is resolved from there. */
const PARSER = path.join(ROOT_DIR, "dist", "src", "generate", "syntax.js");
const APP = "app";
const NAME = "orders";
/** The folders whose uncommitted changes the results file mentions: what a generate is made of. */
const GIT_DIRS = ["src", "templates", "runtime", "bin"];
const GOAL_SECONDS = 0.5;

const BASELINE = "tornado";

/**
 * The contenders, each with its commands: `dry` and `real` (compared with tornado's of the same
 * kind), or `floor` (one command, compared with both). `app` names the app it runs in; `check`
 * looks at the result and the app folder afterwards and returns what is wrong, or null.
 */
const CONTENDERS = [
  {
    name: "tornado",
    label: "tornado generate (this project)",
    pkg: null,
    commands: {
      dry: {
        app: "tornado",
        argv: [process.execPath, TORNADO_BIN, "generate", "handler", NAME, "--dry-run"],
        show: `node bin/tornado.js generate handler ${NAME} --dry-run`,
        check: (result, dir) =>
          !result.stdout.includes("Dry run:")
            ? 'no "Dry run:" on stdout'
            : wrote(dir, [`src/handlers/${NAME}.ts`, `test/${NAME}.test.ts`, ".tornado"]),
      },
      real: {
        app: "tornado",
        argv: [process.execPath, TORNADO_BIN, "generate", "handler", NAME],
        show: `node bin/tornado.js generate handler ${NAME}`,
        check: (result, dir) =>
          missing(dir, [`src/handlers/${NAME}.ts`, `test/${NAME}.test.ts`, ".tornado/manifest.json"]) ??
          lacks(dir, "src/app.ts", `"/${NAME}"`),
      },
    },
  },
  {
    name: "node",
    label: "`node -e 0` (process-startup floor)",
    pkg: null,
    commands: {
      floor: {
        app: null,
        argv: [process.execPath, "-e", "0"],
        show: "node -e 0",
        check: () => null,
      },
    },
  },
  {
    name: "nest",
    label: "@nestjs/cli (nest generate)",
    pkg: "@nestjs/cli",
    commands: {
      dry: {
        app: "nest",
        argv: [NEST_BIN, "generate", "controller", NAME, "--dry-run"],
        show: `nest generate controller ${NAME} --dry-run`,
        check: (result, dir) =>
          !result.stdout.includes("Dry run enabled") ? 'no "Dry run enabled" on stdout' : wrote(dir, [`src/${NAME}`]),
      },
      real: {
        app: "nest",
        argv: [NEST_BIN, "generate", "controller", NAME],
        show: `nest generate controller ${NAME}`,
        check: (result, dir) =>
          missing(dir, [`src/${NAME}/${NAME}.controller.ts`, `src/${NAME}/${NAME}.controller.spec.ts`]) ??
          lacks(dir, "src/app.module.ts", "OrdersController"),
      },
    },
  },
];

const KINDS = [
  { key: "dry", title: "Dry run (`--dry-run`: plan and print the changes, write nothing)" },
  { key: "real", title: "Real generate (files written)" },
];

function missing(dir, rels) {
  const gone = rels.filter((rel) => !existsSync(path.join(dir, rel)));
  return gone.length ? `finished but ${gone.map((m) => `${APP}/${m}`).join(", ")} missing` : null;
}

function wrote(dir, rels) {
  const there = rels.filter((rel) => existsSync(path.join(dir, rel)));
  return there.length ? `a dry run wrote ${there.map((m) => `${APP}/${m}`).join(", ")}` : null;
}

function lacks(dir, rel, text) {
  let content;
  try {
    content = readFileSync(path.join(dir, rel), "utf8");
  } catch {
    return `${APP}/${rel} is missing`;
  }
  return content.includes(text) ? null : `${APP}/${rel} does not contain ${text}`;
}

// ---------------------------------------------------------------- options

const usage = makeUsage(
  "generate.mjs",
  "usage: node bench/generate.mjs [--rounds N] [--only NAME,NAME]\n" + contendersLine(CONTENDERS, BASELINE),
);

function parseArgs(argv) {
  const opts = { rounds: 10, only: null };
  parseOptions(argv, usage, (key, value, arg) => {
    switch (key) {
      case "rounds": {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 1) usage(`${arg} must be a whole number of at least 1`);
        opts.rounds = n;
        break;
      }
      case "only":
        opts.only = parseOnly(value, CONTENDERS, usage);
        break;
      default:
        usage(`unknown option ${arg}`);
    }
  });
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const contenders = selectContenders(CONTENDERS, BASELINE, opts.only);
const command = describeCommand(import.meta.url, "bench:generate");
const roundsText = `${opts.rounds} round${opts.rounds === 1 ? "" : "s"}`;

/** Every timed command, as { contender, kind, cmd, id }: tornado's first, in declared order. */
const runs = contenders.flatMap((contender) =>
  Object.entries(contender.commands).map(([kind, cmd]) => ({ contender, kind, cmd, id: `${contender.name}:${kind}` })),
);

// ---------------------------------------------------------------- children

/** @type {Set<import("node:child_process").ChildProcess>} */
const children = new Set();
/** @type {Set<string>} */
const tempDirs = new Set();

function cleanUp() {
  signalChildren(children, "SIGTERM", { group: true });
  removeDirs(tempDirs);
}

const fail = handleExits({ cleanUp });

// One temporary folder for the run: the two apps and each real run's copy.
const tmp = mkdtempSync(path.join(os.tmpdir(), "generate-bench-"));
tempDirs.add(tmp);
const apps = { tornado: path.join(tmp, "tornado", APP), nest: path.join(tmp, "nest", APP) };

// The children get this environment: ours minus what `npm run` adds about the bench package, with
const env = childEnv();


/**
 * Runs one command once: a dry run or the floor in place, a real run in a fresh copy of the app
 * (copied before the clock starts, removed afterwards); returns { seconds } or { error }.
 */
async function runOnce(run) {
  const { cmd } = run;
  let dir = cmd.app === null ? tmp : apps[cmd.app];
  let copy = null;
  if (run.kind === "real") {
    copy = mkdtempSync(path.join(tmp, `run-${run.contender.name}-`));
    dir = path.join(copy, APP);
    cpSync(apps[cmd.app], dir, { recursive: true });
  }
  try {
    const start = process.hrtime.bigint();
    const result = await runCommand(cmd.argv, dir, { env, children });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (result.code !== 0) {
      const tail = result.output.trim().split("\n").slice(-15).join("\n");
      return {
        error: `\`${cmd.show}\` exited with ${result.code === null ? (result.signal ?? "a spawn error") : `code ${result.code}`}\n${tail}`,
      };
    }
    const problem = cmd.check(result, dir);
    if (problem !== null) return { error: `\`${cmd.show}\`: ${problem}` };
    return { seconds };
  } finally {
    if (copy !== null) rmSync(copy, { recursive: true, force: true });
  }
}

/** Makes one app with `argv` in `parent` (created); fails the benchmark unless `expect` exist. */
async function makeApp(parent, argv, show, expect) {
  mkdirSync(parent, { recursive: true });
  const start = process.hrtime.bigint();
  const result = await runCommand(argv, parent, { env, children });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (result.code !== 0) return { error: `\`${show}\` exited with ${result.signal ?? `code ${result.code}`}\n${result.output.trim()}` };
  const gone = expect.filter((rel) => !existsSync(path.join(parent, APP, rel)));
  if (gone.length) return { error: `\`${show}\` finished but ${gone.map((m) => `${APP}/${m}`).join(", ")} missing` };
  if (existsSync(path.join(parent, APP, "node_modules"))) return { error: `\`${show}\` installed node_modules` };
  return { seconds };
}

// ---------------------------------------------------------------- report helpers

const installedVersion = (pkg) => packageVersion(path.join(BENCH_DIR, "node_modules", pkg));
const fmtS = (n) => n.toFixed(3);
const fmtRatio = (n) => `${n.toFixed(2)}x`;
const reasonOf = (error) => {
  const lines = error.split("\n").map((l) => l.trim()).filter(Boolean);
  return lines.length > 1 ? `${lines[0]}: ${lines[lines.length - 1]}` : lines[0];
};

// ---------------------------------------------------------------- main

async function main() {
  if (!existsSync(CLI_ENTRY) || !existsSync(PARSER)) {
    fail("dist/src/tornado.js is missing: run `npm run build` at the repository root first");
  }
  for (const contender of contenders) {
    if (contender.pkg !== null && installedVersion(contender.pkg) === null) {
      fail(`bench/node_modules/${contender.pkg} is missing: run \`npm ci\` in bench/ first`);
    }
  }
  const npmVersion = commandOutput("npm", ["--version"], { cwd: BENCH_DIR, env }) ?? "unknown";
  const versions = {
    tornado: `this checkout (${gitRevision(GIT_DIRS)}), oxc-parser ${packageVersion(path.dirname(createRequire(PARSER).resolve("oxc-parser/package.json")))}`,
    node: `Node.js ${process.version}`,
    nest: `@nestjs/cli ${installedVersion("@nestjs/cli")} (schematics: @nestjs/schematics ${installedVersion("@nestjs/schematics")}, the CLI's own, since the project has no node_modules)`,
  };
  const started = performance.now();
  const loadAtStart = os.loadavg()[0];
  console.log(
    `Handler generation: ${runs.map((r) => r.id).join(", ")}; 2 cold tornado runs, 1 warm-up each, ${roundsText}\n`,
  );

  // The apps, once.
  /** skipped[contenderName] = reason, when its app could not be made. */
  const skipped = {};
  const made = await makeApp(
    path.dirname(apps.tornado),
    [process.execPath, CREATE_BIN, APP, "--yes", "--no-install", "--no-git"],
    "create-tornado-app app --yes --no-install --no-git",
    ["package.json", "src/app.ts"],
  );
  if (made.error !== undefined) fail(made.error);
  console.log(`tornado app made in ${fmtS(made.seconds)} s: ${apps.tornado}`);
  if (contenders.some((c) => c.name === "nest")) {
    const nestMade = await makeApp(
      path.dirname(apps.nest),
      [NEST_BIN, "new", APP, "--skip-install", "--skip-git", "--package-manager", "npm"],
      "nest new app --skip-install --skip-git --package-manager npm",
      ["package.json", "nest-cli.json", "src/app.module.ts"],
    );
    if (nestMade.error !== undefined) {
      console.error(`\n*** nest COULD NOT RUN HERE (nest new): ${nestMade.error}\n*** recorded as "could not run here"\n`);
      skipped.nest = reasonOf(nestMade.error);
    } else {
      console.log(`Nest project made in ${fmtS(nestMade.seconds)} s: ${apps.nest}`);
    }
  }

  // Cold: the first run of each tornado command (the operating system's file cache not yet warm).
  const cold = {};
  for (const run of runs.filter((r) => r.contender.name === BASELINE)) {
    const result = await runOnce(run);
    if (result.error !== undefined) fail(`${run.id} (cold): ${result.error}`);
    cold[run.kind] = result.seconds;
    console.log(`cold ${run.id.padEnd(13)} ${fmtS(result.seconds)} s`);
  }

  // Warm-up, then the rounds.
  /** results[id] = { skipped: reason } | { seconds: [...], ratios: [...] } */
  const results = {};
  console.log("warm-up (not measured)");
  for (const run of runs) {
    if (skipped[run.contender.name] !== undefined) {
      results[run.id] = { skipped: skipped[run.contender.name] };
      continue;
    }
    const warm = await runOnce(run);
    if (warm.error !== undefined) {
      if (run.contender.name === BASELINE) fail(`${run.id} (warm-up): ${warm.error}`);
      console.error(`\n*** ${run.id} COULD NOT RUN HERE (warm-up): ${warm.error}\n*** recorded as "could not run here"; the others go on\n`);
      results[run.id] = { skipped: reasonOf(warm.error) };
    } else {
      console.log(`  ${run.id.padEnd(13)} ${fmtS(warm.seconds)} s`);
      results[run.id] = { seconds: [], ratios: { dry: [], real: [] } };
    }
  }

  const running = runs.filter((r) => results[r.id].skipped === undefined);
  const order = (round) => running.slice(round % running.length).concat(running.slice(0, round % running.length));
  const orders = [];
  for (let round = 0; round < opts.rounds; round++) {
    const seconds = {};
    orders.push(order(round).map((r) => r.id));
    for (const run of order(round)) {
      const result = await runOnce(run);
      if (result.error !== undefined) fail(`${run.id} (round ${round + 1}): ${result.error}`);
      seconds[run.id] = result.seconds;
    }
    for (const run of running) {
      const r = results[run.id];
      r.seconds.push(seconds[run.id]);
      for (const kind of ["dry", "real"]) {
        if (run.kind === kind || run.kind === "floor") r.ratios[kind].push(seconds[run.id] / seconds[`${BASELINE}:${kind}`]);
      }
    }
    console.log(`  round ${round + 1}/${opts.rounds}: ${running.map((r) => `${r.id} ${fmtS(seconds[r.id])}`).join(", ")}`);
  }
  const elapsed = (performance.now() - started) / 1000;

  // ---------------------------------------------------------------- report
  const tables = [];
  const summary = {};
  for (const kind of KINDS) {
    const rows = [];
    for (const run of runs.filter((r) => r.kind === kind.key || r.kind === "floor")) {
      const r = results[run.id];
      if (r.skipped !== undefined) {
        rows.push(`| ${run.contender.label} | \`${run.cmd.show}\` | could not run here: ${r.skipped.replace(/\|/g, "\\|")} | – | – | – |`);
        continue;
      }
      summary[`${run.id}`] = median(r.seconds);
      rows.push(
        `| ${run.contender.label} | \`${run.cmd.show}\` | ${fmtS(median(r.seconds))} | ` +
          `${fmtS(Math.min(...r.seconds))} | ${fmtS(Math.max(...r.seconds))} | ${fmtRatio(median(r.ratios[kind.key]))} |`,
      );
    }
    tables.push(
      `### ${kind.title}, ${roundsText}\n\n` +
        "| contender | command | median s | min s | max s | median ratio to tornado's |\n" +
        "| --- | --- | ---: | ---: | ---: | ---: |\n" +
        rows.join("\n"),
    );
  }
  const coldLine =
    `Cold (the first run of each): ` +
    `\`${runs.find((r) => r.id === `${BASELINE}:dry`).cmd.show}\` ${fmtS(cold.dry)} s, ` +
    `\`${runs.find((r) => r.id === `${BASELINE}:real`).cmd.show}\` ${fmtS(cold.real)} s.`;
  // What the tornado CLI adds to starting Node.js: its seconds minus `node -e 0`'s, per round.
  const floor = results["node:floor"];
  const aboveLine =
    floor?.seconds?.length > 0
      ? `Above the floor (median over rounds of the tornado command's seconds − \`node -e 0\`'s in the same round): ` +
        KINDS.map((kind) => {
          const t = results[`${BASELINE}:${kind.key}`].seconds;
          return `${kind.key === "dry" ? "dry run" : "real generate"} ${fmtS(median(t.map((x, i) => x - floor.seconds[i])))} s`;
        }).join(", ") +
        "."
      : null;
  const goalLine = (kind, what) => {
    const m = summary[`${BASELINE}:${kind}`];
    return `- ${what}: median ${fmtS(m)} s, ${m < GOAL_SECONDS ? "**met**" : "**not met**"} (goal: under ${GOAL_SECONDS} s)`;
  };
  const goal = `${goalLine("dry", "`tornado generate handler orders --dry-run`")}\n${goalLine("real", "`tornado generate handler orders`")}`;
  const perRound = roundsTable(
    running.map((r) => r.id),
    opts.rounds,
    (i, id) => {
      const r = results[id];
      const kind = id.endsWith(":floor") ? null : id.split(":")[1];
      return kind === null ? fmtS(r.seconds[i]) : `${fmtS(r.seconds[i])} (${r.ratios[kind][i].toFixed(2)})`;
    },
  );

  const { date, node, cpu } = machine();
  const markdown = `# Handler generation results

- Date: ${date}
- Node.js: ${node}; npm ${npmVersion}
- CPU: ${cpu}
- Command: ${command}
- Contenders: ${contenders.map((c) => `${c.name} = ${versions[c.name]}`).join("; ")} (nest run from \`bench/node_modules/.bin\`, never downloaded during the run)
- Apps, made once for this run in a temporary folder, without node_modules: \`create-tornado-app app --yes --no-install --no-git\` and \`nest new app --skip-install --skip-git --package-manager npm\`
- Method: wall time of the whole command (child process, stdin closed, from spawn to exit), with the app folder as working directory; a dry run runs in the app itself, a real generate in a fresh copy of the pristine app (copy and removal not timed); every run checked (exit code 0; dry run: "Dry run:" / "Dry run enabled" on stdout and nothing written; real: the handler, its test, \`.tornado/manifest.json\` and "/orders" in \`src/app.ts\`, or for Nest the controller, its spec and \`OrdersController\` in \`src/app.module.ts\`)
- Rounds: one unmeasured warm-up of every command, then ${roundsText} each running every command once, the order rotated every round (round 1: ${orders[0].join(", ")})
- Figures: median, min and max seconds over the rounds, and the median over rounds of (the command's seconds ÷ the tornado command's of the same kind in the same round; \`node -e 0\` is compared with both): above 1.00x is slower than tornado's
- Wall time of the whole benchmark: ${elapsed.toFixed(0)} s; the machine's 1-minute load average (other work included) ${loadAtStart.toFixed(2)} at the start, ${os.loadavg()[0].toFixed(2)} at the end

${tables.join("\n\n")}

${coldLine}
${aboveLine === null ? "" : `\n${aboveLine}\n`}
Goal: each under ${GOAL_SECONDS * 1000} ms at the median (whole process).

${goal}

## Per round

Seconds per round (ratio to the tornado command of the same kind in that round):

${perRound}
`;
  writeFileSync(RESULTS_FILE, markdown);
  console.log(`\n${tables.join("\n\n")}\n\n${coldLine}\n${aboveLine === null ? "" : `\n${aboveLine}\n`}\n${goal}\n`);
  console.log(`Written to ${displayPath(RESULTS_FILE)}`);
  cleanUp();
}

main().catch(fail);

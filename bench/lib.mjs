// What the benchmark scripts (run.mjs, create.mjs, dev.mjs) share: option parsing, the command
// line for the results file, child processes and their clean-up on exit, error or Ctrl-C,
// facts about the machine and the checkout, and the statistics. Each script keeps its own main
// flow, contenders, measurements and report; only the plumbing lives here.

import { execFileSync, spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The bench/ folder. */
export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
/** The repository root (bench/'s parent). */
export const ROOT_DIR = path.dirname(BENCH_DIR);

// ---------------------------------------------------------------- options

/**
 * Makes a usage(message) function: prints the message (if any) and the usage text on stderr, then
 * exits with 2 after a message (a bad command line) or 0 without one (--help).
 *
 *   const usage = makeUsage("run.mjs", "usage: node bench/run.mjs [--rounds N]");
 *   usage("unknown option --x"); // "run.mjs: unknown option --x", the text, exit code 2
 */
export function makeUsage(script, text) {
  return (message) => {
    if (message) console.error(`${script}: ${message}`);
    console.error(text);
    process.exit(message ? 2 : 0);
  };
}

/**
 * The usage text's line naming the contenders and the baseline that always runs.
 *
 *   contendersLine([{ name: "a" }, { name: "b" }], "a");
 *   // "contenders: a, b (a is always run: it is the baseline)"
 */
export function contendersLine(contenders, baseline) {
  return `contenders: ${contenders.map((c) => c.name).join(", ")} (${baseline} is always run: it is the baseline)`;
}

/**
 * Walks `--name value` and `--name=value` options, calling onOption(name, value, arg) for each
 * (name without the dashes, arg as typed); -h/--help, a bare argument or a missing value go to
 * usage(). Unknown names are for onOption to refuse.
 *
 *   parseOptions(["--rounds=2", "--only", "vite"], usage, (name, value, arg) => {
 *     if (name === "rounds") opts.rounds = Number(value); // "rounds", "2", "--rounds"
 *     else if (name !== "only") usage(`unknown option ${arg}`);
 *   });
 */
export function parseOptions(argv, usage, onOption) {
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
    onOption(arg.slice(2), value, arg);
  }
}

/**
 * Reads an --only value (names separated by commas); an unknown name goes to usage().
 *
 *   parseOnly("tornado,,fastify", CONTENDERS, usage); // ["tornado", "fastify"]
 */
export function parseOnly(value, contenders, usage) {
  const only = value.split(",").filter(Boolean);
  for (const name of only) {
    if (!contenders.some((c) => c.name === name)) usage(`unknown contender ${name}`);
  }
  return only;
}

/**
 * The contenders to run: the baseline, and those named by --only (all when it is null), in
 * their declared order.
 *
 *   selectContenders(CONTENDERS, "node-http", ["express"]); // [node-http, express]
 */
export function selectContenders(contenders, baseline, only) {
  return contenders.filter((c) => c.name === baseline || only === null || only.includes(c.name));
}

/**
 * How the script was started, for the results file: `npm run <npmScript>` in bench/, the text
 * `atRoot` when the root package's script of that name ran it, or the node command line and the
 * folder it ran from.
 *
 *   describeCommand(import.meta.url, "bench:dev");
 *   // "`node bench/dev.mjs --rounds 1` (run from the repository root)"
 */
export function describeCommand(scriptUrl, npmScript, atRoot = null) {
  const file = fileURLToPath(scriptUrl);
  const directCommand = ["node", path.relative(process.cwd(), file) || path.basename(file)]
    .concat(process.argv.slice(2))
    .join(" ");
  const relDir = path.relative(ROOT_DIR, process.cwd());
  const fromDir = relDir === "" ? "the repository root" : `\`${relDir}/\``;
  if (process.env.npm_lifecycle_event === npmScript) {
    if (atRoot !== null && process.env.npm_package_name === "create-tornado-app") return atRoot;
    return `\`npm run ${npmScript}\` in \`bench/\` (\`${directCommand}\`)`;
  }
  return `\`${directCommand}\` (run from ${fromDir})`;
}

// ---------------------------------------------------------------- processes

/**
 * This process's environment minus what `npm run` adds about the bench package, so that the
 * children see the same thing whether or not the script ran under `npm run`.
 *
 *   spawn("npm", ["install"], { env: childEnv() });
 */
export function childEnv() {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !/^npm_(lifecycle_|package_|config_user_agent$|execpath$|node_execpath$|command$)/i.test(key),
    ),
  );
}

/**
 * Sends a signal to every child in the set, ignoring those already gone. With `group`, it goes
 * to the child's process group (the child was spawned `detached`), even if the child itself has
 * exited, since what it started may not have; without, only to a child still running.
 *
 *   signalChildren(children, "SIGTERM", { group: true });
 */
export function signalChildren(children, signal, { group = false } = {}) {
  for (const child of children) {
    if (!group && (child.exitCode !== null || child.signalCode !== null)) continue;
    try {
      if (group) process.kill(-child.pid, signal);
      else child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/**
 * Removes every folder in the set (best effort) and empties the set.
 *
 *   const tempDirs = new Set([mkdtempSync(path.join(os.tmpdir(), "bench-"))]);
 *   removeDirs(tempDirs); // the folder is gone, tempDirs is empty
 */
export function removeDirs(dirs) {
  for (const dir of dirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
  dirs.clear();
}

/**
 * Makes every way out run cleanUp(): a normal exit; SIGINT, SIGTERM or SIGHUP ("received SIGINT:
 * <stopping>", exit code 128 + the signal's number; `beforeSignalExit(done)`, if given, runs first
 * and calls done() when ready); an uncaught exception or unhandled rejection, which fail. Returns
 * fail(message or error): prints "BENCHMARK FAILED: …" (an error's stack), cleans up, exits 1.
 *
 *   const fail = handleExits({ cleanUp: () => signalChildren(children, "SIGTERM") });
 *   main().catch(fail);
 */
export function handleExits({ cleanUp, stopping = "stopping", beforeSignalExit = null }) {
  const fail = (problem) => {
    const message = typeof problem === "string" ? problem : (problem?.stack ?? String(problem));
    console.error(`\nBENCHMARK FAILED: ${message}`);
    cleanUp();
    process.exit(1);
  };
  process.on("exit", () => cleanUp());
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, () => {
      console.error(`\nreceived ${signal}: ${stopping}`);
      const exit = () => {
        cleanUp();
        process.exit(128 + os.constants.signals[signal]);
      };
      if (beforeSignalExit === null) exit();
      else beforeSignalExit(exit);
    });
  }
  process.on("uncaughtException", fail);
  process.on("unhandledRejection", fail);
  return fail;
}

/**
 * Runs one command to its end, without a terminal, in its own process group (kept in `children`
 * while it runs); resolves with { code, signal, output, stdout } (output: its last 8 KB of stdout
 * and stderr; stdout: its last 8 KB of stdout alone; a spawn error gives code null, the error's
 * message as output and an empty stdout).
 *
 *   const { code, output } = await runCommand(["npm", "install"], appDir, { env: childEnv(), children });
 */
export function runCommand(argv, cwd, { env, children }) {
  const [file, ...args] = argv;
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      cwd,
      env,
      stdio: ["ignore", "pipe", "pipe"], // no terminal: a command that prompts would hang or fail
      detached: true, // own process group, so an interrupt can stop what it started as well
    });
    children.add(child);
    let output = "";
    let stdout = "";
    const keep = (chunk) => {
      output = (output + chunk.toString()).slice(-8000);
    };
    child.stdout.on("data", (chunk) => {
      keep(chunk);
      stdout = (stdout + chunk.toString()).slice(-8000);
    });
    child.stderr.on("data", keep);
    child.on("error", (error) => {
      children.delete(child);
      resolve({ code: null, signal: null, output: error.message, stdout: "" });
    });
    child.on("close", (code, signal) => {
      children.delete(child);
      resolve({ code, signal, output, stdout });
    });
  });
}

/**
 * The fields of /proc/<pid>/stat from the third (state) on, as strings; null when there is no
 * such process (or no /proc). Field n of proc(5) is at index n - 3.
 *
 *   const fields = procStat(process.pid); // fields[0] "R", fields[1] the parent pid, …
 */
export function procStat(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- facts about the machine

/**
 * A command's standard output, trimmed; null if it could not run or failed.
 *
 *   commandOutput("npm", ["--version"], { cwd: BENCH_DIR }); // "10.8.2"
 */
export function commandOutput(file, args, { cwd = ROOT_DIR, env = childEnv() } = {}) {
  try {
    return execFileSync(file, args, { cwd, env, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return null;
  }
}

/**
 * The commit measured, and whether the given folders of the work tree differ from it.
 *
 *   gitRevision(["runtime"]); // "commit 58af654 with uncommitted changes in runtime/"
 *   gitRevision(["src", "bin"]); // "commit 58af654" when both are clean
 */
export function gitRevision(dirs) {
  const commit = commandOutput("git", ["-C", ROOT_DIR, "rev-parse", "--short", "HEAD"]);
  if (commit === null) return "unknown (not a git checkout)";
  const dirty = commandOutput("git", ["-C", ROOT_DIR, "status", "--porcelain", "--", ...dirs]);
  const names = dirs.map((d) => `${d}/`);
  const list = names.length > 1 ? `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}` : names[0];
  return `commit ${commit}${dirty ? ` with uncommitted changes in ${list}` : ""}`;
}

/**
 * The version in a package folder's package.json; null if there is none.
 *
 *   packageVersion(path.join(BENCH_DIR, "node_modules", "tsx")); // "4.23.15"
 */
export function packageVersion(dir) {
  try {
    return JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")).version;
  } catch {
    return null;
  }
}

/**
 * The date (UTC, to the second), Node.js and CPU, as the results files show them.
 *
 *   const { date, node, cpu } = machine();
 *   // "2025-01-02T03:04:05Z", "v20.19.0 (linux x64)", "AMD EPYC 7763 64-Core Processor (2 logical cores)"
 */
export function machine() {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    node: `${process.version} (${process.platform} ${process.arch})`,
    cpu: `${cpus[0]?.model ?? "unknown"} (${cpus.length} logical cores)`,
  };
}

/**
 * A file's path relative to the working directory, for "Written to …" (the absolute path when
 * they are the same).
 *
 *   displayPath(path.join(BENCH_DIR, "results.md")); // "bench/results.md" from the root
 */
export function displayPath(file) {
  return path.relative(process.cwd(), file) || file;
}

// ---------------------------------------------------------------- statistics and tables

/**
 * The median of a list of numbers (the mean of the middle two for an even count).
 *
 *   median([3, 1, 2]); // 2
 *   median([4, 1, 3, 2]); // 2.5
 */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * The nearest-rank percentile p (0 to 100) of a list of numbers.
 *
 *   percentile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 90); // 90
 */
export function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/**
 * A Markdown table of figures per round: a "round" column (1, 2, …), then one right-aligned
 * column per name, each cell cell(roundIndex, name).
 *
 *   roundsTable(["a", "b"], 2, (i, name) => `${name}${i}`);
 *   // "| round | a | b |\n| ---: | ---: | ---: |\n| 1 | a0 | b0 |\n| 2 | a1 | b1 |"
 */
export function roundsTable(names, rounds, cell) {
  return (
    `| round | ${names.join(" | ")} |\n` +
    `| ---: | ${names.map(() => "---:").join(" | ")} |\n` +
    Array.from({ length: rounds }, (_, i) => `| ${i + 1} | ${names.map((name) => cell(i, name)).join(" | ")} |`).join("\n")
  );
}

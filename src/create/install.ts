/** Installing the new app's dependencies, and its first git commit. */

import { spawn, spawnSync } from "node:child_process";
import { UserError } from "../cli/errors.js";
import { progressLine } from "../cli/output.js";
import { runningPackageManager } from "../cli/scripts.js";
import { createMessages as say } from "./messages.js";
import type { PackageManager } from "./package-managers.js";

export { PACKAGE_MANAGERS, type PackageManager } from "./package-managers.js";

/**
 * The package manager that ran us (`pnpm create tornado-app` → pnpm), else npm.
 *
 * @example
 * detectPackageManager("pnpm/9.0.0 npm/? node/v20.19.0 linux x64") // "pnpm"
 */
export function detectPackageManager(userAgent = process.env.npm_config_user_agent ?? ""): PackageManager {
  return runningPackageManager(userAgent);
}

interface RunResult {
  code: number | null;
  output: string;
  missing: boolean;
  /** The signal (Ctrl-C's SIGINT, or SIGTERM) that stopped the run, when one did. */
  interrupted: NodeJS.Signals | null;
}

function run(command: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv, { forwardSignals = false } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env: env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    let interrupted: NodeJS.Signals | null = null;
    // Ctrl-C in a terminal reaches the child too (same process group); a signal sent to us
    // alone is passed on. Either way we wait for the child and then say how to finish.
    const onSignal = (signal: NodeJS.Signals) => {
      interrupted = signal;
      child.kill(signal);
    };
    if (forwardSignals) for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, onSignal);
    const stopForwarding = () => {
      for (const signal of ["SIGINT", "SIGTERM"] as const) process.off(signal, onSignal);
    };
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-8000);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.on("error", (error: NodeJS.ErrnoException) => {
      stopForwarding();
      resolve({ code: null, output: error.message, missing: error.code === "ENOENT", interrupted });
    });
    child.on("close", (code, signal) => {
      stopForwarding();
      resolve({ code, output, missing: false, interrupted: interrupted ?? (signal === "SIGINT" || signal === "SIGTERM" ? signal : null) });
    });
  });
}

/**
 * Whether `pm` can be run (`<pm> --version` starts and succeeds).
 *
 * @example
 * if (!packageManagerInstalled("pnpm")) throw new UserError("pnpm is not installed…");
 */
export function packageManagerInstalled(pm: PackageManager): boolean {
  const result = spawnSync(pm, ["--version"], { stdio: "ignore", timeout: 30_000 });
  return result.error === undefined && result.status === 0;
}

/**
 * Runs `<pm> install` in the app with a progress line. When it fails, or is interrupted
 * (Ctrl-C: exit 130), throws a `UserError` that ends with `finish`, the one command that
 * completes the job; the app's files stay in place.
 *
 * @example
 * await installDependencies("/tmp/my-api", "npm", "cd my-api && npm install");
 */
export async function installDependencies(dir: string, pm: PackageManager, finish: string): Promise<void> {
  const args = pm === "npm" ? ["install", "--no-audit", "--no-fund", "--loglevel=error"] : ["install"];
  const line = progressLine(say.installing(pm));
  // npm: package documents from its cache without asking the registry whether they are current
  // (0.68x the install's time in bench/npm-flags.mjs). A cached document older than a pinned
  // version fails with ETARGET (npm/cli#6367): then once more, asking the registry.
  let result = await run(pm, pm === "npm" ? [...args, "--prefer-offline"] : args, dir, undefined, { forwardSignals: true });
  if (pm === "npm" && result.code !== 0 && result.interrupted === null && !result.missing && /\bETARGET\b|\bnotarget\b/.test(result.output)) {
    result = await run(pm, [...args, "--prefer-online"], dir, undefined, { forwardSignals: true });
  }
  if (result.code === 0 && result.interrupted === null) {
    line.done(say.installed);
    return;
  }
  line.fail(say.installing(pm));
  if (result.interrupted !== null) throw new UserError(say.installInterrupted(finish), 130);
  if (result.missing) throw new UserError(say.packageManagerMissing(pm));
  process.stderr.write(result.output.trim().split("\n").slice(-15).join("\n") + "\n");
  throw new UserError(say.installFailed(pm, result.code, finish));
}

/**
 * Makes the app a git repository with a first commit; returns why it skipped, or `null` when
 * done. Never fails the whole create: git is a convenience.
 *
 * @example
 * const skipped = await initGitRepository("/tmp/my-api");
 */
export async function initGitRepository(dir: string): Promise<string | null> {
  const version = await run("git", ["--version"], dir);
  if (version.code !== 0) return "git is not installed";
  const inside = await run("git", ["rev-parse", "--is-inside-work-tree"], dir);
  if (inside.code === 0 && inside.output.trim() === "true") return "the folder is already inside a git repository";
  const identity = await run("git", ["config", "user.email"], dir);
  // A machine without a git identity still gets its first commit, under a neutral name.
  const env =
    identity.code === 0 && identity.output.trim() !== ""
      ? undefined
      : { ...process.env, GIT_AUTHOR_NAME: "create-tornado-app", GIT_AUTHOR_EMAIL: "create-tornado-app@localhost", GIT_COMMITTER_NAME: "create-tornado-app", GIT_COMMITTER_EMAIL: "create-tornado-app@localhost" };
  for (const args of [["init", "-q"], ["add", "-A"], ["commit", "-q", "--no-verify", "-m", "Initial commit from create-tornado-app"]]) {
    const step = await run("git", args, dir, env);
    if (step.code !== 0) return `git ${args[0]} failed: ${step.output.trim().split("\n")[0]}`;
  }
  return null;
}

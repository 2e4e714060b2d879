/** Installing the new app's dependencies, and its first git commit. */

import { spawn } from "node:child_process";
import { UserError } from "../cli/errors.js";
import { progressLine } from "../cli/output.js";
import { createMessages as say } from "./messages.js";

/**
 * The package managers `--package-manager` accepts.
 *
 * @example
 * PACKAGE_MANAGERS.includes("pnpm") // true
 */
export const PACKAGE_MANAGERS = ["npm", "pnpm", "yarn"] as const;

/**
 * One of `PACKAGE_MANAGERS`.
 *
 * @example
 * const pm: PackageManager = detectPackageManager();
 */
export type PackageManager = (typeof PACKAGE_MANAGERS)[number];

/**
 * The package manager that ran us (`pnpm create tornado-app` → pnpm), else npm.
 *
 * @example
 * detectPackageManager("pnpm/9.0.0 npm/? node/v20.19.0 linux x64") // "pnpm"
 */
export function detectPackageManager(userAgent = process.env.npm_config_user_agent ?? ""): PackageManager {
  const name = userAgent.split("/")[0];
  return name === "pnpm" || name === "yarn" ? name : "npm";
}

function run(command: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string; missing: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env: env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-8000);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.on("error", (error: NodeJS.ErrnoException) => resolve({ code: null, output: error.message, missing: error.code === "ENOENT" }));
    child.on("close", (code) => resolve({ code, output, missing: false }));
  });
}

/**
 * Runs `<pm> install` in the app with a progress line; throws a `UserError` with the end of the
 * tool's output when it fails.
 *
 * @example
 * await installDependencies("/tmp/my-api", "npm");
 */
export async function installDependencies(dir: string, pm: PackageManager, displayDir: string): Promise<void> {
  const args = pm === "npm" ? ["install", "--no-audit", "--no-fund", "--loglevel=error"] : ["install"];
  const line = progressLine(say.installing(pm));
  const result = await run(pm, args, dir);
  if (result.code === 0) {
    line.done(say.installed);
    return;
  }
  line.fail(say.installing(pm));
  if (result.missing) {
    throw new UserError(`${pm} is not installed: install it (or run \`corepack enable\`), or pass --package-manager npm.`);
  }
  process.stderr.write(result.output.trim().split("\n").slice(-15).join("\n") + "\n");
  throw new UserError(say.installFailed(pm, result.code, displayDir));
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

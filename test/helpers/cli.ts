/** Runs this package's commands as a user would: a real process, in a folder of its own. */

import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

/** What a finished command printed, and how it exited. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `bin/<bin>.js` with `args` in `cwd`, stdin not a terminal, colour off.
 *
 * @example
 * const { code, stderr } = await runBin("create-tornado-app", ["http"], dir);
 */
export function runBin(bin: "create-tornado-app" | "tornado", args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return runCommand(process.execPath, [join(repoRoot, "bin", `${bin}.js`), ...args], cwd, env);
}

/**
 * Runs any command and collects its output.
 *
 * @example
 * await runCommand("npm", ["test"], appDir);
 */
export function runCommand(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, NO_COLOR: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * A fresh empty folder under the system temp dir, and a function that removes it.
 *
 * @example
 * const { dir, remove } = tempDir("create");
 */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `cta-${prefix}-`));
  // mkdtemp makes it 0700; the embedded PostgreSQL of an app created in it runs as the user
  // nobody when the tests run as root (PostgreSQL refuses root), and must be able to enter it.
  chmodSync(dir, 0o755);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Every file of an app with its content, for comparing before and after a command: everything
 * but node_modules, dist, vendor and the embedded PostgreSQL's files (`.tornado/db`, git-ignored).
 *
 * @example
 * const before = appSnapshot(app); await destroy(); expect(appSnapshot(app)).toEqual(before);
 */
export function appSnapshot(app: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (["node_modules", "dist", "vendor"].includes(entry.name) || relative(app, full) === ".tornado/db") continue;
      if (entry.isDirectory()) walk(full);
      else files.set(relative(app, full), readFileSync(full, "utf8"));
    }
  };
  walk(app);
  return files;
}

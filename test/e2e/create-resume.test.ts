/**
 * An install that fails or is interrupted leaves a working folder, says the one command that
 * finishes the job, and a rerun with the same arguments resumes it. Real npm, real signals.
 */

import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot, runBin, runCommand, tempDir } from "../helpers/cli.js";

let dir: string;
let remove: () => void;
beforeAll(() => ({ dir, remove } = tempDir("resume")));
afterAll(() => remove?.());

const args = ["app", "--yes", "--no-git"];

describe("create-tornado-app when the install does not finish", () => {
  it("a failed install: the files stay, the one command to finish is printed", async () => {
    // A registry nobody listens on: npm fails for real, at once.
    const failed = await runBin("create-tornado-app", args, dir, { npm_config_registry: "http://127.0.0.1:9/", npm_config_fetch_retries: "0" });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain("error: npm install failed (exit 1); the app's files are in place. To finish, fix the problem above and run: cd app && npm install\n");
    expect(JSON.parse(readFileSync(join(dir, "app/package.json"), "utf8")).name).toBe("app");
  }, 120_000);

  it("Ctrl-C during the install: exit 130 and the one command to finish; the next run resumes", async () => {
    // Ctrl-C in a terminal signals the whole process group: npm and us.
    const child = spawn(process.execPath, [join(repoRoot, "bin/create-tornado-app.js"), ...args], {
      cwd: dir,
      detached: true,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    await expect.poll(() => stdout, { timeout: 30_000 }).toContain("Installing dependencies with npm");
    expect(stdout).toContain("app holds the files of an earlier run whose install did not finish: resuming it\n");
    await new Promise((resolve) => setTimeout(resolve, 500));
    process.kill(-child.pid!, "SIGINT");
    expect(await exited).toBe(130);
    expect(stderr).toContain("error: Install interrupted; the app's files are in place. To finish, run: cd app && npm install\n");

    const resumed = await runBin("create-tornado-app", args, dir);
    expect(resumed.stderr).toBe("");
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain("resuming it\n");
    expect(resumed.stdout).toContain("Installed dependencies");
    expect(existsSync(join(dir, "app/node_modules/tornado/package.json"))).toBe(true);
    // The resumed app works: its own tornado lists its routes.
    const routes = await runCommand("npm", ["run", "--silent", "routes", "--", "--json"], join(dir, "app"));
    expect(routes.code, routes.stderr).toBe(0);
    expect(JSON.parse(routes.stdout).map((r: { pattern: string }) => r.pattern)).toContain("/health");
  }, 240_000);
});

/**
 * The log guard (test/helpers/log-guard.ts, a setup file of this suite): run on the cases in
 * test/fixtures/log-guard by a real vitest process, it fails exactly the tests that let a warning
 * or an error reach the log output, naming the lines, and leaves alone the ones that assert them.
 */

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot, runCommand } from "../helpers/cli.js";

describe("the log guard", () => {
  it("fails a test that logs an unasserted warning or error (also in its afterEach), and passes the others", async () => {
    const result = await runCommand(
      process.execPath,
      [join(repoRoot, "node_modules/vitest/vitest.mjs"), "run", "--config", "test/fixtures/log-guard/vitest.config.ts"],
      repoRoot,
    );
    const out = result.stdout + result.stderr;
    expect(result.code, out).toBe(1);
    expect(out).toMatch(/× flagged: a warning nobody asserts/);
    expect(out).toMatch(/× flagged: an error logged in its own afterEach/);
    for (const name of ["the same warning asserted with expectLog", "records below warning", "records a test's own interceptor takes"]) {
      expect(out).toMatch(new RegExp(`✓ passes: ${name}`));
    }
    expect(out).toMatch(/Tests\s+2 failed \| 3 passed \(5\)/);
    expect(out).toMatch(
      /Error: 2 log line\(s\) at warning or above that no expectLog asserted[^\n]*\n\[W \d{6} [\d:]{8} tornado\.general\] stray warning one\n\[W \d{6} [\d:]{8} tornado\.general\] stray warning two\n/,
    );
    expect(out).toMatch(/Error: 1 log line\(s\)[^\n]*\n\[E \d{6} [\d:]{8} tornado\.application\] error while closing\n/);
    // The lines appear in the failure message only, not printed as well.
    expect(out.split("stray warning one").length - 1).toBe(1);
    // Asserted and lower records are not reported.
    expect(out).not.toContain("stray warning three");
    expect(out).not.toContain("just information");
    expect(out).not.toContain("] taken");
  }, 60_000);
});

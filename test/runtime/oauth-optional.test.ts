/**
 * oauth4webapi is an optional peer dependency: an app that never logs in does not install it,
 * and one that makes a login client without it gets one sentence saying what to install.
 */

import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { packRuntime } from "../../src/create/pack.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
// The built runtime, alone in a folder with no node_modules above it: nothing but Node's own modules resolve.
const app = mkdtempSync(join(tmpdir(), "tornado-auth-optional-"));

afterAll(() => rmSync(app, { recursive: true, force: true }));

function run(source: string): string {
  if (!existsSync(join(root, "dist/runtime/auth.js"))) throw new Error("dist/ is missing: run `npm run build` first (npm test does)");
  return execFileSync(process.execPath, ["--input-type=module", "-e", source], { cwd: app, encoding: "utf8" }).trim();
}

describe("tornado/auth without oauth4webapi installed", () => {
  it("is declared an optional peer dependency, and a development dependency for the tests", () => {
    expect(pkg.peerDependencies.oauth4webapi).toMatch(/^\^3\./);
    expect(pkg.peerDependenciesMeta.oauth4webapi).toEqual({ optional: true });
    expect(pkg.devDependencies.oauth4webapi).toMatch(/^\d+\.\d+\.\d+$/);
    expect(pkg.dependencies.oauth4webapi).toBeUndefined();
  });

  it("imports, and says what to install when a login client is made", () => {
    cpSync(join(root, "dist/runtime"), join(app, "runtime"), { recursive: true });
    writeFileSync(join(app, "package.json"), JSON.stringify({ type: "module" }));
    const out = run(`
      const auth = await import("./runtime/auth.js");
      try {
        new auth.GitHubOAuth2({ clientId: "a", clientSecret: "b" });
        console.log("made");
      } catch (error) {
        console.log(Object.keys(auth).length > 0 ? error.message : "no exports");
      }`);
    expect(out).toBe("Logging in with tornado/auth needs oauth4webapi, which this app does not install: run `npm install oauth4webapi`");
  });
});

describe("the runtime packed for a new app (vendor/tornado)", () => {
  it("ships tornado/auth, without oauth4webapi among what every app installs", () => {
    const tgz = join(app, "tornado.tgz");
    writeFileSync(tgz, packRuntime());
    const listing = execFileSync("tar", ["tzf", tgz], { encoding: "utf8" }).split("\n");
    expect(listing).toEqual(expect.arrayContaining(["package/dist/runtime/auth.js", "package/dist/runtime/auth.d.ts", "package/dist/runtime/auth/oauth2.js"]));
    const manifest = JSON.parse(execFileSync("tar", ["xzOf", tgz, "package/package.json"], { encoding: "utf8" }));
    expect(manifest.exports["./auth"]).toEqual({ types: "./dist/runtime/auth.d.ts", default: "./dist/runtime/auth.js" });
    expect(manifest.dependencies.oauth4webapi).toBeUndefined();
  });
});

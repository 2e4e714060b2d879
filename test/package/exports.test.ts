import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { VERSION } from "../../runtime/index.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}package.json`, "utf8"));

// Runs a module script in a fresh node process inside the package, as a user's import would.
function nodeEval(source: string): string {
  if (!existsSync(`${root}dist/runtime/index.js`)) throw new Error("dist/ is missing: run `npm run build` first (npm test does)");
  return execFileSync(process.execPath, ["--input-type=module", "-e", source], { cwd: root, encoding: "utf8" }).trim();
}

describe("package.json", () => {
  it("is the ESM package create-tornado-app for the supported Node lines (22.12+, 24, 26+) with both bins", () => {
    expect(pkg.name).toBe("create-tornado-app");
    expect(pkg.type).toBe("module");
    expect(pkg.engines.node).toBe("^22.12 || ^24 || >=26");
    expect(Object.keys(pkg.bin).sort()).toEqual(["create-tornado-app", "tornado"]);
    for (const file of Object.values<string>(pkg.bin)) {
      expect(readFileSync(`${root}${file}`, "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
      expect(statSync(`${root}${file}`).mode & 0o111).not.toBe(0);
    }
  });

  it("declares the same Node lines as the apps it generates (templates' engines)", () => {
    const templates = readdirSync(`${root}templates`).filter((name) => existsSync(`${root}templates/${name}/package.json.hbs`));
    expect(templates).toEqual(expect.arrayContaining(["_base", "rest", "slow-db"]));
    for (const template of templates) {
      const manifest = readFileSync(`${root}templates/${template}/package.json.hbs`, "utf8");
      expect(/"engines":\s*\{\s*"node":\s*"([^"]+)"/.exec(manifest)?.[1], template).toBe(pkg.engines.node);
    }
  });

  it("turns off the install-time analytics of swagger-ui-dist's Scarf wherever it is a dependency (nothing phones home)", () => {
    const manifests = [`${root}package.json`, ...readdirSync(`${root}templates`).map((name) => `${root}templates/${name}/package.json.hbs`).filter((file) => existsSync(file))];
    const withSwagger = manifests.filter((file) => readFileSync(file, "utf8").includes('"swagger-ui-dist"'));
    expect(withSwagger.length).toBeGreaterThan(0);
    for (const file of withSwagger) expect(readFileSync(file, "utf8"), file).toMatch(/"scarfSettings":\s*\{\s*"enabled":\s*false\s*\}/);
  });

  it("has VERSION equal to its version", () => {
    expect(VERSION).toBe(pkg.version);
  });

  it("exports the root plus one subpath per runtime module, and nothing else", () => {
    const modules = readdirSync(`${root}runtime`)
      .filter((f) => f.endsWith(".ts") && f !== "index.ts" && f !== "version.ts")
      .map((f) => `./${f.replace(/\.ts$/, "")}`);
    expect(Object.keys(pkg.exports).sort()).toEqual([".", ...modules].sort());
  });
});

describe("imports as a user makes them", () => {
  it("resolves the root and every subpath", () => {
    const subpaths = Object.keys(pkg.exports).map((k) => (k === "." ? pkg.name : `${pkg.name}/${k.slice(2)}`));
    const out = nodeEval(`
      const names = {};
      for (const s of ${JSON.stringify(subpaths)}) names[s] = Object.keys(await import(s)).length;
      console.log(JSON.stringify(names));`);
    for (const count of Object.values<number>(JSON.parse(out))) expect(count).toBeGreaterThan(0);
  });

  it("exports every subpath's names from the root as well", () => {
    const out = nodeEval(`
      const rootNames = new Set(Object.keys(await import("${pkg.name}")));
      const missing = [];
      for (const s of ${JSON.stringify(Object.keys(pkg.exports).filter((k) => k !== "."))}) {
        for (const n of Object.keys(await import("${pkg.name}/" + s.slice(2)))) if (!rootNames.has(n)) missing.push(s + ":" + n);
      }
      console.log(JSON.stringify(missing));`);
    expect(JSON.parse(out)).toEqual([]);
  });

  it("runs the blocking HTTPClient from the build (its worker thread loads dist/runtime/httpclient/worker.js)", () => {
    const out = nodeEval(`
      import { createServer } from "node:net";
      import { HTTPClient } from "${pkg.name}/httpclient";
      const server = createServer();
      await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
      const { port } = server.address();
      await new Promise((resolve) => server.close(resolve));
      const client = new HTTPClient();
      try { client.fetch("http://127.0.0.1:" + port + "/"); console.log("fetched"); }
      catch (e) { console.log(e.name, e.code, e.cause?.code); }
      client.close();`);
    expect(out).toBe("HTTPClientError 599 ECONNREFUSED");
  });

  it("refuses deep imports of internal files", () => {
    const out = nodeEval(`
      try { await import("${pkg.name}/dist/runtime/web/handler.js"); console.log("imported"); }
      catch (e) { console.log(e.code); }`);
    expect(out).toBe("ERR_PACKAGE_PATH_NOT_EXPORTED");
  });
});

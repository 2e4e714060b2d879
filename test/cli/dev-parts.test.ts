import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadDotenv, MAX_DOTENV_BYTES, parseDotenv, portOrigin, resolvePort } from "../../src/cli/env.js";
import { COLUMNS, devMessages, fitColumns, formatAppError } from "../../src/dev/messages.js";
import { crashBackoff, MAX_CRASH_BACKOFF_MS } from "../../src/dev/supervisor.js";
import { isFilteredOut, isIgnoredPath, watchApp, watchedPaths } from "../../src/dev/watch.js";
import { forgetNodeLoadedEnvFile, globToRegExp, parseInspect, parseNodeOptions, readEnvFile, readPackageDevConfig } from "../../src/dev/config.js";
import { MAX_REASON_LENGTH, singleProcessReason } from "../../src/start/manifest.js";
import { appImports, bareImports } from "../../src/dev/preload.js";
import { tempDir } from "../helpers/cli.js";

let dir: string;
let remove: () => void;
beforeEach(() => ({ dir, remove } = tempDir("devparts")));
afterEach(() => remove());

describe("parseDotenv", () => {
  it("reads KEY=value lines with quotes, export and comments", () => {
    const text = [
      "# a comment",
      "PORT=3000",
      "export NAME = tornado ",
      'GREETING="hello\\nworld" # trailing',
      "RAW='keep $HOME and \\n'",
      "URL=postgres://u@h/db # db",
      "EMPTY=",
      "not a variable line",
    ].join("\n");
    expect(parseDotenv(text)).toEqual({
      PORT: "3000",
      NAME: "tornado",
      GREETING: "hello\nworld",
      RAW: "keep $HOME and \\n",
      URL: "postgres://u@h/db",
      EMPTY: "",
    });
  });

  it("lets the real environment win over .env", () => {
    writeFileSync(join(dir, ".env"), "FROM_FILE=file\nSHARED=file\n");
    expect(loadDotenv(dir, { SHARED: "environment" })).toEqual({ FROM_FILE: "file" });
    expect(loadDotenv(join(dir, "missing"))).toEqual({});
  });

  it("keeps __proto__ and constructor as plain names", () => {
    const parsed = parseDotenv("__proto__=polluted\nconstructor=x\n");
    expect(Object.keys(parsed)).toEqual(["__proto__", "constructor"]);
    expect(parsed.__proto__).toBe("polluted");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("reads a .env of MAX_DOTENV_BYTES, and refuses a bigger one with a sentence", () => {
    const line = "A=1\n";
    writeFileSync(join(dir, ".env"), line + "#".repeat(MAX_DOTENV_BYTES - line.length));
    expect(loadDotenv(dir, {})).toEqual({ A: "1" });
    writeFileSync(join(dir, ".env"), line + "#".repeat(MAX_DOTENV_BYTES - line.length + 1));
    expect(() => loadDotenv(dir, {})).toThrow(`.env is ${MAX_DOTENV_BYTES + 1} bytes, over the ${MAX_DOTENV_BYTES} bytes read`);
  });
});

describe("resolvePort(flag, environment, dotenv)", () => {
  it("takes --port, else PORT from the environment, else PORT from .env, else 8888, and says which", () => {
    expect(resolvePort("1", { PORT: "2" }, { PORT: "3" })).toEqual({ port: 1, source: "--port" });
    expect(resolvePort(undefined, { PORT: "2" }, { PORT: "3" })).toEqual({ port: 2, source: "PORT" });
    expect(resolvePort(undefined, {}, { PORT: "3" })).toEqual({ port: 3, source: ".env" });
    expect(resolvePort(undefined, {}, {})).toEqual({ port: 8888, source: "default" });
    expect(portOrigin(".env")).toBe("PORT from .env");
    expect(portOrigin("PORT")).toBe("PORT from the environment");
  });

  it("accepts 0 and 65535, and refuses 65536 naming where it came from", () => {
    expect(resolvePort("0", {}, {}).port).toBe(0);
    expect(resolvePort(undefined, { PORT: "65535" }, {}).port).toBe(65535);
    expect(() => resolvePort("65536", {}, {})).toThrow('--port must be a port number from 0 to 65535, not "65536".');
    expect(() => resolvePort(undefined, { PORT: "x" }, {})).toThrow('PORT must be a port number from 0 to 65535, not "x".');
    expect(() => resolvePort(undefined, {}, { PORT: "99999" })).toThrow('PORT in .env must be a port number from 0 to 65535, not "99999".');
  });
});

describe("singleProcessReason(root)", () => {
  const manifest = (tornado: unknown) => writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "app", tornado }));

  it("is the app's reason when its package.json says \"workers\": false, else null", () => {
    expect(singleProcessReason(dir)).toBeNull();
    manifest(undefined);
    expect(singleProcessReason(dir)).toBeNull();
    manifest({ workers: true });
    expect(singleProcessReason(dir)).toBeNull();
    manifest({ workers: false, reason: "it keeps sessions in memory." });
    expect(singleProcessReason(dir)).toBe("it keeps sessions in memory");
    manifest({ workers: false });
    expect(singleProcessReason(dir)).toBe('its package.json says "tornado": { "workers": false }');
  });

  it("cuts a reason at MAX_REASON_LENGTH, and refuses a workers value that is not a boolean", () => {
    manifest({ workers: false, reason: "r".repeat(MAX_REASON_LENGTH + 50) });
    expect(singleProcessReason(dir)).toBe("r".repeat(MAX_REASON_LENGTH));
    manifest({ workers: "no" });
    expect(() => singleProcessReason(dir)).toThrow('"workers" under "tornado" in package.json must be true or false, not "no".');
  });
});

describe("isIgnoredPath", () => {
  it("ignores whole segments, never a name that merely contains one", () => {
    expect(isIgnoredPath("node_modules/x/index.js")).toBe(true);
    expect(isIgnoredPath("src/.git/HEAD")).toBe(true);
    expect(isIgnoredPath("dist/main.js")).toBe(true);
    expect(isIgnoredPath("src/blogs.ts")).toBe(false);
    expect(isIgnoredPath("src/distance.ts")).toBe(false);
    expect(isIgnoredPath("src/builders/x.ts")).toBe(false);
  });

  it("ignores editors' and atomic writers' temporary files", () => {
    expect(isIgnoredPath("src/app.ts~")).toBe(true);
    expect(isIgnoredPath("src/.app.ts.swp")).toBe(true);
    expect(isIgnoredPath("src/.app.ts.1a2b.tmp")).toBe(true);
  });
});

describe("watchedPaths", () => {
  it("watches the entry's source folder and the project files", () => {
    mkdirSync(join(dir, "src"));
    expect(watchedPaths(dir, join(dir, "src/main.ts"))).toEqual(
      ["src", ".env", "tsconfig.json", "package.json"].map((p) => join(dir, p)),
    );
    expect(watchedPaths(dir, join(dir, "main.ts"))[0]).toBe(join(dir, "main.ts"));
  });

  it("watches the asset folders an app serves from (public, static, templates) when they exist", () => {
    mkdirSync(join(dir, "src"));
    mkdirSync(join(dir, "public"));
    expect(watchedPaths(dir, join(dir, "src/main.ts"))).toEqual(
      ["src", "public", ".env", "tsconfig.json", "package.json"].map((p) => join(dir, p)),
    );
  });
});

describe("watchApp", () => {
  async function watching(bursts: string[][], debounce = 100) {
    const watcher = watchApp(dir, join(dir, "src/main.ts"), (files) => bursts.push([...files].sort()), debounce);
    const ready = new Promise<void>((resolve) => watcher.once("ready", () => resolve()));
    // chokidar may say "ready" before every path is watched (missing ones resolve first).
    await ready;
    await expect.poll(() => Object.keys(watcher.getWatched()).includes(join(dir, "src")), { timeout: 5000 }).toBe(true);
    return watcher;
  }

  it("reports a save at once, the rest of its burst once at the end, and ignores node_modules", async () => {
    mkdirSync(join(dir, "src/node_modules"), { recursive: true });
    writeFileSync(join(dir, "src/main.ts"), "1");
    writeFileSync(join(dir, "src/other.ts"), "1");
    const bursts: string[][] = [];
    const watcher = await watching(bursts);
    writeFileSync(join(dir, "src/main.ts"), "2");
    await expect.poll(() => bursts.length, { timeout: 5000 }).toBe(1);
    writeFileSync(join(dir, "src/other.ts"), "3");
    writeFileSync(join(dir, "src/node_modules/ignored.js"), "4");
    await expect.poll(() => bursts.length, { timeout: 5000 }).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await watcher.close();
    expect(bursts).toEqual([["src/main.ts"], ["src/other.ts"]]);
  });

  it("reports a file saved again within the burst once more, with its last content", async () => {
    mkdirSync(join(dir, "src"), { recursive: true });
    writeFileSync(join(dir, "src/main.ts"), "1");
    const bursts: string[][] = [];
    const watcher = await watching(bursts, 300);
    writeFileSync(join(dir, "src/main.ts"), "2");
    await expect.poll(() => bursts.length, { timeout: 5000 }).toBe(1);
    writeFileSync(join(dir, "src/main.ts"), "three");
    await expect.poll(() => bursts.length, { timeout: 5000 }).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 600));
    await watcher.close();
    expect(bursts).toEqual([["src/main.ts"], ["src/main.ts"]]);
  });

  it("waits for the content of a file a write has only emptied yet, and reports it once", async () => {
    mkdirSync(join(dir, "src"), { recursive: true });
    writeFileSync(join(dir, "src/main.ts"), "1");
    const bursts: string[][] = [];
    const contents: string[] = [];
    const watcher = watchApp(dir, join(dir, "src/main.ts"), (files) => {
      bursts.push(files);
      contents.push(readFileSync(join(dir, "src/main.ts"), "utf8"));
    }, 100);
    await new Promise<void>((resolve) => watcher.once("ready", () => resolve()));
    await expect.poll(() => Object.keys(watcher.getWatched()).includes(join(dir, "src")), { timeout: 5000 }).toBe(true);
    writeFileSync(join(dir, "src/main.ts"), "");
    await new Promise((resolve) => setTimeout(resolve, 20));
    writeFileSync(join(dir, "src/main.ts"), "export const two = 2;\n");
    await expect.poll(() => bursts.length, { timeout: 5000 }).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await watcher.close();
    expect(bursts).toEqual([["src/main.ts"]]);
    expect(contents).toEqual(["export const two = 2;\n"]);
  });

  it("reports files added and removed together, once, at the end of their burst", async () => {
    mkdirSync(join(dir, "src"), { recursive: true });
    writeFileSync(join(dir, "src/main.ts"), "1");
    writeFileSync(join(dir, "src/old.ts"), "1");
    const bursts: string[][] = [];
    const watcher = await watching(bursts);
    writeFileSync(join(dir, "src/new.ts"), "2");
    renameSync(join(dir, "src/old.ts"), join(dir, "src/older.ts"));
    await expect.poll(() => bursts.length, { timeout: 5000 }).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    await watcher.close();
    expect(bursts).toEqual([["src/new.ts", "src/old.ts", "src/older.ts"]]);
  });
});

describe("what a standby app process loads ahead", () => {
  it("finds the packages the source imports for their values, not types, relative paths or node's modules", () => {
    const source = [
      'import { z } from "zod";',
      'import type { Database } from "tornado/db";',
      "import {",
      "  Application,",
      "  type ApplicationSettings,",
      '} from "tornado/web";',
      'import "reflect-metadata";',
      'export { sql } from "@scope/pg-kit/sql";',
      'export type { Row } from "other-types";',
      'import { readFileSync } from "node:fs";',
      'import { join } from "path";',
      'import { helper } from "./helper.js";',
      'const lazy = await import("lazy-pkg");',
      'import config from "#config";',
    ].join("\n");
    expect(bareImports(source)).toEqual(["zod", "tornado/web", "reflect-metadata", "@scope/pg-kit/sql", "#config", "lazy-pkg"]);
  });

  it("reads every source file under the folder, skipping node_modules", () => {
    mkdirSync(join(dir, "src/handlers"), { recursive: true });
    mkdirSync(join(dir, "src/node_modules/x"), { recursive: true });
    writeFileSync(join(dir, "src/main.ts"), 'import { Application } from "tornado/web";\nimport "./handlers/a.js";\n');
    writeFileSync(join(dir, "src/handlers/a.ts"), 'import { z } from "zod";\nimport { Application } from "tornado/web";\n');
    writeFileSync(join(dir, "src/handlers/notes.txt"), 'import "not-code";\n');
    writeFileSync(join(dir, "src/node_modules/x/index.js"), 'import "inside-node-modules";\n');
    expect(appImports(join(dir, "src")).sort()).toEqual(["tornado/web", "zod"]);
  });
});

describe("watchApp and saves by rename", () => {
  it("names the file saved, not the temporary file renamed over it (even 100 ms later)", async () => {
    mkdirSync(join(dir, "src"));
    writeFileSync(join(dir, "src/main.ts"), "1");
    const bursts: string[][] = [];
    const watcher = watchApp(dir, join(dir, "src/main.ts"), (files) => bursts.push(files));
    const ready = new Promise<void>((resolve) => watcher.once("ready", () => resolve()));
    await ready;
    await expect.poll(() => Object.keys(watcher.getWatched()).includes(join(dir, "src")), { timeout: 5000 }).toBe(true);
    writeFileSync(join(dir, "src/sedYfpftq"), "2");
    await new Promise((resolve) => setTimeout(resolve, 100));
    renameSync(join(dir, "src/sedYfpftq"), join(dir, "src/main.ts"));
    await expect.poll(() => bursts.length, { timeout: 5000 }).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 2500)); // a late unlink of the temporary file is no restart
    await watcher.close();
    expect(bursts).toEqual([["src/main.ts"]]);
  });
});

describe("devMessages", () => {
  it("keeps every line within 80 columns, wrapping at ' · ' and shortening deep paths from the left", () => {
    const deep = "src/handlers/" + "very-deep-folder/".repeat(6) + "health.ts";
    const lines = [
      devMessages.banner("http://127.0.0.1:8888", "PORT from the environment"),
      devMessages.watching(["src", "public", "static", "templates", ".env", "tsconfig.json", "package.json"]),
      devMessages.restarted("src/handlers/health.ts", 1234, 12),
      devMessages.restarted(deep, 1234, 3),
      devMessages.startFailed(deep, true, "Error: x"),
      devMessages.crashed(1, null, "Error: x", 1000),
      devMessages.crashLoop("Error: x", 2000, 30_000, 10_000),
      devMessages.restartedAfterCrash(1234, 12),
      devMessages.crashLoopOver(10_000),
      devMessages.servedAsIs(deep, 3),
      devMessages.neverListened("src/main.ts", 15_000),
      devMessages.exitedBeforeListening("src/main.ts", 0, null),
      devMessages.stopping("SIGINT"),
    ].flatMap((text) => text.split("\n"));
    expect(lines.filter((line) => line.length > COLUMNS)).toEqual([]);
    expect(devMessages.restarted("src/app.ts", 284, 2)).toBe("[tornado] src/app.ts changed · restarted in 284 ms (2 requests waited)");
    expect(devMessages.restarted("src/handlers/health.ts", 284, 2)).toBe("[tornado] src/handlers/health.ts changed · restarted in 284 ms (2 waited)");
    expect(devMessages.restarted(deep, 284, 0)).toMatch(/^\[tornado\] …\/[a-z/-]*health\.ts changed · restarted in 284 ms$/);
    expect(fitColumns(`[tornado] ${"word ".repeat(30).trim()}`).split("\n")[1]).toMatch(/^ {10}word/);
  });
});

describe("crashBackoff", () => {
  it("waits 1 s, then twice as long after each crash in a row, at most 30 s", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map(crashBackoff)).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
    expect(MAX_CRASH_BACKOFF_MS).toBe(30_000);
  });
});

describe("formatAppError", () => {
  it("keeps the message and the app's frames, drops the loader's and node's", () => {
    const stack = [
      "TransformError: Transform failed with 1 error:",
      "/app/src/app.ts:9:18: ERROR: Unexpected \";\"",
      "    at failureErrorWithLog (/app/node_modules/esbuild/lib/main.js:1752:15)",
      "    at UserHandler.get (/app/src/handlers/users.ts:12:5)",
      "    at ModuleJob.run (node:internal/modules/esm/module_job:325:25)",
    ].join("\n");
    expect(formatAppError(stack)).toBe(
      'TransformError: Transform failed with 1 error:\n/app/src/app.ts:9:18: ERROR: Unexpected ";"\n    at UserHandler.get (/app/src/handlers/users.ts:12:5)',
    );
    expect(formatAppError(stack, "/app")).toBe(
      'TransformError: Transform failed with 1 error:\nsrc/app.ts:9:18: ERROR: Unexpected ";"\n    at UserHandler.get (src/handlers/users.ts:12:5)',
    );
  });
});

describe("the watch settings", () => {
  it("matches ignore globs by whole path, or by name at any depth without a slash", () => {
    const matches = (glob: string, path: string) => globToRegExp(glob).test(path);
    expect(matches("src/**/*.test.ts", "src/a/b/c.test.ts")).toBe(true);
    expect(matches("src/**/*.test.ts", "src/c.test.ts")).toBe(true);
    expect(matches("src/**/*.test.ts", "test/c.test.ts")).toBe(false);
    expect(matches("*.md", "docs/deep/readme.md")).toBe(true);
    expect(matches("*.md", "src/readme.mdx")).toBe(false);
    expect(matches("src/notes", "src/notes/todo.ts")).toBe(true);
    expect(matches("src/notes", "src/notes.ts")).toBe(false);
    expect(matches("src/*.{js,json}", "src/a.json")).toBe(true);
    expect(matches("src/*.{js,json}", "src/a.ts")).toBe(false);
    expect(matches("src/?.ts", "src/a.ts")).toBe(true);
  });

  it("filters by extension, but always counts .env, package.json and tsconfig.json", () => {
    const config = { ignore: ["src/generated/**"], ext: ["ts"] };
    const always = [".env", "package.json", "tsconfig.json"];
    expect(isFilteredOut("src/app.ts", config, always)).toBe(false);
    expect(isFilteredOut("src/readme.txt", config, always)).toBe(true);
    expect(isFilteredOut("src/generated/x.ts", config, always)).toBe(true);
    expect(isFilteredOut("package.json", config, always)).toBe(false);
    expect(isFilteredOut(".env", config, always)).toBe(false);
  });

  it("reads the tornado.dev key of package.json, and says what is wrong in one sentence", () => {
    const write = (dev: unknown) => writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "x", tornado: { dev } }));
    write({ watch: ["config"], ignore: "*.md", ext: [".ts", "json"], debounce: 100, static: ["public"], poll: true });
    expect(readPackageDevConfig(dir)).toEqual({ paths: ["config"], ignore: ["*.md"], ext: ["ts", "json"], debounce: 100, statics: ["public"], poll: true });
    write({ wach: ["config"] });
    expect(() => readPackageDevConfig(dir)).toThrow('"wach" under "tornado"."dev" in package.json is not a setting: use watch, ignore, ext, static, debounce, poll.');
    write({ debounce: "fast" });
    expect(() => readPackageDevConfig(dir)).toThrow('"debounce" under "tornado"."dev" in package.json must be a number of milliseconds (0–60000), not "fast".');
    write({ watch: [1] });
    expect(() => readPackageDevConfig(dir)).toThrow('"watch" under "tornado"."dev" in package.json must be a list of strings, not [1].');
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "x", tornado: { workers: false } }));
    expect(readPackageDevConfig(dir)).toEqual({});
  });

  it("parses --inspect addresses, loopback by default", () => {
    expect(parseInspect("--inspect", true, false)).toEqual({ host: "127.0.0.1", port: 9229, brk: false });
    expect(parseInspect("--inspect", "9230", false)).toEqual({ host: "127.0.0.1", port: 9230, brk: false });
    expect(parseInspect("--inspect-brk", "0.0.0.0:9231", true)).toEqual({ host: "0.0.0.0", port: 9231, brk: true });
    expect(parseInspect("--inspect", "[::1]:9232", false)).toEqual({ host: "::1", port: 9232, brk: false });
    expect(() => parseInspect("--inspect", "70000", false)).toThrow("--inspect takes [host:]port");
  });

  it("splits --node-options with quotes and lets node refuse a flag it does not know", () => {
    expect(parseNodeOptions('--max-old-space-size=256 --title "dev app"')).toEqual(["--max-old-space-size=256", "--title", "dev app"]);
    expect(parseNodeOptions("--trace-warnings --stack-trace-limit=50")).toEqual(["--trace-warnings", "--stack-trace-limit=50"]);
    expect(() => parseNodeOptions("--no-such-flag")).toThrow(/--node-options "--no-such-flag" is refused by node: .*--no-such-flag/);
    expect(() => parseNodeOptions("--inspect")).toThrow("Pass --inspect to tornado dev itself");
  });

  it("takes back the variables node loaded from --env-file itself, keeping the real ones", () => {
    const file = join(dir, "dev.env");
    writeFileSync(file, "A=from-file\nB=from-file\n");
    const environment: NodeJS.ProcessEnv = { A: "from-file", B: "real", C: "other" };
    forgetNodeLoadedEnvFile(file, environment);
    expect(environment).toEqual({ B: "real", C: "other" });
    expect(readEnvFile(file, environment)).toEqual({ A: "from-file" });
  });
});

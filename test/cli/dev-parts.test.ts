import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadDotenv, parseDotenv } from "../../src/cli/env.js";
import { formatAppError } from "../../src/dev/messages.js";
import { isIgnoredPath, watchApp, watchedPaths } from "../../src/dev/watch.js";
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
});

describe("watchApp", () => {
  it("reports one burst of saves once, and ignores node_modules", async () => {
    mkdirSync(join(dir, "src/node_modules"), { recursive: true });
    writeFileSync(join(dir, "src/main.ts"), "1");
    const bursts: string[][] = [];
    const watcher = watchApp(dir, join(dir, "src/main.ts"), (files) => bursts.push(files.sort()), 100);
    // chokidar may say "ready" before every path is watched (missing ones resolve first).
    await expect.poll(() => Object.keys(watcher.getWatched()).includes(join(dir, "src")), { timeout: 5000 }).toBe(true);
    writeFileSync(join(dir, "src/main.ts"), "2");
    writeFileSync(join(dir, "src/other.ts"), "3");
    writeFileSync(join(dir, "src/node_modules/ignored.js"), "4");
    await expect.poll(() => bursts.length, { timeout: 5000 }).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await watcher.close();
    expect(bursts).toEqual([["src/main.ts", "src/other.ts"]]);
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
  });
});

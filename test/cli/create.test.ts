import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { packageNameProblem, toPackageName } from "../../src/create/name.js";
import { packRuntime } from "../../src/create/pack.js";
import { writeFilesAtomically } from "../../src/create/write.js";
import { repoRoot, runBin, tempDir } from "../helpers/cli.js";

let dir: string;
let remove: () => void;
beforeEach(() => ({ dir, remove } = tempDir("cli")));
afterEach(() => remove());

const create = (...args: string[]) => runBin("create-tornado-app", args, dir);
const offline = ["--no-install", "--no-git"];

function filesUnder(root: string, prefix = ""): string[] {
  return readdirSync(join(root, prefix), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(root, join(prefix, e.name)) : [join(prefix, e.name)],
  );
}

describe("create-tornado-app <dir>", () => {
  it("writes the rest template with the package name, the runtime tarball, and the next commands", async () => {
    const { code, stdout, stderr } = await create("my-api", ...offline);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const pkg = JSON.parse(readFileSync(join(dir, "my-api/package.json"), "utf8"));
    expect(pkg.name).toBe("my-api");
    expect(pkg.dependencies.tornado).toBe("file:vendor/tornado-0.1.0.tgz");
    expect(filesUnder(join(dir, "my-api")).sort()).toEqual(
      [
        ".gitignore",
        "README.md",
        "package.json",
        "src/app.ts",
        "src/handlers/base.ts",
        "src/handlers/health.ts",
        "src/handlers/users.ts",
        "src/main.ts",
        "src/store.ts",
        "src/validation.ts",
        "test/health.test.ts",
        "test/support.ts",
        "test/users.test.ts",
        "tsconfig.build.json",
        "tsconfig.json",
        "vendor/tornado-0.1.0.tgz",
        "vitest.config.ts",
      ].sort(),
    );
    expect(stdout).toContain("Done. Now run:\n\n  cd my-api\n  npm install\n  npm run dev\n");
  });

  it("prints a name it had to change rather than changing it silently", async () => {
    const { code, stdout } = await create("My App!", ...offline);
    expect(code).toBe(0);
    expect(stdout).toContain('Package name "My App!" is not a valid npm name; using my-app.');
    expect(JSON.parse(readFileSync(join(dir, "My App!/package.json"), "utf8")).name).toBe("my-app");
    expect(stdout).toContain('cd "My App!"');
  });

  it("refuses a name that cannot be a package name, with one line and exit 1", async () => {
    for (const [name, why] of [
      ["http", "http is the name of a Node.js built-in module"],
      ["!!!", "it is empty"],
      ["node_modules", "node_modules is a reserved name"],
    ]) {
      const { code, stdout, stderr } = await create(name!, ...offline);
      expect(code).toBe(1);
      expect(stderr).toBe(`error: Cannot use "${name}" as the app's package name: ${why}.\n`);
      expect(stdout).toBe("");
      expect(existsSync(join(dir, name!))).toBe(false);
    }
  });

  it("refuses a non-empty folder and touches nothing in it", async () => {
    mkdirSync(join(dir, "taken"));
    writeFileSync(join(dir, "taken/notes.txt"), "mine");
    const { code, stderr } = await create("taken", ...offline);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^error: The folder taken already exists and is not empty: .*--force.*\n$/);
    expect(readdirSync(join(dir, "taken"))).toEqual(["notes.txt"]);
  });

  it("with --force writes the template into the folder, overwriting template files and keeping the user's others", async () => {
    mkdirSync(join(dir, "taken"));
    writeFileSync(join(dir, "taken/notes.txt"), "mine");
    writeFileSync(join(dir, "taken/README.md"), "old readme");
    const { code, stdout } = await create("taken", "--force", ...offline);
    expect(code).toBe(0);
    expect(stdout).toContain("--force: overwriting 1 existing file(s)");
    expect(readFileSync(join(dir, "taken/notes.txt"), "utf8")).toBe("mine");
    expect(readFileSync(join(dir, "taken/README.md"), "utf8")).toMatch(/^# taken/);
  });

  it("says in one line when the folder cannot be written", async () => {
    writeFileSync(join(dir, "a-file"), "not a folder");
    const { code, stdout, stderr } = await create("a-file/app", ...offline);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^error: Cannot write the app into a-file\/app \(ENOTDIR: .*\): choose a folder you can write to\.\n$/);
    expect(stdout).not.toMatch(/at .*\.js:\d+/);
  });

  it("accepts an existing empty folder", async () => {
    mkdirSync(join(dir, "empty"));
    expect((await create("empty", ...offline)).code).toBe(0);
  });

  it("refuses an unknown template, naming the available ones", async () => {
    const { code, stderr } = await create("x", "--template", "nope", ...offline);
    expect(code).toBe(1);
    expect(stderr).toBe('error: There is no template "nope": choose one of rest, websocket, slow-db (--template rest).\n');
    expect(existsSync(join(dir, "x"))).toBe(false);
  });

  it("writes the slow-db template with its own package.json (pg and PGlite) and .gitignore (.pglite/)", async () => {
    const { code, stderr } = await create("reports", "--template", "slow-db", ...offline);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const app = join(dir, "reports");
    const pkg = JSON.parse(readFileSync(join(app, "package.json"), "utf8"));
    expect(pkg.name).toBe("reports");
    expect(pkg.dependencies).toEqual({ "@electric-sql/pglite": "0.5.16", pg: "8.23.1", tornado: "file:vendor/tornado-0.1.0.tgz" });
    expect(pkg.devDependencies["@types/pg"]).toBe("8.23.1");
    expect(readFileSync(join(app, ".gitignore"), "utf8")).toContain(".pglite/\n");
    expect(readFileSync(join(app, "README.md"), "utf8")).toContain("DATABASE_URL=postgres://");
    expect(filesUnder(app)).toEqual(expect.arrayContaining(["src/app.ts", "src/db/embedded.ts", "src/db/postgres.ts", "test/cancel.test.ts", "vitest.config.ts"]));
  });

  it("never prompts without a terminal: a missing folder is an error", async () => {
    const { code, stderr } = await create();
    expect(code).toBe(1);
    expect(stderr).toMatch(/^error: Give the folder to create the app in, e\.g\. `create-tornado-app my-api`/);
  });

  it("--dry-run lists the files and writes nothing", async () => {
    const { code, stdout } = await create("dry", "--dry-run");
    expect(code).toBe(0);
    expect(stdout).toContain("Would write 17 files into dry (dry run: nothing written):");
    expect(stdout).toContain("  src/app.ts\n");
    expect(stdout).toContain("  vendor/tornado-0.1.0.tgz\n");
    expect(readdirSync(dir)).toEqual([]);
  });

  it("refuses an unknown package manager and an unknown option", async () => {
    const pm = await create("x", "--package-manager", "bun", ...offline);
    expect(pm.code).toBe(1);
    expect(pm.stderr).toMatch(/^error: option '--package-manager <name>' argument 'bun' is invalid/);
    const opt = await create("x", "--frobnicate");
    expect(opt.code).toBe(1);
    expect(opt.stderr).toMatch(/^error: unknown option '--frobnicate'/);
  });

  it("prints help and version with exit 0", async () => {
    const help = await create("--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: create-tornado-app \[options\] \[directory\]/);
    for (const flag of ["--template", "--yes", "--no-install", "--no-git", "--package-manager", "--force", "--dry-run"]) {
      expect(help.stdout).toContain(flag);
    }
    expect((await create("--version")).stdout.trim()).toBe("0.1.0");
  });

  it("adds pnpm's commands to the next steps with --package-manager pnpm", async () => {
    const { stdout } = await create("p", "--package-manager", "pnpm", ...offline);
    expect(stdout).toContain("  pnpm install\n  pnpm dev\n");
    expect(readFileSync(join(dir, "p/README.md"), "utf8")).toContain("pnpm dev");
  });
});

describe("create-tornado-app in a terminal", () => {
  it("asks for the name, template, install and git, then creates the app", async () => {
    const { spawn } = await import("node:child_process");
    // `script` gives the command a pseudo-terminal, as a user's shell would.
    const child = spawn("script", ["-qfec", `${JSON.stringify(process.execPath)} ${JSON.stringify(join(repoRoot, "bin/create-tornado-app.js"))}`, "/dev/null"], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: "1" },
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    const answer = async (question: RegExp, keys: string) => {
      await expect.poll(() => out, { timeout: 10_000 }).toMatch(question);
      child.stdin.write(keys);
    };
    await answer(/App name/, "typed-app\r");
    await answer(/Template/, "\r");
    await answer(/Install dependencies now\?/, "n");
    await answer(/Initialize a git repository\?/, "n");
    expect(await exited).toBe(0);
    expect(out).not.toMatch(/\x1b\[3\dm/);
    expect(out).toContain("Creating a rest app in typed-app");
    expect(JSON.parse(readFileSync(join(dir, "typed-app/package.json"), "utf8")).name).toBe("typed-app");
    expect(existsSync(join(dir, "typed-app/node_modules"))).toBe(false);
    expect(existsSync(join(dir, "typed-app/.git"))).toBe(false);
  });
});

describe("tornado", () => {
  it("prints its version and refuses an unknown command with one line", async () => {
    expect((await runBin("tornado", ["--version"], dir)).stdout.trim()).toBe("0.1.0");
    const bad = await runBin("tornado", ["frob"], dir);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe("error: unknown command 'frob'\n");
  });
});

describe("package names", () => {
  it("derives a valid npm name from a folder name", () => {
    expect(toPackageName("My App!")).toBe("my-app");
    expect(toPackageName("  __Hello  World__ ")).toBe("hello-world");
    expect(toPackageName("@Acme/My API")).toBe("@acme/my-api");
    expect(toPackageName("ok-name")).toBe("ok-name");
    expect(packageNameProblem("my-api")).toBeNull();
    expect(packageNameProblem("a".repeat(215))).toMatch(/longer than 214/);
  });
});

describe("packRuntime()", () => {
  it("packs this package as 'tornado', the same bytes every time", () => {
    const tgz = packRuntime();
    expect(packRuntime().equals(tgz)).toBe(true);
    const { dir: out, remove: cleanup } = tempDir("pack");
    try {
      writeFileSync(join(out, "t.tgz"), tgz);
      const listing = execFileSync("tar", ["tzf", join(out, "t.tgz")], { encoding: "utf8" }).split("\n");
      expect(listing).toContain("package/package.json");
      expect(listing).toContain("package/dist/runtime/index.js");
      expect(listing).toContain("package/bin/tornado.js");
      expect(listing).toContain("package/templates/_base/package.json.hbs");
      expect(listing).toContain("package/templates/rest/src/app.ts");
      expect(listing.some((f) => f.includes("node_modules") || f.startsWith("package/dist/test/"))).toBe(false);
      const manifest = JSON.parse(execFileSync("tar", ["xzOf", join(out, "t.tgz"), "package/package.json"], { encoding: "utf8" }));
      expect(manifest.name).toBe("tornado");
      expect(manifest.devDependencies).toBeUndefined();
      expect(Object.keys(manifest.exports)).toContain("./testing");
    } finally {
      cleanup();
    }
  });
});

describe("writeFilesAtomically()", () => {
  it("writes every file and leaves no temporary file behind", async () => {
    await writeFilesAtomically(dir, [
      { path: "a/b.txt", content: Buffer.from("b") },
      { path: "c.txt", content: Buffer.from("c") },
    ]);
    expect(filesUnder(dir).sort()).toEqual(["a/b.txt", "c.txt"]);
  });

  it("on a failed write, leaves neither the file nor a temporary one", async () => {
    mkdirSync(join(dir, "blocked"));
    await expect(writeFilesAtomically(dir, [{ path: "blocked", content: Buffer.from("x") }])).rejects.toThrow();
    expect(readdirSync(dir)).toEqual(["blocked"]);
    expect(readdirSync(join(dir, "blocked"))).toEqual([]);
  });
});

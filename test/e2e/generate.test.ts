/**
 * `tornado generate`, `tornado destroy` and `tornado routes` on a freshly created, installed
 * app, run as a user runs them: the app's own `node_modules/.bin/tornado`.
 */

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appSnapshot, runCommand, type RunResult } from "../helpers/cli.js";
import { createApp, type CreatedApp } from "../helpers/dev.js";

let created: CreatedApp;
let app: string;
// The app's files as create-tornado-app wrote them.
let original: Map<string, string>;

beforeAll(async () => {
  created = await createApp("generate");
  app = created.app;
  original = snapshot();
}, 180_000);
afterAll(() => created?.remove());

const tornado = (args: string[], cwd = app): Promise<RunResult> => runCommand(join(app, "node_modules/.bin/tornado"), args, cwd);

const snapshot = () => appSnapshot(app);

const read = (path: string) => readFileSync(join(app, path), "utf8");
const count = (text: string, needle: string) => text.split(needle).length - 1;

describe("tornado generate handler", () => {
  it("writes a handler and a test that pass the app's type check and tests, and registers its routes", async () => {
    const before = snapshot();
    const result = await tornado(["generate", "handler", "UserProfile"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("handler user-profile: classes UserProfilesHandler, UserProfileHandler; routes /user-profiles, /user-profiles/:id");
    expect(result.stdout).toMatch(/create\s+src\/handlers\/user-profile\.ts/);
    expect(result.stdout).toMatch(/update\s+src\/app\.ts \(import \+ \/user-profiles, \/user-profiles\/:id\)/);

    const after = snapshot();
    const changed = [...after.keys()].filter((f) => before.get(f) !== after.get(f)).sort();
    expect(changed).toEqual([".tornado/manifest.json", "src/app.ts", "src/handlers/user-profile.ts", "test/user-profile.test.ts"]);
    expect(read("src/app.ts")).toContain('url("/user-profiles/:id", UserProfileHandler, { name: "user-profile" }),');

    const typecheck = await runCommand("npm", ["run", "typecheck"], app);
    expect(typecheck.code, typecheck.stdout + typecheck.stderr).toBe(0);
    const tests = await runCommand("npm", ["test"], app);
    expect(tests.code, tests.stdout + tests.stderr).toBe(0);
    expect(tests.stdout).toMatch(/✓ test\/user-profile\.test\.ts \(5 tests\)/);
    // The generated test asserts the 404/400 warnings it causes (expectLog): none is printed.
    expect(tests.stdout + tests.stderr).not.toMatch(/\[[WE] \d{6} /);

    // Through the app's npm script, as its README says (a bare `tornado` is not on the PATH).
    const routes = await runCommand("npm", ["run", "--silent", "routes"], app);
    expect(routes.code, routes.stderr).toBe(0);
    expect(routes.stdout.split("\n").map((l) => l.split(/\s+/).filter(Boolean))).toEqual(
      expect.arrayContaining([
        ["PATTERN", "HANDLER", "METHODS", "NAME"],
        ["/users/:id", "UserHandler", "get,put,patch,delete", "user"],
        ["/user-profiles", "UserProfilesHandler", "get,post", "user-profiles"],
        ["/user-profiles/:id", "UserProfileHandler", "get,put,delete", "user-profile"],
      ]),
    );
    const json = JSON.parse((await runCommand("npm", ["run", "--silent", "routes", "--", "--json"], app)).stdout) as { pattern: string; methods: string[] }[];
    // The OpenAPI document and docs page come first (the app's openapi setting), then the app's routes.
    expect(json.map((r) => r.pattern)).toEqual(["/openapi\\.json", "/docs(?:/([\\w.-]+))?", "/health", "/ready", "/users", "/users/:id", "/user-profiles", "/user-profiles/:id"]);
    expect(json.find((r) => r.pattern === "/health")!.methods).toEqual(["get"]);
  }, 120_000);

  it("runs as the README says: npm run generate -- … and npm run destroy -- …", async () => {
    const before = snapshot();
    const generated = await runCommand("npm", ["run", "generate", "--", "handler", "invoices"], app);
    expect(generated.code, generated.stderr).toBe(0);
    expect(generated.stdout).toMatch(/create\s+src\/handlers\/invoices\.ts/);
    expect(generated.stdout).toContain("Run its test with npm run test -- test/invoices.test.ts");
    const destroyed = await runCommand("npm", ["run", "destroy", "--", "handler", "invoices"], app);
    expect(destroyed.code, destroyed.stderr).toBe(0);
    expect(snapshot()).toEqual(before);
  }, 60_000);

  it("changes nothing when run twice, in any spelling of the name", async () => {
    const before = snapshot();
    const again = await tornado(["generate", "handler", "user_profile"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("Nothing to change");
    expect(snapshot()).toEqual(before);
    expect(count(read("src/app.ts"), "./handlers/user-profile.js")).toBe(1);
    expect(count(read("src/app.ts"), 'url("/user-profiles"')).toBe(1);
  });

  it("reports a conflict with a non-zero exit and writes nothing", async () => {
    const before = snapshot();
    const result = await tornado(["generate", "handler", "users"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "error: src/handlers/users.ts, test/users.test.ts already exist with other content; nothing was written. Pass --force to overwrite them, or choose another name.\n",
    );
    expect(snapshot()).toEqual(before);
  });

  it("--force overwrites the conflicting files (shown here with --dry-run)", async () => {
    const before = snapshot();
    const result = await tornado(["generate", "handler", "users", "--force", "--dry-run"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/update\s+src\/handlers\/users\.ts/);
    expect(result.stdout).toContain("--- a/src/handlers/users.ts\n+++ b/src/handlers/users.ts\n");
    expect(result.stdout).toMatch(/identical\s+src\/app\.ts \(routes already there\)/);
    expect(snapshot()).toEqual(before);
  });

  it("--dry-run prints a unified diff and changes nothing", async () => {
    const before = snapshot();
    const result = await tornado(["generate", "handler", "orders", "--dry-run"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("--- /dev/null\n+++ b/src/handlers/orders.ts\n@@ -0,0 +1,");
    expect(result.stdout).toContain("+export class OrdersHandler extends withSchemas(");
    expect(result.stdout).toContain("+  ApiHandler,\n+) {");
    expect(result.stdout).toContain('--- a/src/app.ts\n+++ b/src/app.ts\n');
    expect(result.stdout).toContain('+      url("/orders", OrdersHandler, { name: "orders" }),');
    expect(result.stdout).toContain("Dry run: 4 files would change; nothing was written.");
    expect(snapshot()).toEqual(before);
  });

  it("uses the app's own template from .tornado/templates when there is one", async () => {
    mkdirSync(join(app, ".tornado/templates/handler"), { recursive: true });
    writeFileSync(join(app, ".tornado/templates/handler/test.ts.hbs"), 'import { it } from "vitest";\n\nit("{{collectionRoute}} has a test of its own", () => {});\n');
    try {
      const result = await tornado(["generate", "handler", "orders", "--dry-run"]);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('+it("/orders has a test of its own", () => {});');
    } finally {
      rmSync(join(app, ".tornado/templates"), { recursive: true });
    }
  });
});

describe("tornado destroy handler", () => {
  it("refuses to delete a file edited since it was generated, then removes it with --force", async () => {
    const pristine = snapshot();
    expect((await tornado(["generate", "handler", "orders"])).code).toBe(0);
    writeFileSync(join(app, "src/handlers/orders.ts"), `${read("src/handlers/orders.ts")}// my change\n`);
    const edited = snapshot();

    const refused = await tornado(["destroy", "handler", "orders"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe("error: src/handlers/orders.ts was edited after generate wrote it; nothing was removed. Pass --force to delete it anyway.\n");
    expect(snapshot()).toEqual(edited);

    const forced = await tornado(["destroy", "handler", "orders", "--force"]);
    expect(forced.code).toBe(0);
    expect(snapshot()).toEqual(pristine);
  });

  it("restores the app byte for byte", async () => {
    const result = await tornado(["destroy", "handler", "user-profile"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/delete\s+src\/handlers\/user-profile\.ts/);
    // The manifest is gone with the last generate it recorded (.tornado/db is the embedded database the app's tests used).
    expect(existsSync(join(app, ".tornado/manifest.json"))).toBe(false);
    expect(snapshot()).toEqual(original);
  });

  it("says there is nothing to destroy for a name never generated", async () => {
    const result = await tornado(["destroy", "handler", "invoices"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe("error: Nothing to destroy: .tornado/manifest.json records no handler named invoices (destroy only undoes what generate wrote).\n");
  });
});

describe("route registration on a file the user has reshaped", () => {
  const reshaped = `// Routes live in a variable here, with comments, single quotes and no semicolons.
import { Application, url, type ApplicationSettings, type HTTPServerOptions } from 'tornado'
import { NotFoundHandler } from './handlers/base.js'
import { HealthHandler } from './handlers/health.js'
import { UserHandler, UsersHandler } from './handlers/users.js'
import type { Database } from 'tornado/db'

export interface AppSettings extends ApplicationSettings {
  db?: Database
  corsOrigins?: string[]
}

export const serverOptions: HTTPServerOptions = { maxBodySize: 1024 * 1024 }

const routes = [
  url('/health', HealthHandler, { name: 'health' }), // for the load balancer

  // the users API
  url('/users', UsersHandler, { name: 'users' }),
  url('/users/:id', UserHandler, { name: 'user' })
]

export const makeApp = (settings: AppSettings = {}): Application =>
  new Application(routes, { corsOrigins: ['*'], defaultHandlerClass: NotFoundHandler, ...settings })
`;

  it("registers, type-checks, runs the new test, and is undone byte for byte", async () => {
    const saved = read("src/app.ts");
    writeFileSync(join(app, "src/app.ts"), reshaped);
    try {
      const result = await tornado(["generate", "handler", "invoice"]);
      expect(result.code, result.stderr).toBe(0);
      const edited = read("src/app.ts");
      // Where Biome sorts it: between health.js and users.js, without a semicolon like its neighbours.
      expect(edited).toContain(
        "import { HealthHandler } from './handlers/health.js'\nimport { InvoiceHandler, InvoicesHandler } from './handlers/invoice.js'\nimport { UserHandler, UsersHandler } from './handlers/users.js'\n",
      );
      expect(edited).toContain(
        "  url('/users/:id', UserHandler, { name: 'user' }),\n  url('/invoices', InvoicesHandler, { name: 'invoices' }),\n  url('/invoices/:id', InvoiceHandler, { name: 'invoice' })\n]",
      );
      expect(edited).toContain("// for the load balancer\n\n  // the users API\n");
      const typecheck = await runCommand("npm", ["run", "typecheck"], app);
      expect(typecheck.code, typecheck.stdout + typecheck.stderr).toBe(0);
      const tests = await runCommand("npx", ["vitest", "run", "test/invoice.test.ts"], app);
      expect(tests.code, tests.stdout + tests.stderr).toBe(0);
      expect(tests.stdout + tests.stderr).not.toMatch(/\[[WE] \d{6} /);

      expect((await tornado(["destroy", "handler", "invoice"])).code).toBe(0);
      expect(read("src/app.ts")).toBe(reshaped);
    } finally {
      writeFileSync(join(app, "src/app.ts"), saved);
    }
  }, 60_000);

  it("a missing app.ts: a clear error and no change", async () => {
    const saved = read("src/app.ts");
    rmSync(join(app, "src/app.ts"));
    try {
      const before = snapshot();
      const result = await tornado(["generate", "handler", "orders"]);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        "error: src/app.ts not found: the generator registers routes in the app's makeApp() there (pass --app <file> if it lives elsewhere). Nothing was written.\n",
      );
      expect(snapshot()).toEqual(before);
    } finally {
      writeFileSync(join(app, "src/app.ts"), saved);
    }
  });

  it("an app.ts that does not parse: a clear error naming the line, and no change", async () => {
    const saved = read("src/app.ts");
    writeFileSync(join(app, "src/app.ts"), saved.replace("url(\"/health\"", "url(\"/health\" ("));
    try {
      const before = snapshot();
      const result = await tornado(["generate", "handler", "orders"]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^error: src\/app\.ts does not parse \(line \d+, column \d+: .+\); fix it and run again\. Nothing was written\.\n$/);
      expect(snapshot()).toEqual(before);
    } finally {
      writeFileSync(join(app, "src/app.ts"), saved);
    }
  });

  it("no route list to find: says where it looked and what to add by hand, and writes nothing", async () => {
    const saved = read("src/app.ts");
    writeFileSync(join(app, "src/app.ts"), saved.replace("export function makeApp", "export function buildApp"));
    try {
      const before = snapshot();
      const result = await tornado(["generate", "handler", "orders"]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("error: Could not find the route list in src/app.ts: looked for the array given to `new Application(...)` in makeApp, but src/app.ts declares no function named makeApp.");
      expect(result.stderr).toContain('add by hand: import { OrderHandler, OrdersHandler } from "./handlers/orders.js"; and in the route list: url("/orders", OrdersHandler, { name: "orders" }),');
      expect(snapshot()).toEqual(before);
    } finally {
      writeFileSync(join(app, "src/app.ts"), saved);
    }
  });

  it("tornado routes on an app that throws while loading: one sentence naming the error and its line", async () => {
    const saved = read("src/app.ts");
    writeFileSync(join(app, "src/app.ts"), saved.replace("export function makeApp", 'throw new Error("no config");\nexport function makeApp'));
    try {
      const result = await tornado(["routes"]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^error: Loading src\/app\.ts failed: no config \(at .*src\/app\.ts:\d+:\d+\)\)?\n$/);
    } finally {
      writeFileSync(join(app, "src/app.ts"), saved);
    }
  });

  it("a bad name or kind: one sentence and a non-zero exit", async () => {
    const bad = await tornado(["generate", "handler", "9lives"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('error: "9lives" is not a usable name: use letters, digits, "-" or "_", starting with a letter (for example user-profile).\n');
    const kind = await tornado(["generate", "model", "x"]);
    expect(kind.code).not.toBe(0);
    expect(kind.stderr).toMatch(/unknown command 'model'/);
  });
});

describe("a generated handler in the websocket app (no base handler of its own)", () => {
  let ws: CreatedApp | undefined;
  afterAll(() => ws?.remove());

  it("answers JSON errors like the app, passes the type check and its own tests", async () => {
    ws = await createApp("generate-ws", "websocket");
    const generated = await runCommand("npm", ["run", "generate", "--", "handler", "notes"], ws.app);
    expect(generated.code, generated.stderr).toBe(0);
    const typecheck = await runCommand("npm", ["run", "typecheck"], ws.app);
    expect(typecheck.code, typecheck.stdout + typecheck.stderr).toBe(0);
    // The generated test asserts a 404 is application/json with { error: { status: 404 } }.
    const tests = await runCommand("npx", ["vitest", "run", "test/notes.test.ts"], ws.app);
    expect(tests.code, tests.stdout + tests.stderr).toBe(0);
    expect(tests.stdout).toMatch(/✓ test\/notes\.test\.ts \(5 tests\)/);
    expect(tests.stdout + tests.stderr).not.toMatch(/\[[WE] \d{6} /);
    const routes = await runCommand("npm", ["run", "--silent", "routes"], ws.app);
    expect(routes.stdout).toMatch(/^\/chat\s+ChatSocket\s+websocket\s+chat$/m);
    expect(routes.stdout).toMatch(/^\/notes\/:id\s+NoteHandler\s+get,put,delete\s+note$/m);
  }, 240_000);
});

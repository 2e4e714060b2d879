/**
 * The smoke set for one template on the Node line running the tests: create the app (with
 * install), run its own tests, `tornado dev` serving a changed file after a restart, and
 * `tornado start` answering /health and exiting 0 on SIGTERM.
 *
 * @example
 * smokeTemplate("rest");
 */
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { runCommand } from "../helpers/cli.js";
import { createApp, editFile, freePort, pollUntil, portIsFree, request, saveFiles, startTornado, stopAll, type CreatedApp, type Tornado } from "../helpers/dev.js";

const INSTALL_TIMEOUT = 300_000;
const STARTED = /started src\/main\.ts in \d+ ms/;
const LISTENING = /Listening on http:\/\/localhost:\d+/;

/** What each template needs from the environment to run as a new user runs it. */
const TEMPLATE_ENV: ReadonlyMap<string, NodeJS.ProcessEnv> = new Map([
  // The embedded PostgreSQL, the one a new app uses: no database from the environment.
  ["slow-db", { DATABASE_URL: "", TEST_DATABASE_URL: "" }],
  // Chat messages in the process, as by default: no Redis from the environment.
  ["websocket", { REDIS_URL: undefined }],
]);

/**
 * Registers the smoke tests of `template` (one describe block; run its file alone or with the
 * others: each app lives in a temp folder of its own).
 *
 * @example
 * smokeTemplate("slow-db");
 */
export function smokeTemplate(template: string): void {
  const env = TEMPLATE_ENV.get(template) ?? {};
  let created: CreatedApp | undefined;
  let app: string;

  describe(`the ${template} template on Node ${process.versions.node}`, () => {
    beforeAll(async () => {
      created = await createApp(`smoke-${template}`, template);
      app = created.app;
    }, INSTALL_TIMEOUT);
    afterEach(() => stopAll());
    afterAll(() => created?.remove());

    const at = (t: Tornado, path: string) => `http://127.0.0.1:${t.port}${path}`;
    const healthStatus = async (t: Tornado) => {
      const reply = await request(at(t, "/health"));
      return { status: reply.status, body: JSON.parse(reply.body) as { status: string } };
    };
    // slow-db answers 503 "starting" until its embedded database is ready (seconds on a first
    // start): a load balancer would wait for the 200, and so does this.
    const ready = (t: Tornado) => pollUntil(() => healthStatus(t), (r) => r.body.status !== "starting", 90_000);

    it("passes its own tests (npm test)", async () => {
      const result = await runCommand("npm", ["test"], app, env);
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.stdout).toMatch(/Tests\s+\d+ passed/);
      expect(result.stdout).not.toMatch(/\d+ failed/);
    }, 180_000);

    it("tornado dev serves the app, and the new answer after a handler is saved", async () => {
      const health = join(app, "src/handlers/health.ts");
      const saved = saveFiles([health]);
      try {
        const t = startTornado(app, ["dev"], { port: await freePort(), env });
        await t.waitFor(STARTED, { timeout: 60_000 });
        expect(await ready(t)).toMatchObject({ status: 200, body: { status: "ok" } });

        const mark = t.mark();
        // The "ok" each template's /health answers with (slow-db: `status: status === "ready" ? "ok" : …`).
        editFile(health, (s) => s.replace(/(status: [^,\n]*?)"ok"/, '$1"saved"'));
        await t.waitFor(/src\/handlers\/health\.ts changed · restarted in \d+ ms/, { since: mark, timeout: 60_000 });
        const after = await pollUntil(() => healthStatus(t), (r) => r.body.status === "saved", 90_000);
        expect(after.status).toBe(200);
        expect(await t.stop("SIGINT")).toEqual({ code: 0, signal: null });
      } finally {
        saved.restore();
      }
    }, 180_000);

    it("tornado start serves the built app, answers /health, and exits 0 on SIGTERM", async () => {
      const build = await runCommand("npm", ["run", "build"], app, env);
      expect(build.code, build.stdout + build.stderr).toBe(0);
      const t = startTornado(app, ["start"], { port: await freePort(), env });
      await t.waitFor(LISTENING, { timeout: 60_000 });
      expect(await ready(t)).toMatchObject({ status: 200, body: { status: "ok" } });
      expect(await t.stop("SIGTERM")).toEqual({ code: 0, signal: null });
      expect(await portIsFree(t.port)).toBe(true);
    }, 180_000);
  });
}

/**
 * `tornado dev` on the websocket template, whose page (`public/index.html`) is read once when
 * the app starts: saving the page restarts the app, which then serves the new page.
 */
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createApp, editFile, freePort, pollUntil, request, startTornado, stopAll, type CreatedApp } from "../helpers/dev.js";

const INSTALL_TIMEOUT = 300_000;

let created: CreatedApp | undefined;

beforeAll(async () => {
  created = await createApp("dev-assets", "websocket");
}, INSTALL_TIMEOUT);

afterEach(() => stopAll());

afterAll(() => created?.remove());

describe("tornado dev on the websocket template", () => {
  it("watches public/ and, after the page is saved, serves the new page", async () => {
    const app = created!.app;
    const port = await freePort();
    const t = startTornado(app, ["dev"], { port });
    await t.waitFor(/started src\/main\.ts in \d+ ms/);
    expect(t.output()).toMatch(/\[tornado\] watching src, public, \.env, tsconfig\.json, package\.json/);
    const before = await request(`http://127.0.0.1:${port}/`);
    expect(before.status).toBe(200);
    expect(before.body).not.toContain("saved-while-dev-runs");

    const mark = t.mark();
    editFile(join(app, "public/index.html"), (html) => html.replace("</body>", "<p>saved-while-dev-runs</p>\n</body>"));
    await t.waitFor(/\[tornado\] public\/index\.html changed · restarted in \d+ ms/, { since: mark });
    const after = await pollUntil(
      () => request(`http://127.0.0.1:${port}/`),
      (r) => r.status === 200 && r.body.includes("saved-while-dev-runs"),
    );
    expect(after.headers["content-type"]).toMatch(/text\/html/);
  }, 60_000);
});

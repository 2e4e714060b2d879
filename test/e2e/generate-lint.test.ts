/**
 * What the generators write passes the app's own lint (`npm run lint`: Biome's formatter, its
 * recommended rules and organize-imports), in a freshly created, installed app of each template;
 * and destroying it all leaves the app as it was, still lint-clean.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appSnapshot, runCommand, type RunResult } from "../helpers/cli.js";
import { createApp, type CreatedApp } from "../helpers/dev.js";


// A name long enough that the import and the routes in src/app.ts pass Biome's 120 columns.
const LONG = "very-long-resource-name-here";

const cases: { template: string; generate: string[][] }[] = [
  {
    template: "rest",
    generate: [
      ["handler", "orders"],
      ["handler", LONG],
      ["websocket", "live-feed"],
      ["resource", "line-items", "name:string", "qty:int", "price:decimal", "note:text?", "user:references", "big:bigint", "ok:boolean", "at:timestamp", "day:date", "ref:uuid", "meta:json"],
    ],
  },
  {
    template: "websocket",
    generate: [
      ["handler", "orders"],
      ["websocket", "live-feed"],
      ["websocket", LONG],
    ],
  },
];

for (const { template, generate } of cases) {
  describe(`generated code in the ${template} template passes npm run lint`, () => {
    let created: CreatedApp;
    let app: string;
    beforeAll(async () => {
      created = await createApp(`lint-${template}`, template);
      app = created.app;
    }, 180_000);
    afterAll(() => created?.remove());

    const tornado = (args: string[]): Promise<RunResult> => runCommand(join(app, "node_modules/.bin/tornado"), args, app);
    const lint = () => runCommand("npm", ["run", "lint"], app);

    it("after generate, and after destroy (which restores every file byte for byte)", async () => {
      const before = await lint();
      expect(before.code, before.stdout + before.stderr).toBe(0);
      const original = appSnapshot(app);
      original.delete(".tornado/manifest.json");

      for (const args of generate) {
        const result = await tornado(["generate", ...args]);
        expect(result.code, result.stderr).toBe(0);
      }
      const appFile = readFileSync(join(app, "src/app.ts"), "utf8");
      for (const args of generate) expect(appFile).toContain(`./handlers/${args[1]}.js`);
      const afterGenerate = await lint();
      expect(afterGenerate.code, afterGenerate.stdout + afterGenerate.stderr).toBe(0);
      expect(afterGenerate.stdout + afterGenerate.stderr).toMatch(/Checked \d+ files/);

      for (const args of [...generate].reverse()) {
        const result = await tornado(["destroy", args[0]!, args[1]!]);
        expect(result.code, result.stderr).toBe(0);
      }
      const afterDestroy = await lint();
      expect(afterDestroy.code, afterDestroy.stdout + afterDestroy.stderr).toBe(0);
      const restored = appSnapshot(app);
      // The manifest stays (emptied); every other file is back as it was.
      restored.delete(".tornado/manifest.json");
      expect(restored).toEqual(original);
    }, 240_000);
  });
}

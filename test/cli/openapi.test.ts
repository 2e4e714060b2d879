/**
 * `tornado openapi` run as a real process on a small app (importing this package's built
 * runtime and zod by path): the document on stdout or in a file, without a server.
 */

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Validator } from "@seriousme/openapi-schema-validator";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { repoRoot, runBin, tempDir } from "../helpers/cli.js";

let dir: string;
let remove: () => void;
beforeEach(() => {
  ({ dir, remove } = tempDir("openapi"));
  writeFileSync(join(dir, "package.json"), '{ "name": "users-app", "version": "2.0.0", "type": "module" }\n');
  mkdirSync(join(dir, "src"));
});
afterEach(() => remove());

const runtime = pathToFileURL(join(repoRoot, "dist/runtime/index.js")).href;
const zod = pathToFileURL(createRequire(import.meta.url).resolve("zod")).href;
const APP = `import { Application, url, withSchemas } from "${runtime}";
import { z } from "${zod}";

const User = z.object({ id: z.number().int(), name: z.string() });
class UsersHandler extends withSchemas({ post: { body: User.omit({ id: true }), responses: { 201: User }, tags: ["users"] } }) {
  post() { this.setStatus(201); this.write({ id: 1, ...this.valid("post").body }); }
}
// A timer the app leaves running: the command still exits.
setInterval(() => {}, 60_000);
export function makeApp() {
  return new Application([url("/users", UsersHandler, { name: "users" })]);
}
`;

describe("tornado openapi", () => {
  it("prints a valid OpenAPI 3.1 document titled after the app's package", async () => {
    writeFileSync(join(dir, "src/app.ts"), APP);
    const { code, stdout, stderr } = await runBin("tornado", ["openapi"], dir);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const doc = JSON.parse(stdout);
    expect(doc.info).toEqual({ title: "users-app", version: "2.0.0" });
    expect(doc.paths["/users"].post.operationId).toBe("postUsers");
    expect(doc.paths["/users"].post.requestBody.content["application/json"].schema.required).toEqual(["name"]);
    expect((await new Validator().validate(doc)).valid).toBe(true);
  });

  it("writes the document to --out", async () => {
    writeFileSync(join(dir, "src/app.ts"), APP);
    const { code, stderr } = await runBin("tornado", ["openapi", "--out", "openapi.json"], dir);
    expect(code).toBe(0);
    expect(stderr).toBe("Wrote openapi.json\n");
    expect(JSON.parse(readFileSync(join(dir, "openapi.json"), "utf8")).openapi).toBe("3.1.0");
  });

  it("says what is wrong when the app file has no makeApp()", async () => {
    writeFileSync(join(dir, "src/app.ts"), "export const x = 1;\n");
    const { code, stderr } = await runBin("tornado", ["openapi"], dir);
    expect(code).toBe(1);
    expect(stderr).toBe("error: src/app.ts does not export a makeApp() function; the openapi command calls it to build the app.\n");
  });
});

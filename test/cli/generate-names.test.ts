/**
 * `tornado generate` and `destroy` run as real processes in apps written by create-tornado-app
 * (not installed: the generators only read and write files).
 */

import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBin, tempDir, type RunResult } from "../helpers/cli.js";

let dir: string;
let remove: () => void;
beforeAll(async () => {
  ({ dir, remove } = tempDir("gen-names"));
  for (const template of ["rest", "websocket", "slow-db"]) {
    const created = await runBin("create-tornado-app", [template, "--template", template, "--no-install", "--no-git"], dir);
    expect(created.code, created.stderr).toBe(0);
  }
}, 60_000);
afterAll(() => remove?.());

const tornado = (template: string, ...args: string[]): Promise<RunResult> => runBin("tornado", args, join(dir, template));
const read = (template: string, path: string) => readFileSync(join(dir, template, path), "utf8");

describe("generate with a name that is also an Object.prototype property", () => {
  it("writes the handler for constructor, prototype, toString, hasOwnProperty and valueOf", async () => {
    const expected: [string, string, string][] = [
      ["constructor", "ConstructorsHandler, ConstructorHandler", "/constructors"],
      ["Constructor", "ConstructorsHandler, ConstructorHandler", "/constructors"],
      ["prototype", "PrototypesHandler, PrototypeHandler", "/prototypes"],
      ["toString", "ToStringsHandler, ToStringHandler", "/to-strings"],
      ["hasOwnProperty", "HasOwnPropertiesHandler, HasOwnPropertyHandler", "/has-own-properties"],
      ["valueOf", "ValueOfsHandler, ValueOfHandler", "/value-ofs"],
    ];
    for (const [name, classes, route] of expected) {
      const result = await tornado("rest", "generate", "handler", name, "--dry-run");
      expect(result.stderr, name).toBe("");
      expect(result.code, name).toBe(0);
      expect(result.stdout).toContain(`classes ${classes}; routes ${route}, ${route}/:id`);
    }
    const written = await tornado("rest", "generate", "handler", "constructor");
    expect(written.code, written.stderr).toBe(0);
    expect(read("rest", "src/app.ts")).toContain('url("/constructors/:id", ConstructorHandler, { name: "constructor" }),');
    const destroyed = await tornado("rest", "destroy", "handler", "constructor");
    expect(destroyed.code, destroyed.stderr).toBe(0);
    expect(existsSync(join(dir, "rest/src/handlers/constructor.ts"))).toBe(false);
  });

  it("writes a websocket handler named constructor", async () => {
    const result = await tornado("websocket", "generate", "websocket", "constructor", "--dry-run");
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("websocket constructor: class ConstructorSocket; route /constructor");
  });

  it("refuses __proto__ with one sentence, as any name that cannot be a file and a class", async () => {
    for (const kind of ["handler", "websocket"]) {
      const result = await tornado("rest", "generate", kind, "__proto__");
      expect(result.code).toBe(1);
      expect(result.stderr).toBe('error: "__proto__" is not a usable name: use letters, digits, "-" or "_", starting with a letter (for example user-profile).\n');
    }
    const destroy = await tornado("rest", "destroy", "handler", "constructor");
    expect(destroy.code).toBe(1);
    expect(destroy.stderr).toMatch(/^error: Nothing to destroy: .* no handler named constructor/);
  });
});

describe("destroy with a recorded file named like an Object.prototype property", () => {
  it("prints its line without a note from Object.prototype", async () => {
    const app = join(dir, "rest");
    mkdirSync(join(app, ".tornado"), { recursive: true });
    writeFileSync(join(app, "constructor"), "x");
    const manifest = { version: 1, generated: [{ kind: "handler", name: "odd", files: { constructor: createHash("sha256").update("x").digest("hex") } }] };
    writeFileSync(join(app, ".tornado/manifest.json"), JSON.stringify(manifest));
    const result = await tornado("rest", "destroy", "handler", "odd");
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ {2}delete +constructor$/m);
    expect(result.stdout).not.toContain("function");
    expect(existsSync(join(app, "constructor"))).toBe(false);
  });
});

describe("generated names read as English", () => {
  it("puts a or an before the resource in the generated test", async () => {
    const order = await tornado("rest", "generate", "handler", "orders", "--dry-run");
    expect(order.stdout).toContain('+  it("creates an order, reads it back and lists it"');
    expect(order.stdout).toContain('+  it("replaces and deletes an order"');
    const user = await tornado("rest", "generate", "handler", "user-profile", "--dry-run");
    expect(user.stdout).toContain('+  it("creates a user profile, reads it back and lists it"');
    const hour = await tornado("rest", "generate", "handler", "hour", "--dry-run");
    expect(hour.stdout).toContain('+  it("creates an hour,');
  });

  it("keeps one form for an uncountable word, with distinct class names", async () => {
    const result = await tornado("websocket", "generate", "handler", "feedback", "--dry-run");
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("handler feedback: classes FeedbackListHandler, FeedbackHandler; routes /feedback, /feedback/:id");
    const health = await tornado("websocket", "generate", "handler", "metadata", "--dry-run");
    expect(health.stdout).toContain("classes MetadataListHandler, MetadataHandler; routes /metadata, /metadata/:id");
  });

  it("says why a second spelling of a generated resource is refused", async () => {
    expect((await tornado("websocket", "generate", "handler", "orders")).code).toBe(0);
    const again = await tornado("websocket", "generate", "handler", "order");
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(
      'error: "order" and "orders" spell the same resource, /orders, already generated in src/handlers/orders.ts: use orders (or destroy it first: npm run destroy -- handler orders). Nothing was written.\n',
    );
    expect(existsSync(join(dir, "websocket/src/handlers/order.ts"))).toBe(false);
    expect((await tornado("websocket", "destroy", "handler", "orders")).code).toBe(0);
  });

  it("names the class and the article right when a class name is taken", async () => {
    const result = await tornado("rest", "generate", "handler", "user", "--app", "src/app.ts");
    // users.ts holds UserHandler; "user" would write user.ts with another UserHandler.
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'error: "user" needs a class named UserHandler, but src/app.ts already has a UserHandler (from ./handlers/users.js); pick another name for the handler. Nothing was written.\n',
    );
  });
});

describe("a generated handler answers errors as JSON in every app template", () => {
  it("declares zod schemas through withSchemas, extending the app's own base handler where there is one", async () => {
    for (const [template, base] of [
      ["rest", "ApiHandler"],
      ["slow-db", "DatabaseHandler"],
    ] as const) {
      const result = await tornado(template, "generate", "handler", "invoices", "--dry-run");
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain(`+import { ${base} } from "./base.js";`);
      expect(result.stdout).toContain('+import { z } from "zod";');
      expect(result.stdout).toContain(`+export class InvoicesHandler extends withSchemas(`);
      expect(result.stdout).toContain(`+  ${base},\n+) {`);
    }
    // No base of the app's own: withSchemas' default, whose errors are JSON too.
    const ws = await tornado("websocket", "generate", "handler", "invoices", "--dry-run");
    expect(ws.code, ws.stderr).toBe(0);
    expect(ws.stdout).toContain("+export class InvoicesHandler extends withSchemas(");
    expect(ws.stdout).not.toContain("./base.js");
    expect(ws.stdout).not.toMatch(/^\+  \w+,\n\+\) \{/m);
  });
});

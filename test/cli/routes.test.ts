/**
 * `tornado routes` run as a real process on a small app whose app.ts imports this package's
 * built runtime by path (no install needed).
 */

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { repoRoot, runBin, tempDir } from "../helpers/cli.js";

let dir: string;
let remove: () => void;
beforeEach(() => {
  ({ dir, remove } = tempDir("routes"));
  writeFileSync(join(dir, "package.json"), '{ "name": "routes-app", "type": "module" }\n');
  mkdirSync(join(dir, "src"));
});
afterEach(() => remove());

const runtime = (entry: string) => pathToFileURL(join(repoRoot, "dist/runtime", entry)).href;
const APP = `import { Application, url, RequestHandler } from "${runtime("index.js")}";
import { WebSocketHandler } from "${runtime("websocket.js")}";

class ItemsHandler extends RequestHandler {
  get() {}
  post() {}
}
class ItemHandler extends ItemsHandler {
  put() {}
  delete() {}
}
class FeedSocket extends WebSocketHandler {}
class EmptyHandler extends RequestHandler {}
class DavHandler extends RequestHandler {
  static SUPPORTED_METHODS = ["GET", "HEAD", "PROPFIND", "MKCOL"];
  get() {}
  post() {}
  propfind() {}
  mkcol() {}
}

export function makeApp() {
  return new Application([
    url("/items", ItemsHandler, { name: "items" }),
    url("/items/:id", ItemHandler, { name: "item" }),
    url("/feed", FeedSocket),
    url("/empty", EmptyHandler),
    url("/dav", DavHandler),
  ]);
}
`;

describe("tornado routes", () => {
  it("lists each route's methods (inherited ones too), websocket for a WebSocketHandler", async () => {
    writeFileSync(join(dir, "src/app.ts"), APP);
    const { code, stdout, stderr } = await runBin("tornado", ["routes"], dir);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout).toBe(
      [
        "PATTERN     HANDLER       METHODS              NAME",
        "/items      ItemsHandler  get,post             items",
        "/items/:id  ItemHandler   get,post,put,delete  item",
        "/feed       FeedSocket    websocket",
        "/empty      EmptyHandler  -",
        "/dav        DavHandler    get,propfind,mkcol",
        "",
      ].join("\n"),
    );
    const json = JSON.parse((await runBin("tornado", ["routes", "--json"], dir)).stdout);
    expect(json).toEqual([
      { pattern: "/items", handler: "ItemsHandler", methods: ["get", "post"], name: "items" },
      { pattern: "/items/:id", handler: "ItemHandler", methods: ["get", "post", "put", "delete"], name: "item" },
      { pattern: "/feed", handler: "FeedSocket", methods: ["websocket"], name: null },
      { pattern: "/empty", handler: "EmptyHandler", methods: [], name: null },
      // SUPPORTED_METHODS adds WebDAV verbs and leaves POST out: post() is never called.
      { pattern: "/dav", handler: "DavHandler", methods: ["get", "propfind", "mkcol"], name: null },
    ]);
  });

  it("names the app's file, line and column for a syntax error, not the compiler's own", async () => {
    const lines = APP.split("\n");
    const at = lines.findIndex((l) => l.includes('url("/feed"'));
    lines[at] = '    url("/feed" (, FeedSocket),';
    writeFileSync(join(dir, "src/app.ts"), lines.join("\n"));
    const { code, stdout, stderr } = await runBin("tornado", ["routes"], dir);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toBe(`error: src/app.ts:${at + 1}:18: Unexpected ","\n`);
  });

  it("names the imported file when the syntax error is there", async () => {
    mkdirSync(join(dir, "src/handlers"));
    writeFileSync(join(dir, "src/handlers/broken.ts"), "export const x = ;\n");
    writeFileSync(join(dir, "src/app.ts"), `import { x } from "./handlers/broken.js";\nexport const y = x;\n${APP}`);
    const { code, stderr } = await runBin("tornado", ["routes"], dir);
    expect(code).toBe(1);
    expect(stderr).toBe('error: src/handlers/broken.ts:1:18: Unexpected ";"\n');
  });

  it("reads an app split over files (./x.js imports of .ts files), and one with syntax only tsx reads", async () => {
    mkdirSync(join(dir, "src/handlers"));
    writeFileSync(
      join(dir, "src/handlers/things.ts"),
      `import { RequestHandler } from "${runtime("index.js")}";\nexport class ThingsHandler extends RequestHandler {\n  get(): void {}\n}\n`,
    );
    const app = (extra: string) =>
      `import { Application, url } from "${runtime("index.js")}";\nimport { ThingsHandler } from "./handlers/things.js";\n${extra}\nexport function makeApp() {\n  return new Application([url("/things", ThingsHandler, { name: "things" })]);\n}\n`;
    const expected = ["PATTERN  HANDLER        METHODS  NAME", "/things  ThingsHandler  get      things", ""].join("\n");
    writeFileSync(join(dir, "src/app.ts"), app(""));
    const plain = await runBin("tornado", ["routes"], dir);
    expect(plain.stderr).toBe("");
    expect(plain.stdout).toBe(expected);
    // A constructor parameter property and an enum: not erasable, so Node's type stripping refuses them.
    writeFileSync(join(dir, "src/app.ts"), app("enum Mode { A }\nexport class Box {\n  constructor(private readonly mode: Mode) {}\n}"));
    const rich = await runBin("tornado", ["routes"], dir);
    expect(rich.stderr).toBe("");
    expect(rich.code).toBe(0);
    expect(rich.stdout).toBe(expected);
  });
});

/**
 * How `tornado dev` reads the app's TypeScript: with Node's own type stripping on the Node lines
 * that have it (22.18+, 24, 26), through tsx on the others, and through tsx as soon as the app
 * uses what type stripping cannot read (an enum, a parameter property), restarts included.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { canStripTypes } from "../../src/commands/app-import.js";
import { createApp, editFile, freePort, pollUntil, request, saveFiles, startTornado, stopAll, type CreatedApp, type Tornado } from "../helpers/dev.js";

const INSTALL_TIMEOUT = 300_000;

// An entry without a database that says how it was loaded.
const PLAIN = `import { Application, RequestHandler } from "tornado";
import { label } from "./plain-label.js";

class Loaded extends RequestHandler {
  get(): void {
    this.write({ label, tsx: process.execArgv.some((arg) => arg.includes("tsx")), typescript: process.features.typescript ?? false });
  }
}

await new Application([["/", Loaded]]).listen(Number(process.env.PORT));
`;

// An entry that reaches its label through the package's own subpath imports ("#label").
const SUBPATH = PLAIN.replace('from "./plain-label.js"', 'from "#label"');

// The same with an enum and a parameter property, which type stripping refuses.
const ENUM = `import { Application, RequestHandler } from "tornado";

enum Shade {
  Light = "light",
  Dark = "dark",
}

class Greeter {
  constructor(private readonly shade: Shade) {}
  say(): string {
    return \`shade \${this.shade}\`;
  }
}

class Loaded extends RequestHandler {
  get(): void {
    this.write({ label: new Greeter(Shade.Light).say(), tsx: process.execArgv.some((arg) => arg.includes("tsx")) });
  }
}

await new Application([["/", Loaded]]).listen(Number(process.env.PORT));
`;

let created: CreatedApp | undefined;
let app: string;
let saved: { restore: () => void };

beforeAll(async () => {
  created = await createApp("dev-typescript");
  app = created.app;
  writeFileSync(join(app, "src/plain.ts"), PLAIN);
  writeFileSync(join(app, "src/plain-label.ts"), 'export const label: string = "one";\n');
  writeFileSync(join(app, "src/shades.ts"), ENUM);
  writeFileSync(join(app, "src/subpath.ts"), SUBPATH);
  const pkg = JSON.parse(readFileSync(join(app, "package.json"), "utf8"));
  writeFileSync(join(app, "package.json"), `${JSON.stringify({ ...pkg, imports: { "#label": "./src/plain-label.ts" } }, null, 2)}\n`);
  saved = saveFiles([join(app, "src/plain.ts"), join(app, "src/plain-label.ts"), join(app, "src/shades.ts")]);
}, INSTALL_TIMEOUT);

afterEach(async () => {
  await stopAll();
  saved?.restore();
});

afterAll(() => created?.remove());

async function dev(entry: string): Promise<Tornado> {
  const t = startTornado(app, ["dev", "--entry", entry, "--no-typecheck"], { port: await freePort() });
  await t.waitFor(new RegExp(`started ${entry.replace(/[./]/g, "\\$&")} in \\d+ ms`), { timeout: 30_000 });
  return t;
}

const answer = async (t: Tornado) => JSON.parse((await request(`http://127.0.0.1:${t.port}/`)).body) as Record<string, unknown>;

describe("tornado dev and TypeScript", () => {
  it("runs the app without tsx where Node strips types itself (through tsx elsewhere), restarts included", async () => {
    const t = await dev("src/plain.ts");
    expect(await answer(t)).toMatchObject({ label: "one", tsx: !canStripTypes() });

    // A save in a module the entry imports as ./plain-label.js (the .ts file on disk).
    const mark = t.mark();
    editFile(join(app, "src/plain-label.ts"), (s) => s.replace('"one"', '"two"'));
    await t.waitFor(/src\/plain-label\.ts changed · restarted in \d+ ms/, { since: mark });
    const after = await pollUntil(() => answer(t), (a) => a.label === "two");
    expect(after).toMatchObject({ label: "two", tsx: !canStripTypes() });
  }, 60_000);

  it("restarts with the new code of a module the app reaches through its package's subpath imports", async () => {
    const t = await dev("src/subpath.ts");
    expect(await answer(t)).toMatchObject({ label: "one" });
    // The save comes once the standby process is up (it loads the app's packages ahead, but
    // not the app's own modules, whatever specifier reaches them).
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const mark = t.mark();
    editFile(join(app, "src/plain-label.ts"), (s) => s.replace('"one"', '"three"'));
    await t.waitFor(/src\/plain-label\.ts changed · restarted in \d+ ms/, { since: mark });
    expect(await pollUntil(() => answer(t), (a) => a.label === "three")).toMatchObject({ label: "three" });
  }, 60_000);

  it("runs an app with an enum and a parameter property through tsx, and keeps restarting it on saves", async () => {
    const t = await dev("src/shades.ts");
    expect(await answer(t)).toMatchObject({ label: "shade light" });

    const mark = t.mark();
    editFile(join(app, "src/shades.ts"), (s) => s.replace("Shade.Light", "Shade.Dark"));
    await t.waitFor(/src\/shades\.ts changed · restarted in \d+ ms/, { since: mark });
    // The processes after the first that needed tsx load it from the start.
    const after = await pollUntil(() => answer(t), (a) => a.label === "shade dark");
    expect(after).toMatchObject({ label: "shade dark", tsx: true });
    expect(t.output()).not.toMatch(/failed to start|ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX/);
  }, 60_000);
});

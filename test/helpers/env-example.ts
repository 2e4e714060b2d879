/**
 * An app's `.env.example` against its `src/env.ts`: the variable names each lists, so that a
 * test can check the example names every variable the app reads, and nothing else.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runCommand } from "./cli.js";

/**
 * The names `.env.example` lists (set or commented out), and the keys of the built app's
 * `envSchema` (dist/env.js), each sorted.
 *
 * @example
 * const { listed, read } = await environmentNames(app); // expect(listed).toEqual(read)
 */
export async function environmentNames(app: string): Promise<{ listed: string[]; read: string[] }> {
  const result = await runCommand(process.execPath, ["--input-type=module", "-e", "const m = await import('./dist/env.js'); console.log(JSON.stringify(Object.keys(m.envSchema.shape)))"], app);
  if (result.code !== 0) throw new Error(`could not read dist/env.js:\n${result.stderr}`);
  const read = (JSON.parse(result.stdout) as string[]).sort();
  const listed = [...readFileSync(join(app, ".env.example"), "utf8").matchAll(/^#? ?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!).sort();
  return { listed, read };
}

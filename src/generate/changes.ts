/**
 * A generator's changes to an app, planned in memory first: shown as a unified diff
 * (`--dry-run`), refused as a whole on a conflict, or applied file by file atomically.
 */

import { existsSync, readFileSync, readdirSync, rmdirSync } from "node:fs";
import { rm } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { style } from "../cli/output.js";
import { writeFilesAtomically } from "../create/write.js";

/**
 * One file a generator would create, change or delete (`after: null`).
 *
 * @example
 * const change: FileChange = { path: "src/app.ts", before: "…", after: "…" };
 */
export interface FileChange {
  /** Relative to the app root, with `/`. */
  path: string;
  /** The content now, or `null` when the file does not exist. */
  before: string | null;
  /** The content wanted, or `null` to delete the file. */
  after: string | null;
}

/**
 * The current content of an app file, or `null` when it does not exist.
 *
 * @example
 * readIfExists(root, "src/app.ts")
 */
export function readIfExists(root: string, path: string): string | null {
  const full = join(root, path);
  return existsSync(full) ? readFileSync(full, "utf8") : null;
}

/**
 * The changes that really change something (identical content dropped).
 *
 * @example
 * effective([{ path: "a", before: "x", after: "x" }]) // []
 */
export function effective(changes: readonly FileChange[]): FileChange[] {
  return changes.filter((c) => c.before !== c.after);
}

/**
 * A unified diff of every change, as `git diff` shows one (`/dev/null` for created and
 * deleted files).
 *
 * @example
 * process.stdout.write(await unifiedDiff(changes));
 */
export async function unifiedDiff(changes: readonly FileChange[]): Promise<string> {
  const { createTwoFilesPatch } = await import("diff/lib/patch/create.js");
  return effective(changes)
    .map((c) =>
      createTwoFilesPatch(c.before === null ? "/dev/null" : `a/${c.path}`, c.after === null ? "/dev/null" : `b/${c.path}`, c.before ?? "", c.after ?? "", "", "", {
        context: 3,
      })
        // jsdiff starts with a line of "=" and leaves the tab of an empty header; git does neither.
        .replace(/^=+\n/, "")
        .replace(/\t\n/g, "\n"),
    )
    .join("");
}

/**
 * The verb shown for a change: create, update, delete or identical.
 *
 * @example
 * changeVerb({ path: "a", before: null, after: "x" }) // "create"
 */
export function changeVerb(change: FileChange): "create" | "update" | "delete" | "identical" {
  if (change.before === change.after) return "identical";
  if (change.before === null) return "create";
  if (change.after === null) return "delete";
  return "update";
}

/**
 * Prints one line per change (`  create  src/handlers/orders.ts`), with an optional note.
 *
 * @example
 * printChanges(changes, new Map([["src/app.ts", "import + 2 routes"]]));
 */
export function printChanges(changes: readonly FileChange[], notes: ReadonlyMap<string, string> = new Map()): void {
  const paint = { create: style.green, update: style.yellow, delete: style.red, identical: style.dim };
  for (const change of changes) {
    const verb = changeVerb(change);
    const note = notes.has(change.path) ? style.dim(` (${notes.get(change.path)})`) : "";
    process.stdout.write(`  ${paint[verb](verb.padEnd(9))} ${change.path}${note}\n`);
  }
}

function removeEmptyParents(root: string, file: string): void {
  let dir = dirname(file);
  const top = resolve(root);
  while (resolve(dir) !== top && relative(top, dir) !== "" && !relative(top, dir).startsWith("..")) {
    if (readdirSync(dir).length > 0) return;
    rmdirSync(dir);
    dir = dirname(dir);
  }
}

/**
 * Applies the changes: each written file is replaced atomically (never half-written), each
 * deleted file removed along with folders it leaves empty.
 *
 * @example
 * await applyChanges("/home/me/my-api", changes);
 */
export async function applyChanges(root: string, changes: readonly FileChange[]): Promise<void> {
  const real = effective(changes);
  await writeFilesAtomically(
    root,
    real.filter((c) => c.after !== null).map((c) => ({ path: c.path, content: Buffer.from(c.after!) })),
  );
  for (const change of real.filter((c) => c.after === null)) {
    const full = join(root, change.path);
    await rm(full, { force: true });
    removeEmptyParents(root, full);
  }
}

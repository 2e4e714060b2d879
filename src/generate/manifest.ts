/**
 * The generate manifest, `.tornado/manifest.json` in the app (committed with it): what each
 * `tornado generate` wrote, with content hashes, so `tornado destroy` removes exactly that and
 * notices a file edited since.
 */

import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../cli/errors.js";
import type { RouteRegistration } from "./route-table.js";

/**
 * Where the manifest lives, relative to the app root.
 *
 * @example
 * join(appRoot, MANIFEST_PATH) // "/home/me/my-api/.tornado/manifest.json"
 */
export const MANIFEST_PATH = ".tornado/manifest.json";

/**
 * One generate: its kind and name, the files it wrote (path → sha256 of the content) and the
 * import and routes it added to the app file.
 *
 * @example
 * const entry: GeneratedEntry = { kind: "handler", name: "orders", files: { "src/handlers/orders.ts": "9f…" } };
 */
export interface GeneratedEntry {
  kind: string;
  name: string;
  files: Record<string, string>;
  /** Only what this generate added (routes already there are not recorded). */
  registration?: RouteRegistration & { file: string };
}

/**
 * The whole manifest.
 *
 * @example
 * const manifest: Manifest = { version: 1, generated: [] };
 */
export interface Manifest {
  version: 1;
  generated: GeneratedEntry[];
}

/**
 * The sha256 of a file's content, in hex.
 *
 * @example
 * contentHash(Buffer.from("")) // "e3b0c442…"
 */
export function contentHash(content: Buffer | string): string {
  return createHash("sha256").update(content).digest("hex");
}

/**
 * Reads the app's manifest; an app without one has an empty manifest.
 *
 * @example
 * readManifest("/home/me/my-api").generated.length // 0
 */
export function readManifest(root: string): Manifest {
  const file = join(root, MANIFEST_PATH);
  if (!existsSync(file)) return { version: 1, generated: [] };
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as Manifest;
    if (parsed.version !== 1 || !Array.isArray(parsed.generated)) throw new Error("unknown layout");
    return parsed;
  } catch (error) {
    throw new UserError(`${MANIFEST_PATH} is not a manifest this version can read (${(error as Error).message}); fix or remove it and run again.`);
  }
}

/**
 * The manifest as written to disk (stable key order, a final newline), or `null` when it
 * records nothing, so that undoing the last generate removes the file it created.
 *
 * @example
 * serializeManifest({ version: 1, generated: [] }) // null
 */
export function serializeManifest(manifest: Manifest): string | null {
  if (manifest.generated.length === 0) return null;
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/**
 * The entry for `kind`/`name`, if a generate recorded one.
 *
 * @example
 * findEntry(manifest, "handler", "orders")?.files
 */
export function findEntry(manifest: Manifest, kind: string, name: string): GeneratedEntry | undefined {
  return manifest.generated.find((e) => e.kind === kind && e.name === name);
}

/**
 * A copy of the manifest with `entry` in place of the one of the same kind and name (or
 * appended), or with that entry dropped when `entry` is `null`.
 *
 * @example
 * withEntry(manifest, "handler", "orders", null)
 */
export function withEntry(manifest: Manifest, kind: string, name: string, entry: GeneratedEntry | null): Manifest {
  const others = manifest.generated.filter((e) => !(e.kind === kind && e.name === name));
  const at = manifest.generated.findIndex((e) => e.kind === kind && e.name === name);
  if (entry === null) return { ...manifest, generated: others };
  const generated = [...others];
  generated.splice(at === -1 ? generated.length : at, 0, entry);
  return { ...manifest, generated };
}

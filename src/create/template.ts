/** App templates: which exist, and the files one renders to. */

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { templatesRoot } from "../cli/paths.js";

/**
 * The app templates this CLI knows, in the order offered (not all ship yet: see
 * `availableTemplates()`).
 *
 * @example
 * APP_TEMPLATES[0] // "rest"
 */
export const APP_TEMPLATES = ["rest", "websocket", "slow-db"] as const;

/**
 * A file to write into the new app.
 *
 * @example
 * const file: PlannedFile = { path: "src/app.ts", content: Buffer.from("…") };
 */
export interface PlannedFile {
  /** Relative to the app folder, with `/`. */
  path: string;
  content: Buffer;
  mode?: number;
}

/**
 * The app templates shipped in this version (a folder under `templates/`).
 *
 * @example
 * availableTemplates() // ["rest"]
 */
export function availableTemplates(): string[] {
  return APP_TEMPLATES.filter((name) => existsSync(join(templatesRoot(), name, "src", "app.ts")));
}

/**
 * Values a template's `.hbs` files can use.
 *
 * @example
 * const values: TemplateValues = { name: "my-api", tornadoVersion: "0.1.0", runtimeTarball: "tornado-0.1.0.tgz", toolsTarball: "tornado-tools-0.1.0.tgz", packageManager: "npm", run: "npm run", argsSep: " --" };
 */
export interface TemplateValues {
  name: string;
  tornadoVersion: string;
  runtimeTarball: string;
  /** The packed development tools' file name in `vendor/` (`tornado-tools-<version>.tgz`). */
  toolsTarball: string;
  packageManager: string;
  /** How to run a package script: `npm run`, `pnpm` or `yarn`. */
  run: string;
  /** What goes between a script's name and its arguments: ` --` for npm, nothing for pnpm and yarn. */
  argsSep: string;
}

// create-vite's convention: npm drops .gitignore from packages, so templates ship _gitignore.
function targetPath(rel: string): string {
  const renamed = rel.replace(/(^|\/)_gitignore$/, "$1.gitignore");
  return renamed.endsWith(".hbs") ? renamed.slice(0, -4) : renamed;
}

function walk(dir: string, root: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name === "dist") continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(full, root));
    else out.push(relative(root, full).split(sep).join("/"));
  }
  return out;
}

// The files every app template shares.
const BASE_LAYER = "_base";

/**
 * Renders a template folder over the shared base layer: `.hbs` files through Handlebars (unknown variables are an error),
 * every other file copied byte for byte.
 *
 * @example
 * const files = await renderTemplate("rest", { name: "my-api", … });
 */
export async function renderTemplate(template: string, values: TemplateValues): Promise<PlannedFile[]> {
  // Every app template starts from templates/_base (package.json, tsconfig, .gitignore); a
  // file of the template's own with the same name replaces the base's.
  const sources = new Map<string, string>();
  for (const layer of [BASE_LAYER, template]) {
    const dir = join(templatesRoot(), layer);
    for (const rel of walk(dir, dir)) sources.set(rel, join(dir, rel));
  }
  const files = [...sources.keys()].sort();
  const needsHandlebars = files.some((f) => f.endsWith(".hbs"));
  const handlebars = needsHandlebars ? (await import("handlebars")).default : undefined;
  return files.map((rel) => {
    const full = sources.get(rel)!;
    const raw = readFileSync(full);
    const content = rel.endsWith(".hbs")
      ? Buffer.from(handlebars!.compile(raw.toString("utf8"), { noEscape: true, strict: true })(values))
      : raw;
    return { path: targetPath(rel), content, mode: statSync(full).mode & 0o777 };
  });
}

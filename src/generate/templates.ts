/** Generator templates: the built-in ones, or the app's own copy in `.tornado/templates/`. */

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { templatesRoot } from "../cli/paths.js";

/**
 * Where an app keeps its own generator templates, relative to its root: a file there
 * (`.tornado/templates/handler/handler.ts.hbs`) replaces the built-in one of the same name.
 *
 * @example
 * join(root, APP_TEMPLATES_DIR, "handler", "test.ts.hbs")
 */
export const APP_TEMPLATES_DIR = ".tornado/templates";

// Handlebars' one-file build (the compiler and the runtime, as `handlebars` itself gives): one
// file to read where the package's entry loads some forty, source-map's among them.
async function loadHandlebars(): Promise<typeof import("handlebars")> {
  const { createRequire } = await import("node:module");
  return createRequire(import.meta.url)("handlebars/dist/handlebars.min.js") as typeof import("handlebars");
}

/**
 * Renders one generator template (`kind/file`) with Handlebars (strict: an unknown variable
 * is an error), preferring the app's override. Returns the text and where it came from.
 *
 * @example
 * await renderGeneratorTemplate(root, "handler", "handler.ts.hbs", values)
 */
export async function renderGeneratorTemplate(
  root: string,
  kind: string,
  file: string,
  values: Record<string, unknown>,
): Promise<{ text: string; source: string }> {
  const override = join(root, APP_TEMPLATES_DIR, kind, file);
  const source = existsSync(override) ? override : join(templatesRoot(), "generators", kind, file);
  const handlebars = await loadHandlebars();
  const text = handlebars.compile(readFileSync(source, "utf8"), { noEscape: true, strict: true })(values);
  return { text, source };
}

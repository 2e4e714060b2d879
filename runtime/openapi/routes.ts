/**
 * The `openapi` setting's routes: the document at `/openapi.json`, and a docs page at `/docs`
 * whose assets (swagger-ui-dist) come from the app's own node_modules, never from a CDN.
 */

import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { RouteSpec } from "../routing.js";
import { HTTPError } from "../web/errors.js";
import { RequestHandler } from "../web/handler.js";
import type { OpenAPIOptions } from "./document.js";

// The only files /docs serves, with their types: a fixed list, never a path from the URL.
const ASSETS = new Map([
  ["swagger-ui.css", "text/css; charset=UTF-8"],
  ["swagger-ui-bundle.js", "text/javascript; charset=UTF-8"],
]);

/** Serves the app's OpenAPI document (built once, on first request). @internal */
export class OpenAPIDocumentHandler extends RequestHandler {
  static openapiHidden = true;
  private static cache = new WeakMap<object, string>();

  async get(): Promise<void> {
    const cache = OpenAPIDocumentHandler.cache;
    let text = cache.get(this.application);
    if (text === undefined) {
      // The builder is loaded on the first request for the document: building an app need not load it.
      const { openApiDocument } = await import("./document.js");
      text = cache.get(this.application) ?? JSON.stringify(openApiDocument(this.application, this.settings.openapi as OpenAPIOptions));
      cache.set(this.application, text);
    }
    this.setHeader("Content-Type", "application/json; charset=UTF-8");
    this.finish(text);
  }
}

/** The docs page and its two assets; 501 with what to install when swagger-ui-dist is missing. @internal */
export class OpenAPIDocsHandler extends RequestHandler {
  static openapiHidden = true;

  async get(asset: string | null): Promise<void> {
    const options = (this.settings.openapi ?? {}) as OpenAPIOptions;
    let folder: string;
    try {
      const from = createRequire(join(options.assetsFrom ?? process.cwd(), "package.json"));
      folder = dirname(from.resolve("swagger-ui-dist/package.json"));
    } catch {
      this.setStatus(501);
      this.setHeader("Content-Type", "text/plain; charset=UTF-8");
      this.finish("The docs page needs swagger-ui-dist in the app: npm install swagger-ui-dist\n");
      return;
    }
    if (asset === null) {
      const base = options.docsPath ?? "/docs";
      this.setHeader("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'");
      this.finish(
        `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(options.title ?? "API")}</title>` +
          `<link rel="stylesheet" href="${base}/swagger-ui.css"></head><body><div id="docs"></div>` +
          `<script src="${base}/swagger-ui-bundle.js"></script><script src="${base}/init.js"></script></body></html>`,
      );
      return;
    }
    if (asset === "init.js") {
      this.setHeader("Content-Type", "text/javascript; charset=UTF-8");
      this.finish(`SwaggerUIBundle({ url: ${JSON.stringify(options.path ?? "/openapi.json")}, dom_id: "#docs" });\n`);
      return;
    }
    const type = ASSETS.get(asset);
    if (type === undefined) throw new HTTPError(404);
    this.setHeader("Content-Type", type);
    this.setHeader("Cache-Control", "public, max-age=3600");
    this.finish(await readFile(join(folder, asset)));
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The routes the `openapi` setting adds in front of the app's: the document, and the docs page
 * unless `docs: false`.
 * @internal
 */
export function openApiRoutes(options: OpenAPIOptions | undefined): RouteSpec[] {
  if (options === undefined) return [];
  const routes: RouteSpec[] = [[escapeRegex(options.path ?? "/openapi.json"), OpenAPIDocumentHandler]];
  if (options.docs !== false) routes.push([`${escapeRegex(options.docsPath ?? "/docs")}(?:/([\\w.-]+))?`, OpenAPIDocsHandler]);
  return routes;
}

function escapeRegex(path: string): string {
  return path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

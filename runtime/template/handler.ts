/**
 * What `RequestHandler.render()` adds to a template: the loader for the app's `templatePath`,
 * the handler's namespace (`handler`, `request`, `currentUser`) and the helpers that call the
 * handler (`staticUrl`, `xsrfFormHtml`, `reverseUrl`), as Tornado's `get_template_namespace`.
 */

import type { RequestHandler } from "../web/handler.js";
import { SafeHtml, type TemplateHelper, type TemplateLoader } from "./loader.js";

// One loader per application and template folder, as Tornado keeps one per folder.
const loaders = new WeakMap<object, Map<string, TemplateLoader>>();

/**
 * The loader `handler.render()` uses: the `templateLoader` setting, else one per application
 * and `getTemplatePath()`, made by `createTemplateLoader()` and then kept.
 * @internal
 */
export function loaderFor(handler: RequestHandler): TemplateLoader {
  const settings = handler.settings;
  if (settings.templateLoader !== undefined) return settings.templateLoader;
  const path = handler.getTemplatePath();
  if (!path) {
    throw new Error("render() needs the templatePath setting (the folder of your .hbs files), or a templateLoader");
  }
  let byPath = loaders.get(handler.application);
  if (byPath === undefined) loaders.set(handler.application, (byPath = new Map()));
  let loader = byPath.get(path);
  if (loader === undefined) byPath.set(path, (loader = handler.createTemplateLoader(path)));
  return loader;
}

/**
 * `{{staticUrl "app.css"}}`, `{{xsrfFormHtml}}` and `{{reverseUrl "user" id}}`: each calls the
 * handler's method of that name, and says so clearly when the handler has none.
 * @internal
 */
export function handlerHelpers(handler: RequestHandler): Record<string, TemplateHelper> {
  const call = (name: string, args: unknown[]): unknown => {
    const method = (handler as unknown as Record<string, unknown>)[name];
    if (typeof method !== "function") {
      throw new Error(`{{${name}}} calls the handler's ${name}() method, which ${handler.constructor.name} does not have`);
    }
    return method.apply(handler, args);
  };
  // Handlebars passes its options object last.
  const argsOf = (args: unknown[]) => args.slice(0, -1);
  return {
    staticUrl: (...args: unknown[]) => call("staticUrl", argsOf(args)),
    xsrfFormHtml: (...args: unknown[]) => new SafeHtml(String(call("xsrfFormHtml", argsOf(args)))),
    reverseUrl: (...args: unknown[]) => call("reverseUrl", argsOf(args)),
  };
}

/**
 * The handler's default template variables: `handler`, `request` and, when the handler has
 * one, `currentUser` (awaited if it is a promise).
 * @internal
 */
export async function defaultNamespace(handler: RequestHandler): Promise<Record<string, unknown>> {
  const namespace: Record<string, unknown> = { handler, request: handler.request };
  if ("currentUser" in handler) namespace.currentUser = await (handler as { currentUser?: unknown }).currentUser;
  return namespace;
}

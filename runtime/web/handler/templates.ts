/**
 * A handler's templates and URLs: `render()` and what a template sees (Tornado's
 * `get_template_namespace`: `handler`, `request`, `currentUser`, and the helpers `staticUrl`,
 * `xsrfFormHtml`, `reverseUrl`, `linkify`), the loader per template folder, `reverseUrl` and
 * `staticUrl`.
 */

import { SafeHtml, TemplateLoader, type TemplateHelper } from "../../template/loader.js";
import { HandlerXsrf } from "./xsrf.js";
import type { StaticUrlOptions } from "./types.js";

/**
 * The template and URL methods of `RequestHandler` (`render`, `staticUrl`, …). Not used on its
 * own.
 * @internal
 */
export abstract class HandlerTemplates extends HandlerXsrf {
  /**
   * Renders template `templateName` (from the `templatePath` setting) with `context` and
   * finishes the response with it; `await` it (or return it). The template also sees
   * `getTemplateNamespace()` (`handler`, `request`, `currentUser`) and the helpers `staticUrl`,
   * `xsrfFormHtml`, `reverseUrl` and `linkify` (`{{linkify comment shorten=true}}`, Tornado's
   * `linkify` with its options as hash arguments). A template error rejects with `TemplateError` (a 500).
   *
   * @example
   * async get() {
   *   await this.render("users.hbs", { title: "Users", users: await this.settings.db.users() });
   * }
   */
  async render(templateName: string, context: Record<string, unknown> = {}): Promise<void> {
    if (this.finished) throw new Error("Cannot render() after finish()");
    const html = await this.renderString(templateName, context);
    if (this.finished) throw new Error(`render("${templateName}") ended after the response was finished: await this.render(…)`);
    this.finish(html);
  }

  /**
   * Renders template `templateName` with `context` (over `getTemplateNamespace()`) and
   * resolves to the text, without sending anything.
   *
   * @example
   * const body = await this.renderString("email/welcome.hbs", { user });
   */
  async renderString(templateName: string, context: Record<string, unknown> = {}): Promise<string> {
    const template = await loaderFor(this).load(templateName);
    const namespace = await this.getTemplateNamespace();
    return template.render({ ...namespace, ...context }, { helpers: handlerHelpers(this) });
  }

  /**
   * The variables every template rendered by this handler sees: `handler`, `request` and,
   * when the handler has one, `currentUser`. Override to add your own (keep `super`'s).
   *
   * @example
   * override async getTemplateNamespace() {
   *   return { ...(await super.getTemplateNamespace()), siteName: "Acme" };
   * }
   */
  async getTemplateNamespace(): Promise<Record<string, unknown>> {
    return defaultNamespace(this);
  }

  /**
   * The folder templates are loaded from: the `templatePath` setting. Override to choose one
   * per handler.
   *
   * @example
   * override getTemplatePath() { return new URL("./templates", import.meta.url).pathname; }
   */
  getTemplatePath(): string | undefined {
    return this.settings.templatePath;
  }

  /**
   * Makes the loader for a template folder (called once per application and folder). The
   * default caches compiled templates unless `compiledTemplateCache` is false, which `debug`
   * implies.
   *
   * @example
   * override createTemplateLoader(path: string) { return new TemplateLoader(path, { helpers }); }
   */
  createTemplateLoader(templatePath: string): TemplateLoader {
    const settings = this.settings;
    return new TemplateLoader(templatePath, { cache: settings.compiledTemplateCache ?? !settings.debug });
  }

  /**
   * The path of the named route, with `args` filled into its groups.
   *
   * @example
   * this.redirect(this.reverseUrl("user", user.id));
   */
  reverseUrl(name: string, ...args: unknown[]): string {
    return this.application.reverseUrl(name, ...args);
  }

  /**
   * The URL of a file under the `staticPath` setting, versioned by default (`?v=` and the
   * file's content hash) so that it can be cached for good: a new file gets a new URL. Built
   * by the `staticHandlerClass`'s `makeStaticUrl`; throws when `staticPath` is not set.
   *
   * @example
   * this.staticUrl("app.css")                        // "/static/app.css?v=5e2f…"
   * this.staticUrl("app.css", { includeHost: true }) // "https://example.com/static/app.css?v=5e2f…"
   * this.staticUrl("app.css", { includeVersion: false }) // "/static/app.css"
   */
  staticUrl(path: string, options: StaticUrlOptions = {}): string {
    const handlerClass = this.settings.staticHandlerClass;
    if (!this.settings.staticPath || handlerClass === undefined) {
      throw new Error("You must define the 'staticPath' setting in your application to use staticUrl()");
    }
    const base = options.includeHost ? `${this.request.protocol}://${this.request.host}` : "";
    return base + handlerClass.makeStaticUrl(this.settings, path, options);
  }
}

// One loader per application and template folder, as Tornado keeps one per folder.
const loaders = new WeakMap<object, Map<string, TemplateLoader>>();

/**
 * The loader `handler.render()` uses: the `templateLoader` setting, else one per application
 * and `getTemplatePath()`, made by `createTemplateLoader()` and then kept.
 */
function loaderFor(handler: HandlerTemplates): TemplateLoader {
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
 */
function handlerHelpers(handler: HandlerTemplates): Record<string, TemplateHelper> {
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
 */
async function defaultNamespace(handler: HandlerTemplates): Promise<Record<string, unknown>> {
  const namespace: Record<string, unknown> = { handler, request: handler.request };
  if ("currentUser" in handler) namespace.currentUser = await (handler as { currentUser?: unknown }).currentUser;
  return namespace;
}

/**
 * `TemplateLoader` and `Template`: Handlebars templates read from one folder, with their
 * partials, compiled in an environment of their own and cached.
 */

import { readFile } from "node:fs/promises";
import { relative, resolve, sep } from "node:path";
import type HandlebarsModule from "handlebars";
import { linkify, type LinkifyOptions } from "../escape/linkify.js";
import { placeOf, templateErrorFrom, TemplateError } from "./errors.js";
import { LOCALE_HELPERS } from "./locale-helpers.js";

type Handlebars = typeof HandlebarsModule;
type Compiled = HandlebarsTemplateDelegate;
type AstNode = { type?: string; loc?: { start: { line: number } } } & Record<string, unknown>;

/**
 * A template helper: called with the expression's arguments, then Handlebars' `options`
 * (`options.hash` holds `key=value` arguments); `this` is the current context. Return a string
 * (escaped) or a `SafeHtml` (inserted as is).
 *
 * @example
 * const upper: TemplateHelper = (text: unknown) => String(text).toUpperCase();
 */
export type TemplateHelper = (this: any, ...args: any[]) => unknown;

/**
 * Options for `new TemplateLoader(root, options)`.
 *
 * @example
 * new TemplateLoader("templates", { cache: false, helpers: { upper: (s: unknown) => String(s).toUpperCase() } });
 */
export interface TemplateLoaderOptions {
  /** Keep compiled templates until `reset()` (default true); false reads the files on every `load()`. */
  cache?: boolean;
  /** Helpers available in every template this loader compiles. */
  helpers?: Record<string, TemplateHelper>;
}

/**
 * Options for `Template.render`.
 *
 * @example
 * template.render({ user }, { helpers: { now: () => new Date().toISOString() } });
 */
export interface RenderOptions {
  /** Helpers for this rendering only, on top of the loader's. */
  helpers?: Record<string, TemplateHelper>;
}

/**
 * Markup a helper returns to be inserted without escaping (Handlebars inserts any value with a
 * `toHTML()` method as is).
 *
 * @example
 * const bold: TemplateHelper = (text: unknown) => new SafeHtml(`<b>${xhtmlEscape(String(text))}</b>`);
 */
export class SafeHtml {
  constructor(private readonly html: string) {}
  /** The markup. @example new SafeHtml("<br>").toHTML() // "<br>" */
  toHTML(): string {
    return this.html;
  }
  /** The markup. @example String(new SafeHtml("<br>")) // "<br>" */
  toString(): string {
    return this.html;
  }
}

// Handlebars takes ~100 ms to import: only apps that render templates pay it, on first use.
let handlebarsModule: Promise<Handlebars> | undefined;
function importHandlebars(): Promise<Handlebars> {
  return (handlebarsModule ??= import("handlebars").then(
    (m) => m.default,
    (error: NodeJS.ErrnoException) => {
      handlebarsModule = undefined;
      if (error.code !== "ERR_MODULE_NOT_FOUND") throw error;
      throw new Error("Templates need handlebars, which this app does not install: run `npm install handlebars`", { cause: error });
    },
  ));
}

// Request getters templates may read (`{{request.host}}`); Handlebars refuses prototype
// properties unless allowed by name.
const ALLOWED_PROTO_PROPERTIES = { host: true, hostName: true };

// Helpers that only a handler can provide; a loader used on its own says so.
const HANDLER_HELPERS = ["staticUrl", "xsrfFormHtml", "reverseUrl"];

/** A compiled file of a loader's root. @internal */
export interface CompiledFile {
  /** Relative to the root, with `/`. */
  file: string;
  run: Compiled;
  /** Partial names used in the file (literal ones), each with the line of its first use. */
  partialRefs: Map<string, number>;
}

// {{linkify text shorten=true requireProtocol=true extraParams='rel="nofollow"' permittedProtocols="http,https,ftp"}}:
// Tornado's templates have linkify in their namespace.
function linkifyHelper(...args: unknown[]): SafeHtml {
  const text = args.length > 1 && args[0] != null ? String(args[0]) : "";
  const hash = (args.at(-1) as { hash?: Record<string, unknown> } | undefined)?.hash ?? {};
  const { shorten, requireProtocol, extraParams, permittedProtocols } = hash;
  const options: LinkifyOptions = {
    shorten: shorten === true,
    requireProtocol: requireProtocol === true,
    extraParams: typeof extraParams === "string" ? extraParams : undefined,
    permittedProtocols: typeof permittedProtocols === "string" ? permittedProtocols.split(",").map((p) => p.trim()) : undefined,
  };
  return new SafeHtml(linkify(text, options));
}

const MISSING_PARTIAL = /^The partial (.+) could not be found/;

/**
 * Compiles Handlebars templates from the files under `root`, caching them (unless `cache` is
 * false). HTML is escaped: `{{value}}` is escaped, `{{{value}}}` inserted as is.
 *
 * Partials: `{{> name}}` is `partials/name.hbs` under the root, else `name.hbs` (names are
 * relative to the root, `/` separated, `..` refused; a name with an extension is used as is).
 * Layouts are partial blocks: `{{#> layout title="Users"}}…{{/layout}}` renders
 * `partials/layout.hbs`, which puts the block where it says `{{> @partial-block}}`.
 *
 * Each loader has its own Handlebars environment: helpers registered here are not global.
 * Every loader has `linkify` (`{{linkify comment shorten=true}}`, as Tornado's templates do),
 * and the locale helpers `{{_ "Sign out"}}`, `{{_ "%(n)d item" "%(n)d items" n n=n}}`,
 * `{{pgettext "law" "right"}}`, `{{formatDate date}}`, `{{formatDay date}}`,
 * `{{friendlyNumber n}}` and `{{formatList names}}`, which use the `locale` variable (a
 * handler's `locale`) or else the default locale (see `tornado/locale`).
 * Files are read with `fs/promises`, so loading never blocks the event loop.
 *
 * @example
 * const loader = new TemplateLoader("templates");
 * const html = await loader.render("welcome.hbs", { name: "<Ann>" }); // "…Hello, &lt;Ann&gt;…"
 */
export class TemplateLoader {
  /** The folder templates are read from (absolute). */
  readonly root: string;
  /** Whether compiled templates are kept between `load()` calls. */
  readonly cache: boolean;
  private readonly helpers: Record<string, TemplateHelper>;
  private env: Promise<Handlebars> | undefined;
  private templates = new Map<string, Promise<Template>>();
  private files = new Map<string, Promise<CompiledFile>>();

  constructor(root: string, options: TemplateLoaderOptions = {}) {
    this.root = resolve(root);
    this.cache = options.cache ?? true;
    this.helpers = { ...options.helpers };
  }

  /**
   * The template in file `name` (relative to the root) with every partial it uses, compiled.
   * Rejects with `TemplateError` when the file or a syntax is wrong.
   *
   * @example
   * const page = await loader.load("users/list.hbs");
   * page.render({ users });
   */
  load(name: string): Promise<Template> {
    if (!this.cache) return this.loadTemplate(name, new Map());
    let template = this.templates.get(name);
    if (template === undefined) {
      template = this.loadTemplate(name, this.files);
      this.templates.set(name, template);
      // A failure is not kept: the next load tries again (the file may have been fixed).
      template.catch(() => this.templates.delete(name));
    }
    return template;
  }

  /**
   * Compiles template source given as a string; its partials come from the root as usual.
   * Not cached.
   *
   * @example
   * const t = await loader.compile("Hello, {{name}}!");
   * t.render({ name: "Ann" }) // "Hello, Ann!"
   */
  async compile(source: string, name = "<string>"): Promise<Template> {
    const files = this.cache ? this.files : new Map<string, Promise<CompiledFile>>();
    return this.withPartials(await this.compileSource(source, name), files);
  }

  /**
   * Loads and renders `name` with `context`: `load(name)` then `render(context, options)`.
   *
   * @example
   * const html = await loader.render("email/welcome.hbs", { user });
   */
  async render(name: string, context: object = {}, options: RenderOptions = {}): Promise<string> {
    return (await this.load(name)).render(context, options);
  }

  /**
   * Forgets every compiled template, so the next `load()` reads the files again.
   *
   * @example
   * watcher.on("change", () => loader.reset());
   */
  reset(): void {
    this.templates = new Map();
    this.files = new Map();
  }

  private environment(): Promise<Handlebars> {
    return (this.env ??= importHandlebars().then((handlebars) => {
      const env = handlebars.create();
      const helpers: Record<string, TemplateHelper> = { ...env.helpers };
      for (const name of HANDLER_HELPERS) {
        helpers[name] = () => {
          throw new Error(`{{${name}}} needs a request handler: render with handler.render() or handler.renderString()`);
        };
      }
      helpers.linkify = linkifyHelper;
      Object.assign(helpers, LOCALE_HELPERS, this.helpers);
      for (const [name, helper] of Object.entries(helpers)) env.registerHelper(name, placeErrors(helper));
      return env;
    }));
  }

  private async loadTemplate(name: string, files: Map<string, Promise<CompiledFile>>): Promise<Template> {
    const main = await this.compileFile(this.pathOf(name), files);
    if (main === null) throw new TemplateError(`template not found in ${this.root}`, { file: name });
    return this.withPartials(main, files);
  }

  // Loads every partial `main` uses, and the partials those use, by their literal names. A
  // name with no file may be an inline partial ({{#*inline}}): it stays unresolved, and is an
  // error only if rendering needs it.
  private async withPartials(main: CompiledFile, files: Map<string, Promise<CompiledFile>>): Promise<Template> {
    const partials: Record<string, Compiled> = {};
    const seen = new Set<string>();
    const pending = [main];
    for (let unit = pending.pop(); unit !== undefined; unit = pending.pop()) {
      for (const [partialName, line] of unit.partialRefs) {
        if (seen.has(partialName)) continue;
        seen.add(partialName);
        for (const path of this.partialPaths(partialName, { file: unit.file, line })) {
          const found = await this.compileFile(path, files);
          if (found === null) continue;
          partials[partialName] = found.run;
          pending.push(found);
          break;
        }
      }
    }
    return new Template(main, partials, (name) => this.partialPaths(name).map((path) => relativeName(this.root, path)));
  }

  private pathOf(name: string, where: { file?: string; line?: number } = { file: name }): string {
    const path = resolve(this.root, name);
    if (path !== this.root && !path.startsWith(this.root + sep)) {
      throw new TemplateError(`${JSON.stringify(name)} is outside the template folder ${this.root}`, where);
    }
    return path;
  }

  private partialPaths(name: string, where?: { file?: string; line?: number }): string[] {
    const file = /\.[^/\\]+$/.test(name) ? name : `${name}.hbs`;
    return [this.pathOf(`partials/${file}`, where), this.pathOf(file, where)];
  }

  // The compiled file at `path`, or null when there is no such file.
  private compileFile(path: string, files: Map<string, Promise<CompiledFile>>): Promise<CompiledFile | null> {
    let compiled = files.get(path);
    if (compiled === undefined) {
      compiled = readFile(path, "utf8").then(
        (source) => this.compileSource(source, relativeName(this.root, path)),
        (error: NodeJS.ErrnoException) => {
          if (error.code === "ENOENT" || error.code === "EISDIR") return Promise.reject(NOT_FOUND);
          throw error;
        },
      );
      files.set(path, compiled);
      compiled.catch(() => files.delete(path));
    }
    return compiled.catch((error) => {
      if (error === NOT_FOUND) return null;
      throw error;
    });
  }

  private async compileSource(source: string, file: string): Promise<CompiledFile> {
    const env = await this.environment();
    let ast: hbs.AST.Program;
    try {
      ast = env.parse(source);
    } catch (error) {
      throw templateErrorFrom(error, { file });
    }
    const partialRefs = new Map<string, number>();
    collectPartials(ast as unknown as AstNode, partialRefs);
    const template = env.compile(ast);
    // Whatever goes wrong inside this file is marked with its name on the way out; a missing
    // partial with the line where this file uses it.
    const run: Compiled = (context, options) => {
      try {
        return template(context, options);
      } catch (thrown) {
        const { error, place } = placeOf(thrown);
        if (place.file === undefined) {
          place.file = file;
          const missing = error instanceof Error ? MISSING_PARTIAL.exec(error.message) : null;
          if (missing !== null) place.line = partialRefs.get(missing[1]!) ?? place.line;
        }
        throw error;
      }
    };
    return { file, run, partialRefs };
  }
}

const NOT_FOUND = Symbol("not found");

function relativeName(root: string, path: string): string {
  return relative(root, path).split(sep).join("/");
}

// Records the literal partial names used anywhere in the tree, with their first line.
function collectPartials(node: AstNode, refs: Map<string, number>): void {
  if (node.type === "PartialStatement" || node.type === "PartialBlockStatement") {
    const name = node.name as AstNode & { original?: unknown; value?: unknown };
    const literal = name.type === "PathExpression" ? name.original : name.type === "StringLiteral" || name.type === "NumberLiteral" ? name.value : undefined;
    if (literal !== undefined && literal !== "@partial-block" && !refs.has(String(literal))) {
      refs.set(String(literal), node.loc?.start.line ?? 0);
    }
  }
  for (const key in node) {
    if (key === "loc") continue;
    const value = node[key];
    if (Array.isArray(value)) {
      for (const item of value) if (item !== null && typeof item === "object") collectPartials(item as AstNode, refs);
    } else if (value !== null && typeof value === "object") {
      collectPartials(value as AstNode, refs);
    }
  }
}

// A helper whose errors carry the line of the expression that called it.
function placeErrors(helper: TemplateHelper): TemplateHelper {
  return function (this: unknown, ...args: unknown[]) {
    try {
      return helper.apply(this, args);
    } catch (thrown) {
      const { error, place } = placeOf(thrown);
      const options = args[args.length - 1] as { loc?: { start: { line: number } } } | undefined;
      place.line ??= options?.loc?.start.line;
      throw error;
    }
  };
}

/**
 * A compiled template with its partials, from `TemplateLoader.load()` or `compile()`.
 * Rendering is synchronous: everything was read when it was loaded.
 *
 * @example
 * const t = await loader.load("page.hbs");
 * const html = t.render({ title: "Users", users });
 */
export class Template {
  /** The file, relative to the loader's root (`<string>` for compiled source). */
  readonly name: string;
  private readonly main: CompiledFile;
  private readonly partials: Record<string, Compiled>;
  private readonly lookedFor: (partial: string) => string[];

  /** @internal Templates come from `TemplateLoader`. */
  constructor(main: CompiledFile, partials: Record<string, Compiled>, lookedFor: (partial: string) => string[]) {
    this.name = main.file;
    this.main = main;
    this.partials = partials;
    this.lookedFor = lookedFor;
  }

  /**
   * Renders the template with `context` (its names are the template's variables). Throws
   * `TemplateError`, naming the file and line, when a partial or helper is missing or a
   * helper throws.
   *
   * @example
   * t.render({ user: { name: "<Ann>" } }) // "…&lt;Ann&gt;…"
   */
  render(context: object = {}, options: RenderOptions = {}): string {
    const helpers: Record<string, TemplateHelper> = {};
    if (options.helpers) for (const [name, helper] of Object.entries(options.helpers)) helpers[name] = placeErrors(helper);
    try {
      return this.main.run(context, {
        helpers,
        partials: this.partials,
        allowedProtoProperties: ALLOWED_PROTO_PROPERTIES,
      });
    } catch (error) {
      const explained = templateErrorFrom(error, { file: this.name });
      const missing = MISSING_PARTIAL.exec((error as Error | null)?.message ?? "");
      if (missing === null) throw explained;
      const looked = this.lookedFor(missing[1]!).join(" or ");
      throw new TemplateError(`the partial ${JSON.stringify(missing[1])} could not be found (no ${looked}, and no inline partial of that name)`, {
        file: explained.file,
        line: explained.line,
        cause: error,
      });
    }
  }
}

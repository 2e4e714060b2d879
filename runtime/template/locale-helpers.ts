/**
 * The locale helpers every `TemplateLoader` has, as Tornado's templates have `_`, `pgettext`
 * and `locale`: they use the template's `locale` variable (a handler's `render` sets it to
 * `handler.locale`), or the default locale when there is none.
 */

import { interpolate } from "../locale/interpolate.js";
import { Locale } from "../locale/locale.js";

// As loader.ts's TemplateHelper (not imported: loader.ts imports this file).
type TemplateHelper = (this: any, ...args: any[]) => unknown;

interface HelperOptions {
  hash?: Record<string, unknown>;
  data?: { root?: { locale?: unknown } };
}

function split(args: unknown[]): { params: unknown[]; options: HelperOptions } {
  return { params: args.slice(0, -1), options: (args.at(-1) ?? {}) as HelperOptions };
}

function localeOf(options: HelperOptions): Locale {
  const locale = options.data?.root?.locale;
  return locale instanceof Locale ? locale : Locale.get();
}

function text(value: unknown, what: string, helper: string): string {
  if (typeof value !== "string") throw new TypeError(`{{${helper}}} needs ${what} as a string, got ${value === undefined ? "nothing" : typeof value}`);
  return value;
}

function count(value: unknown, helper: string): number {
  const n = Number(value);
  if (value === undefined || value === null || value === "" || !Number.isFinite(n)) throw new TypeError(`{{${helper}}} with a plural message needs a count (a number), got ${JSON.stringify(value)}`);
  return n;
}

function at(value: unknown, helper: string): Date | number {
  if (value instanceof Date || typeof value === "number") return value;
  if (typeof value === "string" && !Number.isNaN(Date.parse(value))) return new Date(value);
  throw new TypeError(`{{${helper}}} needs a Date, milliseconds or an ISO date string, got ${JSON.stringify(value)}`);
}

/**
 * `{{_ "Sign out"}}`, `{{_ "%(n)d item" "%(n)d items" count n=count}}` (the hash fills the
 * placeholders), `{{pgettext "law" "right"}}`, `{{formatDate post.createdAt shorter=true}}`,
 * `{{formatDay day dow=false}}`, `{{friendlyNumber total}}`, `{{formatList names}}`.
 * @internal
 */
export const LOCALE_HELPERS: Record<string, TemplateHelper> = {
  _(...args: unknown[]) {
    const { params, options } = split(args);
    const message = text(params[0], "a message", "_");
    const translated =
      params.length > 1 ? localeOf(options).translate(message, text(params[1], "a plural message", "_"), count(params[2], "_")) : localeOf(options).translate(message);
    return interpolate(translated, options.hash);
  },
  pgettext(...args: unknown[]) {
    const { params, options } = split(args);
    const context = text(params[0], "a context", "pgettext");
    const message = text(params[1], "a message", "pgettext");
    const translated =
      params.length > 2
        ? localeOf(options).pgettext(context, message, text(params[2], "a plural message", "pgettext"), count(params[3], "pgettext"))
        : localeOf(options).pgettext(context, message);
    return interpolate(translated, options.hash);
  },
  formatDate(...args: unknown[]) {
    const { params, options } = split(args);
    return localeOf(options).formatDate(at(params[0], "formatDate"), options.hash ?? {});
  },
  formatDay(...args: unknown[]) {
    const { params, options } = split(args);
    return localeOf(options).formatDay(at(params[0], "formatDay"), options.hash ?? {});
  },
  friendlyNumber(...args: unknown[]) {
    const { params, options } = split(args);
    return localeOf(options).friendlyNumber(Number(params[0]));
  },
  formatList(...args: unknown[]) {
    const { params, options } = split(args);
    const parts = params[0];
    if (!Array.isArray(parts)) throw new TypeError("{{formatList}} needs a list");
    return localeOf(options).list(parts.map(String));
  },
};

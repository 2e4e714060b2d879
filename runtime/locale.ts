/**
 * Translations and local formats, as Tornado's `tornado.locale`: load Tornado's CSV files
 * (`loadTranslations`) or gettext `.po`/`.mo` files (`loadGettextTranslations`), pick a
 * language (`Locale.get`, or `handler.locale` from the user or `Accept-Language`), then
 * `translate` with plurals, `pgettext` with a context, and dates, lists and numbers through
 * `Intl`. Templates rendered by a handler have `{{_ "…"}}` and `locale`.
 *
 * @example
 * import { Locale, interpolate, loadTranslations } from "tornado/locale";
 * loadTranslations("locales");
 * const locale = Locale.get("es_ES");
 * interpolate(locale.translate("%(n)d item", "%(n)d items", 3), { n: 3 });
 */
export { CSVLocale, GettextLocale, Locale, type FormatDateOptions, type FormatDayOptions } from "./locale/locale.js";
export { interpolate } from "./locale/interpolate.js";
export {
  getSupportedLocales,
  loadGettextTranslations,
  loadTranslations,
  setDefaultLocale,
  type LoadTranslationsOptions,
} from "./locale/registry.js";

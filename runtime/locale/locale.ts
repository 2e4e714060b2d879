/**
 * `Locale`: one language's translations (`translate`, `pgettext`) and its way of writing dates,
 * lists and numbers, as Tornado's `tornado.locale.Locale`, with `Intl` doing the formatting a
 * translation file does not cover.
 */

import { genLog } from "../log.js";
import { CONTEXT_SEPARATOR, type Catalog } from "./gettext.js";
import type { CsvTable } from "./csv.js";
import { interpolate, languageTag, roundHalfEven } from "./interpolate.js";
import { closestCode, loaded } from "./registry.js";

/**
 * Options of `Locale.formatDate` (Tornado's `format_date` arguments, in camelCase).
 *
 * @example
 * locale.formatDate(post.createdAt, { gmtOffset: -60, shorter: true });
 */
export interface FormatDateOptions {
  /** Minutes the reader's clock is behind UTC, as `Date.getTimezoneOffset()` gives it (Tornado's `gmt_offset`). Default 0. */
  gmtOffset?: number;
  /** Say "3 minutes ago" for the last 24 hours (default true); false gives the time of day instead. */
  relative?: boolean;
  /** Leave out the time of day ("January 22" rather than "January 22 at 3:04 pm"). Default false. */
  shorter?: boolean;
  /** Always the full date with the year ("January 22, 2026 at 3:04 pm"). Default false; dates in the future always get it. */
  fullFormat?: boolean;
}

/**
 * Options of `Locale.formatDay`.
 *
 * @example
 * locale.formatDay(event.startsAt, { dow: false }); // "January 22"
 */
export interface FormatDayOptions {
  /** As in `FormatDateOptions`. Default 0. */
  gmtOffset?: number;
  /** Start with the day of the week ("Monday, January 22"). Default true. */
  dow?: boolean;
}

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const DAY_MS = 86_400_000;

/**
 * A language to answer in: get one with `Locale.get(...codes)` (or `handler.locale` in a
 * request), then `translate`, `pgettext`, `formatDate`, `formatDay`, `list`, `friendlyNumber`.
 * Messages are the default locale's text (English unless `setDefaultLocale` says otherwise);
 * a message without a translation comes back as it is.
 *
 * A locale whose code is English (`en`, `en_*`) formats as Tornado does ("3 minutes ago",
 * "January 22 at 3:04 pm", "A, B and C"); another language uses its translation of Tornado's
 * message when the files have one, and `Intl` otherwise ("hace 3 minutos", "22 de enero, 15:04",
 * "A, B y C"). `friendlyNumber` always uses `Intl.NumberFormat` (Tornado leaves non-English
 * numbers bare).
 *
 * @example
 * loadTranslations("locales");
 * const es = Locale.get("es_ES", "en_US");
 * es.translate("Sign out"); // "Cerrar sesión"
 * interpolate(es.translate("%(n)d item", "%(n)d items", 3), { n: 3 }); // "3 artículos"
 */
export abstract class Locale {
  /** The locale's code, as in the translation files (`es_ES`, `pt_BR`, `fr`). */
  readonly code: string;
  /** Its BCP 47 language tag, for `Intl` (`es-ES`). */
  readonly tag: string;
  /** Its name in its own language ("español (España)"), from `Intl.DisplayNames`; "Unknown" when Intl has none. */
  readonly name: string;
  /** Whether the language is written right to left (Farsi, Arabic, Hebrew), as Tornado decides. */
  readonly rtl: boolean;

  /**
   * The best locale for `codes`, tried in order: an exact match of a supported code (`es_ES`,
   * `es-es` written either way), else its language (`es`); the default locale when none match.
   * Tornado's `locale.get`. Locales are made once and kept until translations are loaded again.
   *
   * @example
   * Locale.get("fr_CA", "en_US").code // "fr" when only fr.csv was loaded
   */
  static get(...codes: string[]): Locale {
    const code = closestCode(codes);
    const state = loaded();
    let locale = state.cache.get(code);
    if (locale === undefined) {
      const translations = state.translations.get(code);
      locale = translations !== undefined && state.kind === "gettext" ? new GettextLocale(code, translations as Catalog) : new CSVLocale(code, (translations as CsvTable | undefined) ?? {});
      state.cache.set(code, locale);
    }
    return locale;
  }

  /** @internal Use `Locale.get`. */
  protected constructor(code: string) {
    this.code = code;
    this.tag = languageTag(code);
    this.rtl = /^(fa|ar|he)/.test(code);
    let name: string | undefined;
    try {
      name = new Intl.DisplayNames([this.tag], { type: "language" }).of(this.tag);
    } catch {
      name = undefined;
    }
    this.name = name ?? "Unknown";
  }

  /**
   * The translation of `message`; with `pluralMessage` and `count`, the form for `count`
   * (gettext's plural rule, or for CSV files Tornado's singular when `count` is 1 and plural
   * otherwise). Untranslated messages come back as given (`pluralMessage` when `count` is not 1).
   *
   * @example
   * locale.translate("Sign out")
   * interpolate(locale.translate("%(n)d comment", "%(n)d comments", n), { n })
   */
  translate(message: string, pluralMessage?: string, count?: number): string {
    if (pluralMessage !== undefined && count === undefined) throw new TypeError("translate(message, pluralMessage, count): count is required with a plural message");
    return this.lookup(message, pluralMessage, count) ?? (pluralMessage !== undefined && count !== 1 ? pluralMessage : message);
  }

  /**
   * `translate` in a context, for words that translate differently by meaning ("right" as in
   * law, or as a direction): gettext's `msgctxt`. Without a translation in that context, as
   * Tornado: the message itself, or for a plural message its translation without context.
   * CSV files have no contexts (a warning says so when translations are loaded).
   *
   * @example
   * locale.pgettext("law", "right");
   * locale.pgettext("organization", "club", "clubs", clubs.length);
   */
  abstract pgettext(context: string, message: string, pluralMessage?: string, count?: number): string;

  /**
   * The translation, or undefined when the files have none.
   * @internal
   */
  abstract lookup(message: string, pluralMessage?: string, count?: number): string | undefined;

  /** Whether Tornado's own English formats apply (English, or a translation of the format). */
  private tornadoWay(message: string, pluralMessage?: string, count?: number): string | undefined {
    const translated = this.lookup(message, pluralMessage, count);
    if (translated !== undefined) return translated;
    if (this.code === "en" || this.code.startsWith("en_")) return pluralMessage !== undefined && count !== 1 ? pluralMessage : message;
    return undefined;
  }

  /**
   * A date (a `Date` or milliseconds since the epoch) as people write it, as Tornado's
   * `format_date`: within the last 24 hours "1 second ago", "5 minutes ago", "2 hours ago"
   * (`relative: false` gives the time instead); then "yesterday at 3:04 pm", the weekday within
   * 5 days, "January 22 at 3:04 pm" within 11 months, "January 22, 2025 at 3:04 pm" beyond.
   * Dates in the future (more than a minute of clock skew) get the full format.
   *
   * @example
   * locale.formatDate(Date.now() - 180_000)                   // "3 minutes ago"
   * Locale.get("es").formatDate(Date.now() - 180_000)         // "hace 3 minutos" (Intl, untranslated)
   * locale.formatDate(new Date("2020-07-10T15:04Z"), { shorter: true }) // "July 10, 2020"
   */
  formatDate(date: Date | number, options: FormatDateOptions = {}): string {
    const { gmtOffset = 0, relative = true, shorter = false } = options;
    let { fullFormat = false } = options;
    const now = Date.now();
    let at = typeof date === "number" ? date : date.getTime();
    if (!Number.isFinite(at)) throw new TypeError("formatDate needs a valid date");
    if (at > now) {
      if (relative && at - now < 60_000) at = now;
      else fullFormat = true;
    }
    const difference = Math.floor((now - at) / 1000);
    const days = Math.floor(difference / 86_400);
    const seconds = difference - days * 86_400;
    const local = new Date(at - gmtOffset * 60_000);
    const localNow = new Date(now - gmtOffset * 60_000);
    const localYesterday = new Date(localNow.getTime() - DAY_MS);

    if (!fullFormat && relative && days === 0) {
      const [count, unit, one, many] =
        seconds < 50
          ? [seconds, "second", "1 second ago", "%(seconds)d seconds ago"]
          : seconds < 50 * 60
            ? [roundHalfEven(seconds / 60), "minute", "1 minute ago", "%(minutes)d minutes ago"]
            : [roundHalfEven(seconds / 3600), "hour", "1 hour ago", "%(hours)d hours ago"];
      const text = this.tornadoWay(one, many, count);
      if (text !== undefined) return interpolate(text, { [`${unit}s`]: count });
      return new Intl.RelativeTimeFormat(this.tag, { numeric: "always" }).format(-count, unit as Intl.RelativeTimeFormatUnit);
    }
    let format: string | undefined;
    let intl: Intl.DateTimeFormatOptions | "yesterday" | undefined;
    const time = { hour: "numeric", minute: "2-digit" } as const;
    if (!fullFormat) {
      if (days === 0) [format, intl] = ["%(time)s", time];
      else if (days === 1 && local.getUTCDate() === localYesterday.getUTCDate() && relative) {
        [format, intl] = shorter ? ["yesterday", "yesterday"] : ["yesterday at %(time)s", { weekday: "long", ...time }];
      } else if (days < 5) [format, intl] = shorter ? ["%(weekday)s", { weekday: "long" }] : ["%(weekday)s at %(time)s", { weekday: "long", ...time }];
      else if (days < 334) {
        [format, intl] = shorter ? ["%(month_name)s %(day)s", { month: "long", day: "numeric" }] : ["%(month_name)s %(day)s at %(time)s", { month: "long", day: "numeric", ...time }];
      }
    }
    if (format === undefined || intl === undefined) {
      [format, intl] = shorter
        ? ["%(month_name)s %(day)s, %(year)s", { year: "numeric", month: "long", day: "numeric" }]
        : ["%(month_name)s %(day)s, %(year)s at %(time)s", { year: "numeric", month: "long", day: "numeric", ...time }];
    }
    const pattern = this.tornadoWay(format);
    if (pattern === undefined) {
      if (intl === "yesterday") return new Intl.RelativeTimeFormat(this.tag, { numeric: "auto" }).format(-1, "day");
      return new Intl.DateTimeFormat(this.tag, { ...intl, timeZone: "UTC" }).format(local);
    }
    return interpolate(pattern, {
      month_name: this.monthName(local),
      weekday: this.weekdayName(local),
      day: String(local.getUTCDate()),
      year: String(local.getUTCFullYear()),
      time: this.timeOfDay(local),
    });
  }

  /**
   * A date as its day, as Tornado's `format_day`: "Monday, January 22", or "January 22" with
   * `dow: false`.
   *
   * @example
   * locale.formatDay(new Date("2018-01-22T12:00Z")) // "Monday, January 22"
   */
  formatDay(date: Date | number, options: FormatDayOptions = {}): string {
    const { gmtOffset = 0, dow = true } = options;
    const local = new Date((typeof date === "number" ? date : date.getTime()) - gmtOffset * 60_000);
    const format = dow ? "%(weekday)s, %(month_name)s %(day)s" : "%(month_name)s %(day)s";
    const pattern = this.tornadoWay(format);
    if (pattern === undefined) {
      return new Intl.DateTimeFormat(this.tag, { ...(dow ? { weekday: "long" } : {}), month: "long", day: "numeric", timeZone: "UTC" }).format(local);
    }
    return interpolate(pattern, { month_name: this.monthName(local), weekday: this.weekdayName(local), day: String(local.getUTCDate()) });
  }

  /**
   * Joins `parts` as a sentence would: "A, B and C", "A and B", "A" (Tornado's `list`), or the
   * language's own way through `Intl.ListFormat`.
   *
   * @example
   * locale.list(["Ann", "Bob", "Cy"]) // "Ann, Bob and Cy"
   */
  list(parts: readonly string[]): string {
    if (parts.length === 0) return "";
    if (parts.length === 1) return parts[0]!;
    const pattern = this.tornadoWay("%(commas)s and %(last)s");
    if (pattern === undefined) return new Intl.ListFormat(this.tag, { type: "conjunction" }).format(parts);
    const comma = this.code.startsWith("fa") ? " \u0648 " : ", ";
    return interpolate(pattern, { commas: parts.slice(0, -1).join(comma), last: parts[parts.length - 1] });
  }

  /**
   * A number with the language's digit grouping, through `Intl.NumberFormat` ("1,234,567";
   * "1.234.567" in German).
   *
   * @example
   * locale.friendlyNumber(1234567) // "1,234,567"
   */
  friendlyNumber(value: number | bigint): string {
    return new Intl.NumberFormat(this.tag).format(value);
  }

  private monthName(local: Date): string {
    const english = MONTHS[local.getUTCMonth()]!;
    return this.tornadoWay(english) ?? new Intl.DateTimeFormat(this.tag, { month: "long", timeZone: "UTC" }).format(local);
  }

  private weekdayName(local: Date): string {
    const english = WEEKDAYS[local.getUTCDay()]!;
    return this.tornadoWay(english) ?? new Intl.DateTimeFormat(this.tag, { weekday: "long", timeZone: "UTC" }).format(local);
  }

  // Tornado's clocks: 12-hour with "am"/"pm" in English, 上午/下午 in zh_CN, 24-hour elsewhere.
  private timeOfDay(local: Date): string {
    const hour = local.getUTCHours();
    const minute = String(local.getUTCMinutes()).padStart(2, "0");
    if (this.code === "en" || this.code === "en_US") return `${hour % 12 || 12}:${minute} ${hour >= 12 ? "pm" : "am"}`;
    if (this.code === "zh_CN") return `${hour >= 12 ? "\u4e0b\u5348" : "\u4e0a\u5348"}${hour % 12 || 12}:${minute}`;
    return `${hour}:${minute}`;
  }
}

/**
 * A locale whose translations come from Tornado's CSV files (`loadTranslations`).
 *
 * @example
 * const locale = Locale.get("es"); // a CSVLocale after loadTranslations("locales")
 * locale instanceof CSVLocale      // true
 */
export class CSVLocale extends Locale {
  private readonly table: CsvTable;

  /** @internal Use `Locale.get`. */
  constructor(code: string, table: CsvTable) {
    super(code);
    this.table = table;
  }

  /** @internal */
  lookup(message: string, pluralMessage?: string, count?: number): string | undefined {
    if (pluralMessage === undefined) return this.table.unknown?.get(message);
    return count !== 1 ? this.table.plural?.get(pluralMessage) : this.table.singular?.get(message);
  }

  /**
   * CSV files have no contexts: `translate(message, …)`, with a warning when this locale has
   * translations (as Tornado's `CSVLocale.pgettext`).
   *
   * @example
   * locale.pgettext("law", "right") // locale.translate("right"), and a warning
   */
  pgettext(_context: string, message: string, pluralMessage?: string, count?: number): string {
    if (Object.keys(this.table).length > 0) genLog.warning("pgettext is not supported by CSVLocale");
    return this.translate(message, pluralMessage, count);
  }
}

/**
 * A locale whose translations come from gettext `.po`/`.mo` files (`loadGettextTranslations`).
 * Plural forms follow the file's `Plural-Forms` header; without one, the language's
 * `Intl.PluralRules` categories in CLDR order (zero, one, two, few, many, other).
 *
 * @example
 * loadGettextTranslations("locale", "messages");
 * Locale.get("ru").translate("%(n)d file", "%(n)d files", 5) // "%(n)d файлов"
 */
export class GettextLocale extends Locale {
  private readonly catalog: Catalog;
  private rules: Intl.PluralRules | undefined;

  /** @internal Use `Locale.get`. */
  constructor(code: string, catalog: Catalog) {
    super(code);
    this.catalog = catalog;
  }

  /** @internal */
  lookup(message: string, pluralMessage?: string, count?: number): string | undefined {
    const forms = this.catalog.messages.get(message);
    if (forms === undefined) return undefined;
    if (pluralMessage === undefined) return forms[0];
    return forms[this.formIndex(count!, forms.length)];
  }

  /**
   * `translate` with gettext's `msgctxt`, as Tornado's `GettextLocale.pgettext`.
   *
   * @example
   * locale.pgettext("law", "right")     // "derecho"
   * locale.pgettext("direction", "right") // "derecha"
   */
  pgettext(context: string, message: string, pluralMessage?: string, count?: number): string {
    if (pluralMessage !== undefined && count === undefined) throw new TypeError("pgettext(context, message, pluralMessage, count): count is required with a plural message");
    const found = this.lookup(context + CONTEXT_SEPARATOR + message, pluralMessage, count);
    if (found !== undefined) return found;
    return pluralMessage === undefined ? message : this.translate(message, pluralMessage, count);
  }

  private formIndex(count: number, forms: number): number {
    if (this.catalog.plural !== undefined) return this.catalog.plural.plural(count);
    this.rules ??= new Intl.PluralRules(this.tag);
    const order = ["zero", "one", "two", "few", "many", "other"].filter((c) => this.rules!.resolvedOptions().pluralCategories.includes(c as Intl.LDMLPluralRule));
    return Math.min(order.indexOf(this.rules.select(count)), forms - 1);
  }
}

/**
 * A handler's locale (Tornado's `RequestHandler.locale`, `get_user_locale`,
 * `get_browser_locale`): chosen once per request, from the user or from `Accept-Language`, and
 * given to templates as `locale` (with `{{_ "…"}}` translating through it).
 */

import { Locale } from "../../locale/locale.js";
import { HandlerStream } from "./stream.js";

// Longer headers are cut here: nobody lists this many languages, and parsing stays cheap.
const MAX_LANGUAGES = 64;

/**
 * The locale methods of `RequestHandler` (`locale`, `getUserLocale`, `getBrowserLocale`). Not
 * used on its own.
 * @internal
 */
export abstract class HandlerLocale extends HandlerStream {
  private chosenLocale: Locale | undefined;

  /**
   * The locale for this request, chosen the first time it is read: `getUserLocale()` when it
   * gives one, else `getBrowserLocale()`. Assign it to choose yourself (in `prepare()`, after
   * an async look-up, say).
   *
   * @example
   * this.write(this.locale.translate("Welcome"));
   * override async prepare() { this.locale = Locale.get((await this.settings.db.user(id)).language); }
   */
  get locale(): Locale {
    if (this.chosenLocale === undefined) {
      const user = this.getUserLocale();
      this.chosenLocale = user === null || user === undefined ? this.getBrowserLocale() : typeof user === "string" ? Locale.get(user) : user;
    }
    return this.chosenLocale;
  }

  set locale(value: Locale) {
    this.chosenLocale = value;
  }

  /**
   * Override to give the user's own locale (a `Locale`, or a code for `Locale.get`); `null`
   * (the default) means "use the browser's" (`Accept-Language`).
   *
   * @example
   * override getUserLocale() {
   *   const code = this.getCookie("lang");
   *   return code === undefined ? null : Locale.get(code);
   * }
   */
  getUserLocale(): Locale | string | null | undefined {
    return null;
  }

  /**
   * The locale the request's `Accept-Language` asks for, as Tornado's `get_browser_locale`:
   * languages by `q` weight (highest first, ties in the order given, `q=0` and malformed
   * weights dropped), matched with `Locale.get`; `defaultCode` (then the default locale) when
   * the header is missing or names nothing supported.
   *
   * @example
   * // Accept-Language: fr-CH, fr;q=0.9, en;q=0.8
   * this.getBrowserLocale().code // "fr" when fr.csv is loaded
   */
  getBrowserLocale(defaultCode = "en_US"): Locale {
    const header = this.request.headers.get("Accept-Language");
    if (header !== undefined) {
      const codes = browserLanguages(header);
      if (codes.length > 0) return Locale.get(...codes);
    }
    return Locale.get(defaultCode);
  }

  /**
   * Adds `locale` (this request's) to what templates see, so that `{{_ "…"}}` translates into it.
   *
   * @example
   * // templates/home.hbs: <a href="/logout">{{_ "Sign out"}}</a> ({{locale.name}})
   */
  override async getTemplateNamespace(): Promise<Record<string, unknown>> {
    return { ...(await super.getTemplateNamespace()), locale: this.locale };
  }
}

/** The languages of an `Accept-Language` value, best first. */
function browserLanguages(header: string): string[] {
  const weighted: { code: string; score: number; at: number }[] = [];
  const entries = header.split(",", MAX_LANGUAGES);
  for (let at = 0; at < entries.length; at++) {
    const parts = entries[at]!.trim().split(";");
    const code = parts[0]!.trim();
    let score = 1;
    const q = parts[1]?.trim();
    if (q !== undefined && q.startsWith("q=")) {
      // Tornado: a weight that is not a number (or is negative) counts as 0.
      score = /^\d+(\.\d*)?$|^\.\d+$/.test(q.slice(2)) ? Number(q.slice(2)) : 0;
    }
    if (score > 0 && code !== "" && code !== "*") weighted.push({ code, score, at });
  }
  weighted.sort((a, b) => b.score - a.score || a.at - b.at);
  return weighted.map((w) => w.code);
}

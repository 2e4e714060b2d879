/**
 * The translations loaded for the process, as Tornado keeps them in `tornado.locale`: the
 * default locale, the supported codes, and `loadTranslations` / `loadGettextTranslations`.
 */

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { genLog } from "../log.js";
import { csvTranslations, decodeCsv, type CsvTable } from "./csv.js";
import { parseMo, parsePo, type Catalog } from "./gettext.js";

interface State {
  defaultCode: string;
  kind: "csv" | "gettext";
  translations: Map<string, CsvTable | Catalog>;
  supported: ReadonlySet<string>;
  /** Locales made so far, by code (`Locale.get` fills it). */
  cache: Map<string, any>;
}

const state: State = { defaultCode: "en_US", kind: "csv", translations: new Map(), supported: new Set(["en_US"]), cache: new Map() };

/** @internal */
export function loaded(): State {
  return state;
}

function refresh(): void {
  state.supported = new Set([...state.translations.keys(), state.defaultCode]);
  state.cache.clear();
}

/**
 * Sets the locale messages are written in (default `en_US`): it needs no translation file,
 * is always supported, and is what `Locale.get` falls back to. Tornado's `set_default_locale`.
 *
 * @example
 * setDefaultLocale("fr_FR"); // the app's strings are French; es.csv maps French to Spanish
 */
export function setDefaultLocale(code: string): void {
  state.defaultCode = code;
  refresh();
}

/**
 * The codes `Locale.get` can answer with: the loaded translations' and the default locale's.
 *
 * @example
 * loadTranslations("locales");
 * [...getSupportedLocales()].sort() // ["en_US", "es_ES", "fr"]
 */
export function getSupportedLocales(): ReadonlySet<string> {
  return state.supported;
}

/**
 * Options of `loadTranslations`.
 *
 * @example
 * loadTranslations("locales", { encoding: "latin1" });
 */
export interface LoadTranslationsOptions {
  /** The files' encoding; by default UTF-16 when a file starts with its byte-order mark, else UTF-8. */
  encoding?: BufferEncoding;
}

/**
 * Loads Tornado's CSV translations from `directory`: one `LOCALE.csv` per language (`es_ES.csv`,
 * `fr.csv`) with rows `"phrase","translation"` and an optional third column `plural`,
 * `singular` or `unknown` (a phrase may have a singular and a plural row). Replaces what was
 * loaded before. A file named after no locale, or a row with another third column, is logged
 * on `tornado.general` and skipped, as Tornado does. Synchronous: call it at startup.
 *
 * @example
 * // locales/es_ES.csv:
 * //   "Sign out","Cerrar sesión"
 * //   "%(name)s liked this","A %(name)s les gustó esto","plural"
 * //   "%(name)s liked this","A %(name)s le gustó esto","singular"
 * loadTranslations("locales");
 */
export function loadTranslations(directory: string, options: LoadTranslationsOptions = {}): void {
  const translations = new Map<string, CsvTable>();
  for (const file of readdirSync(directory).sort()) {
    if (!file.endsWith(".csv")) continue;
    const code = file.slice(0, -4);
    const path = join(directory, file);
    if (!/^[a-z]+(_[A-Z]+)?$/.test(code)) {
      genLog.error(`Unrecognized locale ${JSON.stringify(code)} (path: ${path})`);
      continue;
    }
    const { table, problems } = csvTranslations(decodeCsv(readFileSync(path), options.encoding));
    for (const problem of problems) genLog.error(`${problem.message} in ${file} line ${problem.line}`);
    translations.set(code, table);
  }
  state.kind = "csv";
  state.translations = translations;
  refresh();
  genLog.debug(`Supported locales: ${[...state.supported].sort().join(", ")}`);
}

/**
 * Loads gettext translations from a locale tree as `/usr/share/locale` lays it out:
 * `directory/LANG/LC_MESSAGES/DOMAIN.po` (or the `.mo` that `msgfmt` compiles from it, which is
 * read when both are there). Plurals follow each file's `Plural-Forms`; `msgctxt` gives
 * `pgettext` its contexts; fuzzy and untranslated entries are left out, as `msgfmt` does.
 * Replaces what was loaded before; a file that cannot be read is logged on `tornado.general`
 * and skipped. Tornado's `load_gettext_translations`, with `.po` files read directly.
 *
 * @example
 * // locale/es/LC_MESSAGES/messages.po, locale/ru/LC_MESSAGES/messages.po
 * loadGettextTranslations("locale", "messages");
 * Locale.get("ru").translate("file", "files", 3);
 */
export function loadGettextTranslations(directory: string, domain: string): void {
  const translations = new Map<string, Catalog>();
  for (const lang of readdirSync(directory).sort()) {
    const base = join(directory, lang, "LC_MESSAGES", domain);
    const file = existsSync(base + ".mo") ? base + ".mo" : existsSync(base + ".po") ? base + ".po" : undefined;
    if (file === undefined) continue;
    try {
      const bytes = readFileSync(file);
      translations.set(lang, file.endsWith(".mo") ? parseMo(bytes, file) : parsePo(bytes.toString("utf8"), file));
    } catch (error) {
      genLog.error(`Cannot load translation for '${lang}': ${(error as Error).message}`);
    }
  }
  state.kind = "gettext";
  state.translations = translations;
  refresh();
  genLog.debug(`Supported locales: ${[...state.supported].sort().join(", ")}`);
}

/**
 * The supported code closest to `codes` (Tornado's `Locale.get_closest`): each in order, as
 * given (`es-es` and `es_ES` alike) then its language alone; the default when none match.
 * @internal
 */
export function closestCode(codes: readonly string[]): string {
  for (let code of codes) {
    if (!code) continue;
    code = code.replace(/-/g, "_");
    const parts = code.split("_");
    if (parts.length > 2) continue;
    if (parts.length === 2) code = parts[0]!.toLowerCase() + "_" + parts[1]!.toUpperCase();
    if (state.supported.has(code)) return code;
    const language = parts[0]!.toLowerCase();
    if (state.supported.has(language)) return language;
  }
  return state.defaultCode;
}

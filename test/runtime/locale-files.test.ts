/** Translation files as Tornado and gettext write them, the default locale, and the formats. */

import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import {
  CSVLocale,
  GettextLocale,
  Locale,
  TemplateLoader,
  expectLog,
  getSupportedLocales,
  interpolate,
  loadGettextTranslations,
  loadTranslations,
  setDefaultLocale,
} from "../../runtime/index.js";

const fixtures = fileURLToPath(new URL("../fixtures/locale/", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "locale-files-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let dirs = 0;
function folder(files: Record<string, string | Buffer>): string {
  const dir = join(scratch, String(dirs++));
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

beforeEach(() => {
  setDefaultLocale("en_US");
  loadTranslations(folder({}));
});

describe("loadTranslations (Tornado's CSV)", () => {
  it("reads quoted fields, doubled quotes, line breaks in quotes, CRLF and spaces around fields", () => {
    loadTranslations(join(fixtures, "csv"));
    const es = Locale.get("es");
    expect(es).toBeInstanceOf(CSVLocale);
    expect(es.translate('Hello, "%(name)s"')).toBe('Hola, "%(name)s"');
    expect(es.translate("Two\nlines")).toBe("Dos\nlíneas");
    expect(Locale.get("fr").translate("Sign out")).toBe("Se déconnecter");
    expect([...getSupportedLocales()].sort()).toEqual(["en_US", "es", "fr", "pt_BR"]);
    const dir = folder({ "de.csv": ' Sign out , Abmelden \nonly one field\n\n"x","y","",extra\n' });
    loadTranslations(dir);
    expect(Locale.get("de").translate("Sign out")).toBe("Abmelden");
    expect(Locale.get("de").translate("x")).toBe("y");
    expect(Locale.get("de").translate("only one field")).toBe("only one field");
    expect([...getSupportedLocales()].sort()).toEqual(["de", "en_US"]);
  });

  it("reads UTF-16 (with its byte-order mark) and UTF-8 with a mark, as Excel writes them", () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('"Sign out","Выйти"\r\n', "utf16le")]);
    const utf16be = Buffer.from(utf16);
    utf16be.swap16();
    const dir = folder({ "ru.csv": utf16, "uk.csv": utf16be, "de.csv": Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('"Sign out","Abmelden"\n')]) });
    loadTranslations(dir);
    expect(Locale.get("ru").translate("Sign out")).toBe("Выйти");
    expect(Locale.get("uk").translate("Sign out")).toBe("Выйти");
    expect(Locale.get("de").translate("Sign out")).toBe("Abmelden");
  });

  it("logs and skips a file named after no locale and a row with an unknown plural column, as Tornado", async () => {
    const dir = folder({ "Spanish.csv": '"a","b"\n', "es_ES.csv": '"a","b"\n"c","d","many"\n"e","f","singular"\n', "notes.txt": "ignored" });
    await expectLog("tornado.general", /^Unrecognized locale "Spanish" \(path: .*Spanish\.csv\)$/, () =>
      expectLog("tornado.general", 'Unrecognized plural indicator "many" in es_ES.csv line 2', () => loadTranslations(dir)),
    );
    expect([...getSupportedLocales()].sort()).toEqual(["en_US", "es_ES"]);
    expect(Locale.get("es_ES").translate("c")).toBe("c");
    expect(Locale.get("es_ES").translate("e", "es", 1)).toBe("f");
  });

  it("warns that CSV files have no contexts when pgettext is used, and translates without one", async () => {
    loadTranslations(join(fixtures, "csv"));
    expect(await expectLog("tornado.general", "pgettext is not supported by CSVLocale", () => Locale.get("es").pgettext("menu", "Sign out"))).toBe("Cerrar sesión");
    // The default locale has no translations: no warning.
    expect(Locale.get("en_US").pgettext("menu", "Sign out")).toBe("Sign out");
  });

  it("needs a count with a plural message", () => {
    expect(() => Locale.get().translate("a", "b")).toThrow("count is required with a plural message");
  });
});

describe("Locale.get and the default locale", () => {
  it("matches exactly, then by language, else falls back to the default, as Tornado's get_closest", () => {
    loadTranslations(join(fixtures, "csv"));
    expect(Locale.get("es_MX").code).toBe("es");
    expect(Locale.get("pt").code).toBe("en_US");
    expect(Locale.get("xx", "pt-BR").code).toBe("pt_BR");
    expect(Locale.get("a_b_c", "", "fr-ca").code).toBe("fr");
    expect(Locale.get().code).toBe("en_US");
    expect(Locale.get("es")).toBe(Locale.get("es-AR"));
  });

  it("setDefaultLocale makes another language the source one, always supported", () => {
    loadTranslations(join(fixtures, "csv"));
    setDefaultLocale("fr");
    expect(Locale.get("de").code).toBe("fr");
    setDefaultLocale("de_DE");
    expect([...getSupportedLocales()].sort()).toEqual(["de_DE", "es", "fr", "pt_BR"]);
    expect(Locale.get("de").code).toBe("de_DE");
    expect(Locale.get("de").translate("Abmelden")).toBe("Abmelden");
  });

  it("names the language in itself, and knows which are written right to left", () => {
    expect([Locale.get().name, Locale.get().rtl, Locale.get().tag]).toEqual(["American English", false, "en-US"]);
    setDefaultLocale("ar");
    expect([Locale.get().name, Locale.get().rtl]).toEqual(["العربية", true]);
    setDefaultLocale("fa_IR");
    expect(Locale.get().rtl).toBe(true);
  });
});

describe("loadGettextTranslations", () => {
  it("reads the .mo files msgfmt compiles exactly as the .po files they come from", (context) => {
    if (spawnSync("msgfmt", ["--version"]).error) {
      if (process.env.CI === "true") throw new Error("msgfmt (Debian's gettext) is needed for this test: apt-get install gettext");
      console.warn("skipped: msgfmt is not installed (apt-get install gettext)");
      context.skip();
    }
    const po = join(fixtures, "gettext/ru/LC_MESSAGES/messages.po");
    const dir = folder({});
    mkdirSync(join(dir, "ru/LC_MESSAGES"), { recursive: true });
    execFileSync("msgfmt", ["-o", join(dir, "ru/LC_MESSAGES/messages.mo"), po]);
    const ask = () => {
      const ru = Locale.get("ru");
      return [
        ...[1, 3, 5, 21].map((n) => interpolate(ru.translate("%(n)d file", "%(n)d files", n), { n })),
        ru.pgettext("law", "right"),
        ru.pgettext("organization", "club", "clubs", 2),
        ru.translate("A long message"),
        ru.translate("Draft"),
        ru.translate("Untranslated"),
      ];
    };
    loadGettextTranslations(dir, "messages");
    expect(Locale.get("ru")).toBeInstanceOf(GettextLocale);
    const fromMo = ask();
    copyFileSync(po, join(dir, "ru/LC_MESSAGES/messages.po"));
    rmSync(join(dir, "ru/LC_MESSAGES/messages.mo"));
    loadGettextTranslations(dir, "messages");
    expect(ask()).toEqual(fromMo);
    expect(fromMo).toEqual(["1 файл", "3 файла", "5 файлов", "21 файл", "право", "клуба", 'Длинное сообщение "в кавычках"', "Draft", "Untranslated"]);
  });

  it("logs a file it cannot read and loads the others", async () => {
    const dir = folder({
      "de/LC_MESSAGES/messages.po": 'msgid "a"\nmsgstr "b"\nthis is not po\n',
      "it/LC_MESSAGES/messages.po": 'msgid ""\nmsgstr "Plural-Forms: nplurals=2; plural=n >< 1;\\n"\n',
      "nl/LC_MESSAGES/messages.mo": "not a mo file at all, really",
      "fr/LC_MESSAGES/messages.po": 'msgid "a"\nmsgstr "b"\n',
      "es/LC_MESSAGES/other.po": 'msgid "a"\nmsgstr "c"\n',
    });
    await expectLog("tornado.general", /^Cannot load translation for 'de': .*messages\.po:3: cannot read "this is not po"$/, () =>
      expectLog("tornado.general", /^Cannot load translation for 'it': .*Unexpected ">< 1"|^Cannot load translation for 'it': .*Unexpected/, () =>
        expectLog("tornado.general", /^Cannot load translation for 'nl': .*is not a \.mo file/, () => loadGettextTranslations(dir, "messages")),
      ),
    );
    expect([...getSupportedLocales()].sort()).toEqual(["en_US", "fr"]);
    expect(Locale.get("fr").translate("a")).toBe("b");
  });

  it("follows any C plural expression gettext allows", () => {
    const dir = folder({
      "ar/LC_MESSAGES/m.po": [
        'msgid ""',
        'msgstr "Plural-Forms: nplurals=6; plural=(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : n%100>=11 ? 4 : 5);\\n"',
        'msgid "x"',
        'msgid_plural "xs"',
        ...[0, 1, 2, 3, 4, 5].map((i) => `msgstr[${i}] "form${i}"`),
      ].join("\n"),
      "ja/LC_MESSAGES/m.po": 'msgid ""\nmsgstr "Plural-Forms: nplurals=1; plural=0;\\n"\nmsgid "x"\nmsgid_plural "xs"\nmsgstr[0] "X"\n',
      "fr/LC_MESSAGES/m.po": 'msgid ""\nmsgstr "Plural-Forms: nplurals=2; plural=(n > 1);\\n"\nmsgid "x"\nmsgid_plural "xs"\nmsgstr[0] "un"\nmsgstr[1] "des"\n',
    });
    loadGettextTranslations(dir, "m");
    expect([0, 1, 2, 7, 11, 100, 102].map((n) => Locale.get("ar").translate("x", "xs", n))).toEqual(["form0", "form1", "form2", "form3", "form4", "form5", "form5"]);
    expect([0, 1, 5].map((n) => Locale.get("ja").translate("x", "xs", n))).toEqual(["X", "X", "X"]);
    expect([0, 1, 2].map((n) => Locale.get("fr").translate("x", "xs", n))).toEqual(["un", "un", "des"]);
  });
});

describe("outside a handler", () => {
  it("gives TemplateLoader templates the locale helpers, in the template's locale variable or the default", async () => {
    loadTranslations(join(fixtures, "csv"));
    const dir = folder({ "mail.hbs": '{{_ "Sign out"}} {{_ "%(n)d item" "%(n)d items" n n=n}} {{formatList names}} {{friendlyNumber 1234.5}}' });
    const loader = new TemplateLoader(dir);
    expect(await loader.render("mail.hbs", { n: 2, names: ["A", "B"] })).toBe("Sign out 2 items A and B 1,234.5");
    expect(await loader.render("mail.hbs", { n: 1, names: ["A", "B"], locale: Locale.get("es") })).toBe("Cerrar sesión 1 artículo A y B 1234,5");
  });

  it("never finds Object.prototype's properties as codes, messages or values", () => {
    loadTranslations(join(fixtures, "csv"));
    for (const name of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
      expect(Locale.get(name).code).toBe("en_US");
      expect(Locale.get("es").translate(name)).toBe(name);
      expect(Locale.get("es").translate(name, name, 2)).toBe(name);
      expect(() => interpolate(`%(${name})s`, {})).toThrow(`No value for %(${name})s`);
    }
  });
});

describe("formats", () => {
  const MINUTE = 60_000;
  const DAY = 86_400_000;

  it("formats dates as Tornado's English format_date", () => {
    const en = Locale.get("en_US");
    const now = Date.now();
    expect(en.formatDate(new Date(Date.UTC(2013, 3, 28, 18, 35)), { fullFormat: true })).toBe("April 28, 2013 at 6:35 pm");
    expect(en.formatDate(now - 2000)).toBe("2 seconds ago");
    expect(en.formatDate(now - 1000)).toBe("1 second ago");
    expect(en.formatDate(now - 2 * MINUTE)).toBe("2 minutes ago");
    expect(en.formatDate(now - 2 * 60 * MINUTE)).toBe("2 hours ago");
    expect(en.formatDate(now + 10_000)).toBe("0 seconds ago");
    expect(en.formatDate(now - DAY, { shorter: true })).toBe("yesterday");
    const weekday = new Date(now - 2 * DAY).toLocaleDateString("en-US", { weekday: "long", timeZone: "UTC" });
    expect(en.formatDate(now - 2 * DAY, { shorter: true })).toBe(weekday);
    const d300 = new Date(now - 300 * DAY);
    expect(en.formatDate(d300, { shorter: true })).toBe(`${d300.toLocaleDateString("en-US", { month: "long", timeZone: "UTC" })} ${d300.getUTCDate()}`);
    const d500 = new Date(now - 500 * DAY);
    expect(en.formatDate(d500, { shorter: true })).toBe(`${d500.toLocaleDateString("en-US", { month: "long", timeZone: "UTC" })} ${d500.getUTCDate()}, ${d500.getUTCFullYear()}`);
    // gmtOffset: minutes behind UTC, as getTimezoneOffset() gives them.
    expect(en.formatDate(Date.UTC(2013, 3, 28, 18, 35), { fullFormat: true, gmtOffset: 300 })).toBe("April 28, 2013 at 1:35 pm");
    expect(en.formatDate(Date.UTC(2013, 3, 28, 0, 5), { fullFormat: true })).toBe("April 28, 2013 at 12:05 am");
    expect(en.formatDay(new Date(Date.UTC(2013, 3, 28, 18, 35)))).toBe("Sunday, April 28");
    expect(en.formatDay(new Date(Date.UTC(2013, 3, 28, 18, 35)), { dow: false })).toBe("April 28");
    expect(Locale.get().formatDate(Date.UTC(2013, 3, 28, 18, 35), { fullFormat: true })).toBe("April 28, 2013 at 6:35 pm");
  });

  it("uses the translation of Tornado's messages when there is one, and Intl otherwise", () => {
    loadTranslations(join(fixtures, "csv"));
    const es = Locale.get("es");
    const now = Date.now();
    expect(es.formatDate(now - 60_000)).toBe("hace un minuto");
    expect(es.formatDate(now - 5 * 60_000)).toBe("hace 5 minutos");
    expect(es.formatDate(now - 2 * 3_600_000)).toBe("hace 2 horas");
    // ICU versions differ in the words between date and time ("," or "a las").
    expect(es.formatDate(Date.UTC(2013, 3, 28, 18, 35), { fullFormat: true })).toMatch(/^28 de abril de 2013\b.* 18:35$/);
    expect(es.formatDay(Date.UTC(2013, 3, 28, 18, 35))).toBe("domingo, 28 de abril");
    expect(Locale.get("fr").formatDate(Date.UTC(2013, 3, 28, 18, 35), { fullFormat: true, shorter: true })).toBe("28 avril 2013");
  });

  it("joins lists and groups digits", () => {
    loadTranslations(join(fixtures, "csv"));
    const en = Locale.get("en_US");
    expect([en.list([]), en.list(["A"]), en.list(["A", "B"]), en.list(["A", "B", "C"])]).toEqual(["", "A", "A and B", "A, B and C"]);
    expect(Locale.get("es").list(["A", "B", "C"])).toBe("A, B y C");
    expect(en.friendlyNumber(1_000_000)).toBe("1,000,000");
    expect(Locale.get("es").friendlyNumber(1_234_567)).toBe("1.234.567");
    expect(Locale.get("fr").friendlyNumber(1_234_567)).toBe("1\u202f234\u202f567");
  });

  it("fills Python-style placeholders and says which one has no value", () => {
    expect(interpolate("%(n)d%% of %(name)s", { n: 42.7, name: "Ann" })).toBe("42% of Ann");
    expect(() => interpolate("%(name)s liked this", {})).toThrow('No value for %(name)s in "%(name)s liked this"');
  });
});

/** The locale of a request, translations and formats, seen through real HTTP requests. */

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { Locale, RequestHandler, TemplateLoader, expectLog, interpolate, loadGettextTranslations, loadTranslations, setDefaultLocale } from "../../runtime/index.js";
import { RawConnection } from "../helpers/raw.js";
import { servePerTest } from "../helpers/serve.js";

const fixtures = fileURLToPath(new URL("../fixtures/locale/", import.meta.url));
const serve = servePerTest();
const templates = mkdtempSync(join(tmpdir(), "locale-templates-"));
afterAll(() => rmSync(templates, { recursive: true, force: true }));

/** Says which locale the request got and how it says "Sign out". */
class Hello extends RequestHandler {
  get() {
    this.write({ code: this.locale.code, text: this.locale.translate("Sign out") });
  }
}

/** "%(n)d item(s)" in the request's locale. */
class Items extends RequestHandler {
  get(n: string) {
    const count = Number(n);
    this.finish(interpolate(this.locale.translate("%(n)d item", "%(n)d items", count), { n: count }));
  }
}

/** The locale comes from a `lang` cookie when there is one, else from the browser. */
class CookieLocale extends Hello {
  override getUserLocale() {
    const code = this.getCookie("lang");
    return code === undefined ? null : Locale.get(code);
  }
}

/** Chooses the locale after an async look-up in prepare(). */
class PreparedLocale extends Hello {
  override async prepare() {
    const code = await new Promise<string>((resolve) => setImmediate(() => resolve(this.getArgument("lang", "en_US")!)));
    this.locale = Locale.get(code);
  }
}

async function localeFor(t: { fetch: (path: string, init?: RequestInit) => Promise<Response> }, acceptLanguage?: string, path = "/hello") {
  const res = await t.fetch(path, acceptLanguage === undefined ? {} : { headers: { "Accept-Language": acceptLanguage } });
  expect(res.status).toBe(200);
  return (await res.json()) as { code: string; text: string };
}

describe("Accept-Language, with Tornado's CSV translations (es, fr, pt_BR) loaded", () => {
  beforeEach(() => {
    setDefaultLocale("en_US");
    loadTranslations(join(fixtures, "csv"));
  });

  it("picks the best supported language by q weight, as Tornado's get_browser_locale", async () => {
    const t = await serve([["/hello", Hello]]);
    const cases: [string | undefined, string, string][] = [
      [undefined, "en_US", "Sign out"],
      ["es", "es", "Cerrar sesión"],
      ["es-ES,es;q=0.9,en;q=0.8", "es", "Cerrar sesión"],
      ["fr;q=0.5, es;q=0.9", "es", "Cerrar sesión"],
      ["de, fr;q=0.1", "fr", "Se déconnecter"],
      ["fr;q=0.8, es;q=0.8", "fr", "Se déconnecter"],
      ["fr;q=0, es;q=0.2", "es", "Cerrar sesión"],
      ["pt-br", "pt_BR", "Sair"],
      ["PT_br;q=1.0", "pt_BR", "Sair"],
      ["pt", "en_US", "Sign out"],
      ["xx-YY, zz", "en_US", "Sign out"],
      ["*", "en_US", "Sign out"],
      ["en-GB, es;q=0.5", "es", "Cerrar sesión"],
    ];
    for (const [header, code, text] of cases) {
      expect(await localeFor(t, header), String(header)).toEqual({ code, text });
    }
  });

  it("answers a malformed or huge Accept-Language with the default locale, never a 500, and keeps serving", async () => {
    const t = await serve([["/hello", Hello]]);
    for (const header of [";;;,,", "q=1", "fr;q=abc, es;q=-1", "es;q=, fr;q=1e", ",,,;q=0.5", "a-b-c-d, es-ES-x-private", "\u00e9s"]) {
      expect(await localeFor(t, header), header).toEqual({ code: "en_US", text: "Sign out" });
    }
    const huge = Array.from({ length: 1500 }, (_, i) => `x${i}-YY;q=0.${(i % 9) + 1}`).join(",");
    expect(huge.length).toBeGreaterThan(15_000);
    expect(await localeFor(t, huge)).toEqual({ code: "en_US", text: "Sign out" });
    // Languages past the first 64 are not looked at.
    expect(await localeFor(t, `${"xx;q=0.9,".repeat(100)}es;q=1`)).toEqual({ code: "en_US", text: "Sign out" });
    expect(await localeFor(t, `${"xx;q=0.9,".repeat(10)}es;q=0.1`)).toEqual({ code: "es", text: "Cerrar sesión" });
    // Junk a client library would tidy up before sending.
    const conn = await RawConnection.open(t.port);
    await conn.write(Buffer.from("GET /hello HTTP/1.1\r\nHost: x\r\nAccept-Language: ==;;q=;q=q ,\t, es \r\n\r\n", "latin1"));
    const raw = await conn.readResponse();
    expect(raw.status).toBe(200);
    expect(JSON.parse(raw.body.toString())).toEqual({ code: "es", text: "Cerrar sesión" });
    expect(await localeFor(t, "fr")).toEqual({ code: "fr", text: "Se déconnecter" });
  });

  it("translates plurals with the CSV file's singular and plural rows", async () => {
    const t = await serve([["/items/(\\d+)", Items]]);
    const get = async (n: number, lang: string) => (await t.fetch(`/items/${n}`, { headers: { "Accept-Language": lang } })).text();
    expect(await get(1, "es")).toBe("1 artículo");
    expect(await get(0, "es")).toBe("0 artículos");
    expect(await get(3, "es")).toBe("3 artículos");
    expect(await get(1, "fr")).toBe("1 article");
    expect(await get(2, "fr")).toBe("2 articles");
    expect(await get(1, "en")).toBe("1 item");
    expect(await get(7, "pt-BR")).toBe("7 items");
  });

  it("takes the user's locale from getUserLocale() (a cookie) over the browser's", async () => {
    const t = await serve([["/hello", CookieLocale]]);
    const ask = async (headers: Record<string, string>) => (await (await t.fetch("/hello", { headers })).json()) as { code: string };
    expect(await ask({ Cookie: "lang=fr", "Accept-Language": "es" })).toMatchObject({ code: "fr", text: "Se déconnecter" });
    expect(await ask({ Cookie: "lang=pt_BR" })).toMatchObject({ code: "pt_BR", text: "Sair" });
    expect(await ask({ "Accept-Language": "es" })).toMatchObject({ code: "es", text: "Cerrar sesión" });
    // An unknown code in the cookie falls back to the default, not to an error.
    expect(await ask({ Cookie: "lang=klingon", "Accept-Language": "es" })).toMatchObject({ code: "en_US", text: "Sign out" });
  });

  it("lets prepare() choose the locale after an async look-up", async () => {
    const t = await serve([["/hello", PreparedLocale]]);
    expect(await localeFor(t, "es", "/hello?lang=fr")).toEqual({ code: "fr", text: "Se déconnecter" });
    expect(await localeFor(t, "es", "/hello")).toEqual({ code: "en_US", text: "Sign out" });
  });

  it("gives templates {{_}}, the locale and its formats, escaping what translations hold", async () => {
    writeFileSync(
      join(templates, "home.hbs"),
      [
        "<a>{{_ \"Sign out\"}}</a>",
        "<p>{{_ \"%(n)d item\" \"%(n)d items\" count n=count}}</p>",
        "<p>{{_ \"%(name)s liked this\" \"%(name)s liked this\" people.length name=(formatList people)}}</p>",
        '<p>{{_ "Hello, \\"%(name)s\\"" name=who}}</p>',
        "<p>{{_ \"Bold\"}}</p>",
        "<p>{{locale.code}} {{locale.name}} {{friendlyNumber big}}</p>",
        "<p>{{formatDate when}}</p>",
      ].join("\n"),
    );
    class Home extends RequestHandler {
      async get() {
        await this.render("home.hbs", { count: Number(this.getArgument("n", "1")), people: ["Ann", "Bob", "Cy"], who: "<Zoe>", big: 1234567, when: Date.now() - 3 * 60_000 });
      }
    }
    const t = await serve([["/", Home]], { templatePath: templates });
    const es = await (await t.fetch("/?n=4", { headers: { "Accept-Language": "es-MX, en;q=0.5" } })).text();
    expect(es.split("\n")).toEqual([
      "<a>Cerrar sesión</a>",
      "<p>4 artículos</p>",
      "<p>A Ann, Bob y Cy les gustó esto</p>",
      "<p>Hola, &quot;&lt;Zoe&gt;&quot;</p>",
      "<p>&lt;b&gt;Negrita&lt;/b&gt;</p>",
      "<p>es español 1.234.567</p>",
      "<p>hace 3 minutos</p>",
    ]);
    const en = await (await t.fetch("/?n=1")).text();
    expect(en.split("\n")).toEqual([
      "<a>Sign out</a>",
      "<p>1 item</p>",
      "<p>Ann, Bob and Cy liked this</p>",
      "<p>Hello, &quot;&lt;Zoe&gt;&quot;</p>",
      "<p>Bold</p>",
      "<p>en_US American English 1,234,567</p>",
      "<p>3 minutes ago</p>",
    ]);
  });

  it("answers a template that misuses {{_}} with a 500 naming the problem, and keeps serving", async () => {
    writeFileSync(join(templates, "bad.hbs"), '<p>{{_ "%(n)d item" "%(n)d items"}}</p>');
    writeFileSync(join(templates, "ok.hbs"), "<p>{{_ \"Sign out\"}}</p>");
    class Bad extends RequestHandler {
      async get(name: string) {
        await this.render(`${name}.hbs`);
      }
    }
    const t = await serve([["/(\\w+)", Bad]], { templatePath: templates });
    const res = await expectLog("tornado.access", /^500 GET \/bad/, () => expectLog("tornado.application", "Uncaught exception GET /bad", () => t.fetch("/bad")));
    expect(res.status).toBe(500);
    await expect(new TemplateLoader(templates).render("bad.hbs")).rejects.toThrow('bad.hbs:1: {{_}} with a plural message needs a count (a number), got undefined');
    expect(await (await t.fetch("/ok", { headers: { "Accept-Language": "fr" } })).text()).toBe("<p>Se déconnecter</p>");
  });
});

describe("gettext .po translations (ru with Plural-Forms, pl without, es with contexts)", () => {
  beforeEach(() => {
    setDefaultLocale("en_US");
    loadGettextTranslations(join(fixtures, "gettext"), "messages");
  });

  it("translates plurals by the file's Plural-Forms, over HTTP", async () => {
    class Files extends RequestHandler {
      get(n: string) {
        const count = Number(n);
        this.finish(interpolate(this.locale.translate("%(n)d file", "%(n)d files", count), { n: count }));
      }
    }
    const t = await serve([["/files/(\\d+)", Files]]);
    const get = async (n: number, lang: string) => (await t.fetch(`/files/${n}`, { headers: { "Accept-Language": lang } })).text();
    const ru = await Promise.all([1, 2, 4, 5, 11, 12, 21, 22, 25, 101, 111].map((n) => get(n, "ru-RU")));
    expect(ru).toEqual(["1 файл", "2 файла", "4 файла", "5 файлов", "11 файлов", "12 файлов", "21 файл", "22 файла", "25 файлов", "101 файл", "111 файлов"]);
    // pl has no Plural-Forms: Intl.PluralRules("pl") (one, few, many) picks the form.
    const pl = await Promise.all([1, 2, 5, 22, 25].map((n) => get(n, "pl")));
    expect(pl).toEqual(["1 plik", "2 pliki", "5 plików", "22 pliki", "25 plików"]);
    // es has no translation of the message: English, by count.
    expect([await get(1, "es"), await get(2, "es")]).toEqual(["1 file", "2 files"]);
  });

  it("translates by context with pgettext, in handlers and templates", async () => {
    writeFileSync(
      join(templates, "contexts.hbs"),
      '{{pgettext "law" "right"}}|{{pgettext "direction" "right"}}|{{pgettext "organization" "club" "clubs" n}}|{{pgettext "stick" "club" "clubs" n}}|{{pgettext "law" "wrong"}}|{{_ "Sign out"}}',
    );
    class Contexts extends RequestHandler {
      async get() {
        await this.render("contexts.hbs", { n: Number(this.getArgument("n", "1")) });
      }
    }
    const t = await serve([["/", Contexts]], { templatePath: templates });
    const get = async (query: string, lang: string) => (await t.fetch(`/${query}`, { headers: { "Accept-Language": lang } })).text();
    // No "stick" context: Tornado falls back to the plural message's translation without context.
    expect(await get("?n=1", "ru")).toBe("право|направо|клуб|дубинка|wrong|Выйти");
    expect(await get("?n=5", "ru")).toBe("право|направо|клубов|дубинок|wrong|Выйти");
    expect(await get("?n=1", "es")).toBe("derecho|derecha|club|club|wrong|Cerrar sesión");
    expect(await get("?n=2", "en")).toBe("right|right|clubs|clubs|wrong|Sign out");
  });

  it("reads .po files as msgfmt compiles them: continued strings, escapes, no fuzzy, untranslated or obsolete entries", () => {
    const ru = Locale.get("ru");
    expect(ru.translate("A long message")).toBe('Длинное сообщение "в кавычках"');
    expect(ru.translate("Draft")).toBe("Draft");
    expect(ru.translate("Untranslated")).toBe("Untranslated");
    expect(ru.translate("Old")).toBe("Old");
    expect(ru.translate("club")).toBe("дубинка");
  });
});

describe("README: the translations example", () => {
  it("serves the inbox in Spanish to a Spanish browser, in English otherwise, and as the lang cookie says", async () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("### Translations (tornado/locale)"));
    const block = (lang: string) => new RegExp("```" + lang + "\\n([\\s\\S]*?)```").exec(section)![1]!;
    const dir = mkdtempSync(join(tmpdir(), "locale-readme-"));
    try {
      mkdirSync(join(dir, "locales"));
      mkdirSync(join(dir, "templates"));
      writeFileSync(join(dir, "locales/es_ES.csv"), block("csv"));
      writeFileSync(join(dir, "templates/inbox.hbs"), block("hbs"));
      const runtime = (module: string) => pathToFileURL(fileURLToPath(new URL(`../../runtime/${module}.ts`, import.meta.url))).href;
      const source = [
        "const db = { unread: async () => 3, lastVisit: async () => new Date(Date.now() - 3 * 60_000) };",
        block("ts")
          .replace('from "tornado"', `from "${runtime("index")}"`)
          .replace('from "tornado/locale"', `from "${runtime("locale")}"`)
          .replace('loadTranslations("locales")', `loadTranslations(${JSON.stringify(join(dir, "locales"))})`),
        "export { Inbox };",
      ].join("\n");
      writeFileSync(join(dir, "inbox.ts"), source);
      const { Inbox } = (await import(pathToFileURL(join(dir, "inbox.ts")).href)) as { Inbox: typeof RequestHandler };
      const t = await serve([["/inbox", Inbox]], { templatePath: join(dir, "templates") });
      const page = async (headers: Record<string, string>) => (await (await t.fetch("/inbox", { headers })).text()).trim().split("\n").slice(-2);
      expect(await page({ "Accept-Language": "es-ES,es;q=0.9" })).toEqual([
        "<h1>3 mensajes</h1>",
        "<p>Última visita: hace 3 minutos · 3 mensajes (es_ES)</p>",
      ]);
      expect(await page({ "Accept-Language": "en-US" })).toEqual(["<h1>3 messages</h1>", "<p>Last visit: 3 minutes ago · 3 messages (en_US)</p>"]);
      expect(await page({ "Accept-Language": "en-US", Cookie: "lang=es_ES" })).toEqual([
        "<h1>3 mensajes</h1>",
        "<p>Última visita: hace 3 minutos · 3 mensajes (es_ES)</p>",
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

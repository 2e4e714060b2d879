import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  Application,
  RequestHandler,
  createSignedValue,
  decodeSignedValue,
  expectLog,
  getSignatureKeyVersion,
  parseCookie,
  type ApplicationSettings,
  type CookieOptions,
  type CookieSecret,
  type TestServer,
} from "../../runtime/index.js";
import { decodeXsrfToken } from "../../runtime/web/xsrf.js";
import { RawConnection } from "../helpers/raw.js";
import { servePerTest } from "../helpers/serve.js";

// Made by Python Tornado 6.2 (test/fixtures/tornado/make-vectors.py, which says how to redo it).
const vectors = JSON.parse(readFileSync(new URL("../fixtures/tornado/vectors.json", import.meta.url), "utf8"));
const DAY_MS = 86_400_000;

const serve = servePerTest();

// Tornado's secrets come as JSON objects with string keys; ours take numbers as keys too.
const secretOf = (secret: string | Record<string, string>): CookieSecret => secret as CookieSecret;

/** The `name=value` part of each Set-Cookie line, as a browser would send it back. */
function cookieHeader(res: Response): string {
  return res.headers
    .getSetCookie()
    .map((line) => line.split("; ")[0])
    .join("; ");
}

async function rawGet(t: TestServer, path: string, headers: string): Promise<string> {
  const conn = await RawConnection.open(t.port);
  await conn.write(Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\n`, "latin1"));
  const res = await conn.readResponse();
  expect(res.status).toBe(200);
  return res.text();
}

class EchoCookies extends RequestHandler {
  get() {
    this.write({ cookies: this.cookies, a: this.getCookie("a", "default") });
  }
}

describe("RequestHandler.cookies and getCookie(name, default)", () => {
  it("reads the request's cookies, and the default for an absent one", async () => {
    const t = await serve([["/", EchoCookies]]);
    expect(await (await t.fetch("/", { headers: { Cookie: "a=1; b=two" } })).json()).toEqual({ cookies: { a: "1", b: "two" }, a: "1" });
    expect(await (await t.fetch("/")).json()).toEqual({ cookies: {}, a: "default" });
  });

  it("gives undefined for an absent cookie without a default", async () => {
    class Absent extends RequestHandler {
      get() {
        this.write({ absent: this.getCookie("nope") === undefined });
      }
    }
    const t = await serve([["/", Absent]]);
    expect(await (await t.fetch("/", { headers: { Cookie: "a=1" } })).json()).toEqual({ absent: true });
  });

  it("parses every hostile Cookie header exactly as Tornado does, never failing the request", async () => {
    class Cookies extends RequestHandler {
      get() {
        this.write(this.cookies);
      }
    }
    const t = await serve([["/", Cookies]]);
    for (const { header, cookies } of vectors.cookies as { header: string; cookies: Record<string, string> }[]) {
      const body = await rawGet(t, "/", `Cookie: ${header}\r\n`);
      expect(JSON.parse(body), header).toEqual(cookies);
    }
  });

  it("parseCookie(header) keeps what Tornado's parse_cookie keeps, the empty name included", () => {
    for (const { header, parseCookie: expected } of vectors.cookies as { header: string; parseCookie: Record<string, string> }[]) {
      expect({ ...parseCookie(header) }, header).toEqual(expected);
    }
  });

  it("keeps a cookie named __proto__ as a plain cookie", async () => {
    class Proto extends RequestHandler {
      get() {
        this.write({ proto: this.getCookie("__proto__"), toString: this.getCookie("toString", "absent"), keys: Object.keys(this.cookies) });
      }
    }
    const t = await serve([["/", Proto]]);
    const body = await rawGet(t, "/", "Cookie: __proto__=x\r\n");
    expect(JSON.parse(body)).toEqual({ proto: "x", toString: "absent", keys: ["__proto__"] });
  });

  it("joins several Cookie headers with '; ' (as HTTP/2 does)", async () => {
    const t = await serve([["/", EchoCookies]]);
    const body = await rawGet(t, "/", "Cookie: a=1\r\nCookie: b=2\r\n");
    expect(JSON.parse(body).cookies).toEqual({ a: "1", b: "2" });
  });

  it("survives a huge, malformed header", async () => {
    const t = await serve([["/", EchoCookies]]);
    const junk = ';=;"\\'.repeat(5000) + "; a=ok;" + '"'.repeat(1000);
    const body = await rawGet(t, "/", `Cookie: ${junk}\r\n`);
    expect(JSON.parse(body).a).toBe("ok");
  });
});

/** Runs `setCookie` with the options in the query (JSON), answering with the error code if it throws. */
class SetCookie extends RequestHandler {
  get() {
    const { name, value, options } = JSON.parse(this.getArgument("spec")) as { name: string; value: string; options: CookieOptions };
    if (typeof options.expires === "string") options.expires = new Date(options.expires);
    try {
      this.setCookie(name, value, options);
      this.write({ ok: true });
    } catch (e) {
      this.write({ error: (e as Error & { code?: string }).code ?? (e as Error).name, message: (e as Error).message });
    }
  }
}

async function setCookie(t: TestServer, name: string, value: string, options: Record<string, unknown> = {}) {
  const res = await t.fetch(`/set?spec=${encodeURIComponent(JSON.stringify({ name, value, options }))}`);
  return { body: (await res.json()) as any, lines: res.headers.getSetCookie() };
}

describe("RequestHandler.setCookie(name, value, options)", () => {
  it("writes the same Set-Cookie line as Tornado, quoting and all, and refuses what Tornado refuses", async () => {
    const t = await serve([["/set", SetCookie]]);
    for (const c of vectors.setCookie as { label: string; name: string; value: string; options: Record<string, unknown>; header?: string }[]) {
      const o = c.options;
      const options: Record<string, unknown> = {};
      if ("domain" in o) options.domain = o.domain;
      if ("path" in o) options.path = o.path;
      if ("expires" in o) options.expires = (o.expires as number) * 1000;
      if ("max_age" in o) options.maxAge = o.max_age;
      if ("httponly" in o) options.httpOnly = o.httponly;
      if ("secure" in o) options.secure = o.secure;
      if ("samesite" in o) options.sameSite = o.samesite;
      const { body, lines } = await setCookie(t, c.name, c.value, options);
      if (c.header === undefined) {
        expect(body.error, c.label).toBe("ERR_INVALID_COOKIE");
        expect(lines, c.label).toEqual([]);
      } else {
        expect(lines, c.label).toEqual([c.header]);
      }
    }
  });

  it("says what is wrong with a refused name or value", async () => {
    const t = await serve([["/set", SetCookie]]);
    expect((await setCookie(t, "a b", "v")).body.message).toMatch(/Invalid cookie name "a b": use letters, digits/);
    expect((await setCookie(t, "a", "line\r\nX-Injected: 1")).body.message).toMatch(/Invalid cookie value for "a"/);
    expect((await setCookie(t, "a", "東京")).body.error).toBe("ERR_INVALID_COOKIE");
  });

  it("refuses ';', spaces and control characters in domain, path and sameSite", async () => {
    const t = await serve([["/set", SetCookie]]);
    for (const options of [{ domain: "a.com; Secure" }, { path: "/x y" }, { path: "/\r\nX: 1" }, { sameSite: "Lax;Domain=evil" }, { domain: "x\x7f" }]) {
      const { body, lines } = await setCookie(t, "a", "b", options);
      expect(body.error, JSON.stringify(options)).toBe("ERR_INVALID_COOKIE");
      expect(body.message).toMatch(/Invalid cookie attribute/);
      expect(lines).toEqual([]);
    }
  });

  it("sends one Set-Cookie header per cookie, and only the last value of a cookie set twice", async () => {
    class Many extends RequestHandler {
      get() {
        this.setCookie("a", "1");
        this.setCookie("b", "2", { path: "/b" });
        this.addHeader("Set-Cookie", "manual=yes");
        this.setCookie("a", "3", { httpOnly: true });
      }
    }
    const t = await serve([["/", Many]]);
    const res = await t.fetch("/");
    expect(res.headers.getSetCookie()).toEqual(["b=2; Path=/b", "manual=yes", "a=3; HttpOnly; Path=/"]);
  });

  it("sets expires from a Date, milliseconds or expiresDays (expires winning), and Max-Age in seconds", async () => {
    const t = await serve([["/set", SetCookie]]);
    const at = Date.UTC(2030, 0, 2, 3, 4, 5);
    expect((await setCookie(t, "a", "b", { expires: at })).lines).toEqual(["a=b; expires=Wed, 02 Jan 2030 03:04:05 GMT; Path=/"]);
    expect((await setCookie(t, "a", "b", { expires: new Date(at).toISOString(), expiresDays: 5 })).lines[0]).toContain("expires=Wed, 02 Jan 2030 03:04:05 GMT");
    const before = Date.now();
    const [line] = (await setCookie(t, "a", "b", { expiresDays: 2 })).lines;
    const expires = Date.parse(/expires=([^;]+)/.exec(line!)![1]!);
    expect(expires).toBeGreaterThanOrEqual(Math.floor((before + 2 * DAY_MS) / 1000) * 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 2 * DAY_MS);
    expect((await setCookie(t, "a", "b", { maxAge: 0 })).lines).toEqual(["a=b; Max-Age=0; Path=/"]);
    expect((await setCookie(t, "a", "b", { maxAge: 1.5 })).body.error).toBe("RangeError");
  });

  it("reads back, on the next request, exactly the value it set", async () => {
    const t = await serve([["/set", SetCookie], ["/", EchoCookies]]);
    for (const value of ['say"hi"', "x;y,z", "back\\slash", "café", "k=v/w", "{json:[1]}", "", "2|1:0|10:1|1:a|4:YQ==|ff"]) {
      const res = await t.fetch(`/set?spec=${encodeURIComponent(JSON.stringify({ name: "a", value, options: {} }))}`);
      // Latin-1, as the header went on the wire.
      const sent = cookieHeader(res);
      const body = await rawGet(t, "/", `Cookie: ${sent}\r\n`);
      expect(JSON.parse(body).a, value).toBe(value);
    }
  });
});

describe("RequestHandler.clearCookie(name, options) and clearAllCookies(options)", () => {
  it("sends an empty value that expired a year ago, with the path and domain given", async () => {
    class Clear extends RequestHandler {
      get() {
        this.clearCookie("a");
        this.clearCookie("b", { path: "/app", domain: "example.com", secure: true, sameSite: "None" });
      }
    }
    const t = await serve([["/", Clear]]);
    const lines = (await t.fetch("/")).headers.getSetCookie();
    expect(lines[0]).toMatch(/^a=""; expires=[^;]+ GMT; Path=\/$/);
    expect(lines[1]).toMatch(/^b=""; Domain=example\.com; expires=[^;]+ GMT; Path=\/app; SameSite=None; Secure$/);
    const expires = Date.parse(/expires=([^;]+)/.exec(lines[0]!)![1]!);
    expect(Math.abs(Date.now() - 365 * DAY_MS - expires)).toBeLessThan(60_000);
  });

  it("refuses expiry options: clearing sets the expiry itself", async () => {
    class Clear extends RequestHandler {
      get() {
        this.clearCookie("a", { maxAge: 5 } as never);
      }
    }
    const t = await serve([["/", Clear]]);
    const res = await expectLog("tornado.access", /^500 GET/, () => expectLog("tornado.application", /Uncaught exception/, () => t.fetch("/")));
    expect(res.status).toBe(500);
  });

  it("clears every cookie the request carried", async () => {
    class ClearAll extends RequestHandler {
      get() {
        this.clearAllCookies({ path: "/x" });
      }
    }
    const t = await serve([["/", ClearAll]]);
    const lines = (await t.fetch("/", { headers: { Cookie: "a=1; b=2; bad name=3" } })).headers.getSetCookie();
    expect(lines.map((l) => l.replace(/expires=[^;]+/, "expires=…"))).toEqual(['a=""; expires=…; Path=/x', 'b=""; expires=…; Path=/x']);
  });

  it("answers 500 for an illegal name, and sends no cookie", async () => {
    class Bad extends RequestHandler {
      get() {
        this.setCookie("bad\nname", "x");
      }
    }
    const t = await serve([["/", Bad]], { serveTraceback: true });
    const res = await expectLog("tornado.access", /^500 GET/, () => expectLog("tornado.application", /Uncaught exception GET \//, () => t.fetch("/")));
    expect(res.status).toBe(500);
    expect(await res.text()).toMatch(/^TypeError: Invalid cookie name "bad\\nname"/);
    expect(res.headers.getSetCookie()).toEqual([]);
  });
});

type SigningCase = {
  secret: string | Record<string, string>;
  name: string;
  value: string;
  version: number;
  clock: number;
  keyVersion?: number;
  signed: string;
};

describe("createSignedValue / decodeSignedValue (Tornado's vectors)", () => {
  it("signs byte for byte as Tornado does, for the same clock (versions 1 and 2, key versions)", () => {
    for (const c of vectors.signing as SigningCase[]) {
      const ours = createSignedValue(secretOf(c.secret), c.name, c.value, { version: c.version, keyVersion: c.keyVersion, clock: () => c.clock * 1000 });
      expect(ours, `${c.name} v${c.version} kv${c.keyVersion}`).toBe(c.signed);
    }
  });

  it("reads what Tornado signed", () => {
    for (const c of vectors.signing as SigningCase[]) {
      expect(decodeSignedValue(secretOf(c.secret), c.name, c.signed, { clock: () => c.clock * 1000 }), c.signed).toBe(c.value);
    }
  });

  it("refuses what Tornado refuses: tampered, expired, other name, other key, old versions", () => {
    for (const c of vectors.decoding as {
      label: string;
      secret: string | Record<string, string>;
      name: string;
      value: string;
      clock: number;
      maxAgeDays: number | null;
      minVersion: number | null;
      decoded: string | null;
    }[]) {
      const decoded = decodeSignedValue(secretOf(c.secret), c.name, c.value, {
        clock: () => c.clock * 1000,
        maxAgeDays: c.maxAgeDays ?? undefined,
        minVersion: c.minVersion ?? undefined,
      });
      expect(decoded, c.label).toBe(c.decoded);
    }
  });

  it("makes values that Tornado reads, and still makes them byte for byte", () => {
    for (const c of vectors.ours as (SigningCase & { tornadoDecoded: string })[]) {
      expect(c.tornadoDecoded, c.signed).toBe(c.value);
      const again = createSignedValue(c.secret as CookieSecret, c.name, c.value, { version: c.version, keyVersion: c.keyVersion, clock: () => c.clock * 1000 });
      expect(again).toBe(c.signed);
    }
  });

  it("never throws on and never accepts a mangled value", () => {
    const secret = "fuzz-secret";
    const good = createSignedValue(secret, "n", "payload");
    const alphabet = "0123456789|:=abcAB+/ \n\"\\é";
    let seed = 7;
    const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let i = 0; i < 2000; i++) {
      const chars = [...good];
      for (let edits = 1 + random(3); edits > 0; edits--) {
        const at = random(chars.length);
        const op = random(3);
        if (op === 0) chars[at] = alphabet[random(alphabet.length)]!;
        else if (op === 1) chars.splice(at, 1);
        else chars.splice(at, 0, alphabet[random(alphabet.length)]!);
      }
      const mangled = chars.join("");
      if (mangled === good) continue;
      expect(decodeSignedValue(secret, "n", mangled), mangled).toBeNull();
      getSignatureKeyVersion(mangled);
    }
  });

  it("reads the key version without checking the signature", () => {
    const rotated = (vectors.signing as SigningCase[]).find((c) => c.keyVersion === 7)!;
    expect(getSignatureKeyVersion(rotated.signed)).toBe(7);
    expect(getSignatureKeyVersion((vectors.signing as SigningCase[])[0]!.signed)).toBeNull(); // version 1
    expect(getSignatureKeyVersion("garbage")).toBeNull();
    expect(getSignatureKeyVersion("2|x")).toBeNull();
  });

  it("refuses unknown versions and a map of secrets without a key version", () => {
    expect(() => createSignedValue("s", "n", "v", { version: 3 })).toThrow(/Unsupported signed value version 3/);
    expect(() => createSignedValue({ 1: "a" }, "n", "v")).toThrow(/needs a keyVersion/);
    expect(() => createSignedValue({ 1: "a" }, "n", "v", { keyVersion: 2 })).toThrow(/no key version 2/);
    expect(() => createSignedValue({ 1: "a" }, "n", "v", { version: 1, keyVersion: 1 })).toThrow(/single secret/);
    expect(() => decodeSignedValue("s", "n", "v", { minVersion: 3 })).toThrow(/Unsupported minVersion 3/);
    expect(decodeSignedValue("s", "n", null)).toBeNull();
    expect(decodeSignedValue({ 0: "s" }, "n", createSignedValue("s", "n", "v", { version: 1 }))).toBeNull();
  });

  it("signs bytes as well as text", () => {
    const signed = createSignedValue("s", "n", new Uint8Array([104, 105]));
    expect(decodeSignedValue("s", "n", signed)).toBe("hi");
    expect(decodeSignedValue("s", "n", Buffer.from(signed))).toBe("hi");
  });
});

class Signed extends RequestHandler {
  get() {
    const maxAgeDays = Number(this.getArgument("maxAgeDays", "31"));
    this.write({
      value: this.getSignedCookie("user", undefined, { maxAgeDays }),
      keyVersion: this.getSignedCookieKeyVersion("user"),
    });
  }
  post() {
    const expiresDays = this.getArgument("session", "") ? null : undefined;
    this.setSignedCookie("user", this.getArgument("value"), { httpOnly: true, ...(expiresDays === null ? { expiresDays } : {}) });
  }
}

describe("RequestHandler.setSignedCookie / getSignedCookie", () => {
  it("round-trips a value through the browser, with a 30-day cookie by default", async () => {
    const t = await serve([["/", Signed]], { cookieSecret: "s3cret" });
    const res = await t.fetch("/?value=" + encodeURIComponent("Zoë, id=7"), { method: "POST" });
    const [line] = res.headers.getSetCookie();
    expect(line).toMatch(/^user="2\|1:0\|10:\d{10}\|4:user\|16:Wm/);
    expect(line).toMatch(/; expires=[^;]+; HttpOnly; Path=\/$/);
    const expires = Date.parse(/expires=([^;]+)/.exec(line!)![1]!);
    expect(Math.abs(expires - (Date.now() + 30 * DAY_MS))).toBeLessThan(60_000);
    const read = await t.fetch("/", { headers: { Cookie: cookieHeader(res) } });
    expect(await read.json()).toEqual({ value: "Zoë, id=7", keyVersion: 0 });
  });

  it("sets a browser-session cookie with expiresDays: null", async () => {
    const t = await serve([["/", Signed]], { cookieSecret: "s3cret" });
    const [line] = (await t.fetch("/?value=x&session=1", { method: "POST" })).headers.getSetCookie();
    expect(line).not.toContain("expires=");
  });

  it("reads a cookie that Tornado signed", async () => {
    const tornado = (vectors.signing as SigningCase[]).find((c) => c.name === "user" && c.version === 2 && c.keyVersion === undefined)!;
    const t = await serve([["/", Signed]], { cookieSecret: tornado.secret });
    const res = await t.fetch("/?maxAgeDays=100000", { headers: { Cookie: `user="${tornado.signed}"` } });
    expect(await res.json()).toEqual({ value: "42", keyVersion: 0 });
    // Signed in 2023, so past the default 31 days.
    expect(await (await t.fetch("/", { headers: { Cookie: `user="${tornado.signed}"` } })).json()).toEqual({ value: null, keyVersion: 0 });
  });

  it("reads null for a tampered, foreign-named, wrong-key or absent cookie", async () => {
    const t = await serve([["/", Signed]], { cookieSecret: "s3cret" });
    const good = createSignedValue("s3cret", "user", "42");
    const read = async (cookie?: string) => ((await (await t.fetch("/", cookie ? { headers: { Cookie: cookie } } : {})).json()) as any).value;
    expect(await read(`user="${good}"`)).toBe("42");
    expect(await read(`user="${good.replace("|4:NDI=|", "|4:NDM=|")}"`)).toBeNull();
    expect(await read(`user="${createSignedValue("s3cret", "admin", "42")}"`)).toBeNull();
    expect(await read(`user="${createSignedValue("other", "user", "42")}"`)).toBeNull();
    expect(await read(`user=${good.slice(0, -1)}`)).toBeNull();
    expect(await read("user=garbage")).toBeNull();
    expect(await read()).toBeNull();
  });

  it("signs with keyVersion of a map of secrets and still reads the older keys", async () => {
    const t = await serve([["/", Signed]], { cookieSecret: { 1: "old", 2: "new" }, keyVersion: 2 });
    const res = await t.fetch("/?value=v", { method: "POST" });
    expect(res.headers.getSetCookie()[0]).toMatch(/^user="2\|1:2\|/);
    expect(await (await t.fetch("/", { headers: { Cookie: cookieHeader(res) } })).json()).toEqual({ value: "v", keyVersion: 2 });
    const old = createSignedValue({ 1: "old" }, "user", "legacy", { keyVersion: 1 });
    expect(await (await t.fetch("/", { headers: { Cookie: `user="${old}"` } })).json()).toEqual({ value: "legacy", keyVersion: 1 });
    const unknown = createSignedValue({ 3: "x" }, "user", "v", { keyVersion: 3 });
    expect(await (await t.fetch("/", { headers: { Cookie: `user="${unknown}"` } })).json()).toEqual({ value: null, keyVersion: 3 });
  });

  it("answers 500 and says which setting is missing without cookieSecret, or keyVersion for a map", async () => {
    const t = await serve([["/", Signed]], { serveTraceback: true });
    const res = await expectLog("tornado.access", /^500 GET/, () => expectLog("tornado.application", /Uncaught exception/, () => t.fetch("/")));
    expect(res.status).toBe(500);
    expect(await res.text()).toMatch(/^Error: You must define the 'cookieSecret' setting in your application to use signed cookies/);
    await t.close();
    const t2 = await serve([["/", Signed]], { cookieSecret: { 1: "a" }, serveTraceback: true });
    const res2 = await expectLog("tornado.access", /^500 POST/, () =>
      expectLog("tornado.application", /Uncaught exception/, () => t2.fetch("/?value=x", { method: "POST" })),
    );
    expect(res2.status).toBe(500);
    expect(await res2.text()).toMatch(/^Error: The keyVersion setting must be set when cookieSecret is a map/);
  });

  it("signs values for use outside cookies with createSignedValue()", async () => {
    class Token extends RequestHandler {
      get() {
        const token = this.createSignedValue("invite", "team-7");
        this.write({ token, back: this.getSignedCookie("invite", token) });
      }
    }
    const t = await serve([["/", Token]], { cookieSecret: "s" });
    const { token, back } = (await (await t.fetch("/")).json()) as any;
    expect(back).toBe("team-7");
    expect(decodeSignedValue("s", "invite", token)).toBe("team-7");
  });
});

const XSRF_V2 = /^2\|[0-9a-f]{8}\|[0-9a-f]{32}\|\d+$/;

class Form extends RequestHandler {
  get() {
    this.write({ token: this.xsrfToken, again: this.xsrfToken, html: this.xsrfFormHtml() });
  }
  post() {
    this.write("posted");
  }
  put() {
    this.write("put");
  }
  delete() {
    this.write("deleted");
  }
  patch() {
    this.write("patched");
  }
  options() {
    this.write("options");
  }
}

async function xsrfServer(settings: ApplicationSettings = {}) {
  return serve([["/form", Form]], { xsrfCookies: true, ...settings });
}

const form = (fields: Record<string, string>) => ({
  method: "POST",
  headers: { "Content-Type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams(fields).toString(),
});

describe("XSRF: xsrfToken, xsrfFormHtml() and checkXsrfCookie()", () => {
  it("sets the _xsrf cookie on first use and gives a masked version-2 token, the same for the whole request", async () => {
    const t = await xsrfServer();
    const res = await t.fetch("/form");
    const [line] = res.headers.getSetCookie();
    expect(line).toMatch(/^_xsrf=2\|[0-9a-f]{8}\|[0-9a-f]{32}\|\d+; Path=\/$/);
    const { token, again, html } = (await res.json()) as any;
    expect(token).toMatch(XSRF_V2);
    expect(again).toBe(token);
    expect(html).toBe(`<input type="hidden" name="_xsrf" value="${token.replace(/\|/g, "|")}"/>`);
    expect(html).toBe((vectors.xsrf.formHtml as string).replace("TOKEN", token));
    // The cookie's token, unmasked, is the page's token, unmasked.
    expect(decodeXsrfToken(token)!.token).toEqual(decodeXsrfToken(line!.slice(6).split(";")[0]!)!.token);
  });

  it("masks the token anew on each page while the cookie stays, and accepts any of them", async () => {
    const t = await xsrfServer();
    const first = await t.fetch("/form");
    const cookie = cookieHeader(first);
    const second = await t.fetch("/form", { headers: { Cookie: cookie } });
    expect(second.headers.getSetCookie()).toEqual([]);
    const { token } = (await second.json()) as any;
    const { token: firstToken } = (await first.json()) as any;
    expect(token).not.toBe(firstToken);
    for (const value of [token, firstToken]) {
      const res = await t.fetch("/form", { ...form({ _xsrf: value }), headers: { ...form({}).headers, Cookie: cookie } });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("posted");
    }
  });

  it("takes the token from the _xsrf argument (body or query) or an X-XSRFToken / X-CSRFToken header", async () => {
    const t = await xsrfServer();
    const first = await t.fetch("/form");
    const cookie = cookieHeader(first);
    const { token } = (await first.json()) as any;
    const ok = [
      t.fetch("/form", { ...form({ _xsrf: token }), headers: { ...form({}).headers, Cookie: cookie } }),
      t.fetch(`/form?_xsrf=${encodeURIComponent(token)}`, { method: "POST", headers: { Cookie: cookie } }),
      t.fetch("/form", { method: "POST", headers: { Cookie: cookie, "X-XSRFToken": token } }),
      t.fetch("/form", { method: "POST", headers: { Cookie: cookie, "X-CSRFToken": token } }),
      t.fetch("/form", { method: "PUT", headers: { Cookie: cookie, "X-XSRFToken": token } }),
      t.fetch("/form", { method: "DELETE", headers: { Cookie: cookie, "X-XSRFToken": token } }),
      t.fetch("/form", { method: "PATCH", headers: { Cookie: cookie, "X-XSRFToken": token } }),
    ];
    for (const res of await Promise.all(ok)) expect(res.status).toBe(200);
  });

  it("answers 403 without a token, with a token but no cookie, with a mismatched or malformed token", async () => {
    const t = await xsrfServer();
    const first = await t.fetch("/form");
    const cookie = cookieHeader(first);
    const { token } = (await first.json()) as any;
    const other = ((await (await t.fetch("/form")).json()) as any).token;
    const cases: [RequestInit, string][] = [
      [{ method: "POST" }, "'_xsrf' argument missing from POST"],
      [{ method: "POST", headers: { Cookie: cookie } }, "'_xsrf' argument missing from POST"],
      [{ ...form({ _xsrf: "" }), headers: { ...form({}).headers, Cookie: cookie } }, "'_xsrf' argument missing from POST"],
      [{ method: "POST", headers: { "X-XSRFToken": token } }, "XSRF cookie does not match POST argument"],
      [{ method: "POST", headers: { Cookie: cookie, "X-XSRFToken": other } }, "XSRF cookie does not match POST argument"],
      [{ method: "DELETE", headers: { Cookie: cookie, "X-XSRFToken": other } }, "XSRF cookie does not match POST argument"],
      [{ method: "POST", headers: { Cookie: cookie, "X-XSRFToken": "2|zz|00|1" } }, "'_xsrf' argument has invalid format"],
      [{ method: "POST", headers: { Cookie: cookie, "X-XSRFToken": "2|00000000||5" } }, "'_xsrf' argument has invalid format"],
      [{ method: "POST", headers: { Cookie: "_xsrf=3|junk", "X-XSRFToken": token } }, "XSRF cookie does not match POST argument"],
    ];
    for (const [init, message] of cases) {
      const res = await expectLog("tornado.general", `403 ${init.method} /form (127.0.0.1): ${message}`, () => expectLog("tornado.access", /^403 /, () => t.fetch("/form", init)));
      expect(res.status, message).toBe(403);
      expect(await res.text()).toBe("<html><title>403: Forbidden</title><body>403: Forbidden</body></html>");
    }
  });

  it("checks before prepare(), and not at all for GET, HEAD and OPTIONS or without the setting", async () => {
    let prepared = 0;
    class Counted extends Form {
      override prepare() {
        prepared++;
      }
    }
    const t = await serve([["/form", Counted]], { xsrfCookies: true });
    await expectLog("tornado.general", /403 POST \/form/, () => expectLog("tornado.access", /403 POST/, () => t.fetch("/form", { method: "POST" })));
    expect(prepared).toBe(0);
    for (const method of ["GET", "HEAD", "OPTIONS"]) expect((await t.fetch("/form", { method })).status).toBe(200);
    await t.close();
    const plain = await serve([["/form", Form]]);
    expect((await plain.fetch("/form", { method: "POST" })).status).toBe(200);
  });

  it("accepts Tornado's cookie with Tornado's tokens, and Tornado's version-1 cookie", async () => {
    const x = vectors.xsrf;
    const t = await xsrfServer();
    for (const token of [x.token, ...x.tokensForCookie]) {
      const res = await t.fetch("/form", { method: "POST", headers: { Cookie: `_xsrf=${x.cookieValue}`, "X-XSRFToken": token } });
      expect(res.status).toBe(200);
    }
    for (const token of [...x.v1Tokens, x.v1Cookie]) {
      const res = await t.fetch("/form", { method: "POST", headers: { Cookie: `_xsrf=${x.v1Cookie}`, "X-XSRFToken": token } });
      expect(res.status).toBe(200);
    }
    // Our page for Tornado's cookie: no new cookie, and a token Tornado's cookie accepts.
    const page = await t.fetch("/form", { headers: { Cookie: `_xsrf=${x.cookieValue}` } });
    expect(page.headers.getSetCookie()).toEqual([]);
    const { token } = (await page.json()) as any;
    expect(decodeXsrfToken(token)!.token.toString("hex")).toBe(x.decode[0].raw);
  });

  it("decodes tokens as Tornado 6.5 does (6.2 took masks that are not 4 bytes)", () => {
    for (const { input, version, raw } of vectors.xsrf.decode as { input: string; version: number | null; raw: string | null }[]) {
      const ours = decodeXsrfToken(input);
      if (input === "2|0011|aabb|1" || input === "2|0011223344|aabb|1") {
        expect(ours, input).toBeNull();
        continue;
      }
      expect(ours === null ? null : ours.version, input).toBe(version);
      expect(ours === null ? null : ours.token.toString("hex"), input).toBe(raw);
    }
  });

  it("names and dresses the cookie from xsrfCookieName and xsrfCookieKwargs, plain hex with xsrfCookieVersion 1", async () => {
    const t = await xsrfServer({ xsrfCookieName: "csrf", xsrfCookieKwargs: { httpOnly: true, secure: true, sameSite: "Strict" } });
    const res = await t.fetch("/form");
    const [line] = res.headers.getSetCookie();
    expect(line).toMatch(/^csrf=2\|[^;]+; HttpOnly; Path=\/; SameSite=Strict; Secure$/);
    const { token } = (await res.json()) as any;
    expect((await t.fetch("/form", { method: "POST", headers: { Cookie: cookieHeader(res), "X-XSRFToken": token } })).status).toBe(200);
    await t.close();
    const v1 = await xsrfServer({ xsrfCookieVersion: 1 });
    const page = await v1.fetch("/form");
    const body = (await page.json()) as any;
    expect(body.token).toMatch(/^[0-9a-f]{32}$/);
    expect(page.headers.getSetCookie()).toEqual([`_xsrf=${body.token}; Path=/`]);
  });

  it("keeps the cookie 30 days for a logged-in user", async () => {
    class UserForm extends Form {
      override getCurrentUser() {
        return "ann";
      }
    }
    const t = await serve([["/form", UserForm]], { xsrfCookies: true });
    const [line] = (await t.fetch("/form")).headers.getSetCookie();
    const expires = Date.parse(/expires=([^;]+)/.exec(line!)![1]!);
    expect(Math.abs(expires - (Date.now() + 30 * DAY_MS))).toBeLessThan(60_000);
  });

  it("lets a handler exempt itself by overriding checkXsrfCookie()", async () => {
    class Api extends Form {
      override checkXsrfCookie() {}
    }
    const t = await serve([["/form", Api]], { xsrfCookies: true });
    expect((await t.fetch("/form", { method: "POST" })).status).toBe(200);
  });
});

/**
 * A handler's cookies: the request's, the response's `Set-Cookie`, and signed values. The
 * formats are in ../cookies.ts and ../signing.ts; these methods bind them to the request and
 * the settings.
 */

import { clearingOptions, formatSetCookie, putSetCookie, requestCookies, type ClearCookieOptions, type CookieOptions } from "../cookies.js";
import { createSignedValue, decodeSignedValue, getSignatureKeyVersion, type CookieSecret } from "../signing.js";
import { HandlerArguments } from "./arguments.js";

/**
 * The cookie methods of `RequestHandler` (`getCookie`, `setSignedCookie`, …). Not used on its own.
 * @internal
 */
export abstract class HandlerCookies extends HandlerArguments {
  private cookieJar: Record<string, string> | undefined;

  /**
   * The request's cookies, by name (Tornado's lenient parsing: quoted values unquoted, a name
   * given twice keeps its last value, pairs with an illegal name left out). Cookies set in this
   * response are not in it.
   *
   * @example
   * for (const [name, value] of Object.entries(this.cookies)) console.log(name, value);
   */
  get cookies(): Readonly<Record<string, string>> {
    return (this.cookieJar ??= requestCookies(this.request.headers.getList("Cookie").join("; ") || undefined));
  }

  /**
   * The value of the request cookie `name`, or `defaultValue` (`undefined`) when it is absent.
   *
   * @example
   * const theme = this.getCookie("theme", "light");
   */
  getCookie(name: string): string | undefined;
  getCookie<D>(name: string, defaultValue: D): string | D;
  getCookie(name: string, defaultValue?: unknown): unknown {
    const cookies = this.cookies;
    return Object.hasOwn(cookies, name) ? cookies[name] : defaultValue;
  }

  /**
   * Sets a cookie on the response (a `Set-Cookie` header; setting the same name again replaces
   * it). `path` defaults to `/`. A name outside ``A-Z a-z 0-9 !#$%&'*+-.^_`|~:``, a value with
   * whitespace, control or non-Latin-1 characters, or an attribute with `;` or spaces throws a
   * `TypeError` (code `ERR_INVALID_COOKIE`); other special characters in a value are quoted as
   * Tornado quotes them. Not visible to `getCookie` until the next request.
   *
   * @example
   * this.setCookie("theme", "dark", { expiresDays: 365, sameSite: "Lax" });
   * this.setCookie("sid", token, { httpOnly: true, secure: true, maxAge: 3600 });
   */
  setCookie(name: string, value: string, options: CookieOptions = {}): void {
    putSetCookie(this._responseHeaders(), name, formatSetCookie(name, value, options));
  }

  /**
   * Tells the browser to delete cookie `name`: an empty value that expired a year ago. Pass the
   * `path` and `domain` it was set with (and `secure`/`sameSite` when it had them).
   *
   * @example
   * this.clearCookie("sid");
   * this.clearCookie("prefs", { path: "/app", domain: "example.com" });
   */
  clearCookie(name: string, options: ClearCookieOptions = {}): void {
    this.setCookie(name, "", clearingOptions(options));
  }

  /**
   * Clears every cookie the request carried (with the same `options` for each: a cookie set
   * with another path or domain survives).
   *
   * @example
   * this.clearAllCookies(); this.redirect("/");
   */
  clearAllCookies(options: ClearCookieOptions = {}): void {
    for (const name of Object.keys(this.cookies)) this.clearCookie(name, options);
  }

  /**
   * Signs `value` with the `cookieSecret` setting (under `keyVersion` when the secret is a map)
   * in Tornado's format; `getSignedCookie` reads it back. For signed values outside cookies.
   *
   * @example
   * const link = `/confirm?token=${encodeURIComponent(this.createSignedValue("confirm", email))}`;
   */
  createSignedValue(name: string, value: string | Uint8Array, options: { version?: number } = {}): string {
    this.requireSetting("cookieSecret", "signed cookies");
    const secret: CookieSecret = this.settings.cookieSecret!;
    const keyVersion: number | undefined = this.settings.keyVersion ?? undefined;
    if (typeof secret === "object" && !(secret instanceof Uint8Array) && keyVersion === undefined) {
      throw new Error("The keyVersion setting must be set when cookieSecret is a map of key versions");
    }
    return createSignedValue(secret, name, value, { version: options.version, keyVersion });
  }

  /**
   * Sets a cookie whose value is signed and timestamped (see `createSignedValue`), so it cannot
   * be forged or altered; it expires in `expiresDays` (30 by default, `null` for a browser
   * session). Needs the `cookieSecret` setting. The value is readable by the client: sign,
   * don't hide.
   *
   * @example
   * this.setSignedCookie("user", String(user.id), { httpOnly: true, sameSite: "Lax" });
   */
  setSignedCookie(name: string, value: string | Uint8Array, options: CookieOptions & { version?: number } = {}): void {
    const { version, ...cookieOptions } = options;
    this.setCookie(name, this.createSignedValue(name, value, { version }), { expiresDays: 30, ...cookieOptions });
  }

  /**
   * The value of a signed cookie if its signature is good and it is at most `maxAgeDays` old
   * (31 by default); otherwise (absent, forged, for another name, expired) `null`. Pass `value`
   * to read a signed value from elsewhere. Needs the `cookieSecret` setting.
   *
   * @example
   * const userId = this.getSignedCookie("user", undefined, { maxAgeDays: 7 });
   */
  getSignedCookie(name: string, value?: string | null, options: { maxAgeDays?: number; minVersion?: number } = {}): string | null {
    this.requireSetting("cookieSecret", "signed cookies");
    return decodeSignedValue(this.settings.cookieSecret!, name, value ?? this.getCookie(name), options);
  }

  /**
   * The key version a signed cookie was signed with (`null` when absent or unversioned): to
   * re-sign cookies made with an old key after rotating `cookieSecret`.
   *
   * @example
   * if (this.getSignedCookieKeyVersion("user") !== this.settings.keyVersion) this.setSignedCookie("user", id);
   */
  getSignedCookieKeyVersion(name: string, value?: string | null): number | null {
    this.requireSetting("cookieSecret", "signed cookies");
    const raw = value ?? this.getCookie(name);
    return raw === undefined ? null : getSignatureKeyVersion(raw);
  }
}

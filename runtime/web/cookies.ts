/**
 * Cookies as Tornado reads and writes them: `parseCookie` (Tornado's `httputil.parse_cookie`,
 * lenient like a browser) and the `Set-Cookie` line that `RequestHandler.setCookie` sends
 * (Python's `http.cookies.Morsel` output: the same quoting, attribute names and order).
 */

import type { HTTPHeaders } from "../httputil/headers.js";

/**
 * Options for `RequestHandler.setCookie` (and the `xsrfCookieKwargs` setting).
 *
 * @example
 * this.setCookie("theme", "dark", { expiresDays: 365, httpOnly: true, sameSite: "Lax" });
 */
export interface CookieOptions {
  /** `Domain=`: the cookie also goes to this domain's subdomains. Default: this host only. */
  domain?: string | null;
  /** `Path=`, default `"/"`; `null` or `""` sends no `Path`. */
  path?: string | null;
  /** `expires=` as a `Date` or milliseconds since the epoch; wins over `expiresDays`. */
  expires?: Date | number | null;
  /** `expires=` this many days from now (fractions allowed). `null`: a session cookie. */
  expiresDays?: number | null;
  /** `Max-Age=`, in seconds (an integer; 0 or less tells the browser to drop the cookie). */
  maxAge?: number | null;
  /** `Secure`: sent over HTTPS only. */
  secure?: boolean;
  /** `HttpOnly`: hidden from page scripts. */
  httpOnly?: boolean;
  /** `SameSite=`: `"Strict"`, `"Lax"` or `"None"` (`"None"` needs `secure`). */
  sameSite?: string | null;
}

/**
 * Options for `RequestHandler.clearCookie`: `domain` and `path` must be the ones the cookie was
 * set with; `secure` and `sameSite` may have to match too.
 *
 * @example
 * this.clearCookie("session", { path: "/app" });
 */
export type ClearCookieOptions = Omit<CookieOptions, "expires" | "expiresDays" | "maxAge">;

// Python's http.cookies: the characters a name (or an unquoted value) may hold, and the names
// that are attribute keys and so can never be cookie names.
const LEGAL_NAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~:]+$/;
const RESERVED_NAMES = new Set(["expires", "path", "comment", "domain", "max-age", "secure", "httponly", "version", "samesite"]);
// Characters a quoted value carries as they are; any other byte is written as \ooo (octal).
const UNESCAPED = /[A-Za-z0-9!#$%&'*+\-.^_`|~: ()/<=>?@[\]{}]/;
// Tornado refuses whitespace and control characters in a value...
const ILLEGAL_VALUE = /[\x00-\x20]/;
// ...and control characters, spaces and ';' in the name and the attributes (a ';' would end
// the attribute and start another).
const ILLEGAL_ATTRIBUTE = /[\x00-\x20;\x7f]/;
// A header carries Latin-1 at most.
const BEYOND_LATIN1 = /[^\x00-\xff]/;
// What Python's str.strip() removes (its whitespace), which trim() does not quite match.
const PY_WHITESPACE = "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const PY_STRIP = new RegExp(`^[${PY_WHITESPACE}]+|[${PY_WHITESPACE}]+$`, "g");
const QUOTED_ESCAPE = /\\(?:([0-3][0-7][0-7])|([^\n]))/g;
const DAY_MS = 86_400_000;

function invalidCookie(message: string): TypeError {
  const error = new TypeError(message);
  (error as TypeError & { code: string }).code = "ERR_INVALID_COOKIE";
  return error;
}

/**
 * Whether `name` can be a cookie name: letters, digits and ``!#$%&'*+-.^_`|~:``, and not an
 * attribute name (`path`, `expires`, …). Request cookies with other names are ignored.
 */
function isLegalCookieName(name: string): boolean {
  return LEGAL_NAME.test(name) && !RESERVED_NAMES.has(name.toLowerCase());
}

/**
 * Parses a `Cookie` header into names and values, as browsers do rather than as the RFCs say
 * (Tornado's `parse_cookie`): pairs split at `;`, a pair without `=` has the empty name, a
 * double-quoted value is unquoted (`\"`, `\\` and `\ooo` octal escapes), and a name given twice
 * keeps its last value. Never throws.
 *
 * @example
 * parseCookie('a=1; b="x\\073y"; a=2; junk') // { a: "2", b: "x;y", "": "junk" }
 */
export function parseCookie(header: string): Record<string, string> {
  const cookies: Record<string, string> = Object.create(null);
  for (const chunk of header.split(";")) {
    const eq = chunk.indexOf("=");
    // Without "=", browsers take the whole chunk as a value with an empty name.
    const name = (eq < 0 ? "" : chunk.slice(0, eq)).replace(PY_STRIP, "");
    const value = (eq < 0 ? chunk : chunk.slice(eq + 1)).replace(PY_STRIP, "");
    if (name || value) cookies[name] = unquoteCookieValue(value);
  }
  return cookies;
}

/**
 * The cookies of a request's `Cookie` header, as `RequestHandler.cookies` gives them:
 * `parseCookie`, less the pairs whose name a cookie cannot have (as Tornado, which drops what
 * Python's `SimpleCookie` refuses).
 * @internal
 */
export function requestCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = Object.create(null);
  if (header === undefined) return cookies;
  const parsed = parseCookie(header);
  for (const name in parsed) if (isLegalCookieName(name)) cookies[name] = parsed[name]!;
  return cookies;
}

function unquoteCookieValue(value: string): string {
  if (value.length < 2 || value[0] !== '"' || value[value.length - 1] !== '"') return value;
  return value
    .slice(1, -1)
    .replace(QUOTED_ESCAPE, (_, octal: string | undefined, char: string | undefined) =>
      octal !== undefined ? String.fromCharCode(parseInt(octal, 8)) : char!,
    );
}

// Python's http.cookies._quote: a value of legal characters goes as it is, anything else in
// double quotes with `"` and `\` backslashed and other special bytes as octal escapes.
function quoteCookieValue(value: string): string {
  if (LEGAL_NAME.test(value)) return value;
  let quoted = '"';
  for (const char of value) {
    if (char === '"' || char === "\\") quoted += "\\" + char;
    else if (UNESCAPED.test(char)) quoted += char;
    else quoted += "\\" + char.charCodeAt(0).toString(8).padStart(3, "0");
  }
  return quoted + '"';
}

function checkAttribute(cookie: string, attribute: string, value: string): void {
  if (ILLEGAL_ATTRIBUTE.test(value) || BEYOND_LATIN1.test(value)) {
    throw invalidCookie(`Invalid cookie attribute ${attribute}=${JSON.stringify(value)} for cookie ${JSON.stringify(cookie)}: no spaces, ';' or control characters`);
  }
}

/**
 * The `Set-Cookie` value for a cookie, as Tornado writes it:
 * `name=value; Domain=…; expires=…; HttpOnly; Max-Age=…; Path=/; SameSite=…; Secure`.
 * Throws a `TypeError` (code `ERR_INVALID_COOKIE`) for a name that is not a legal cookie name,
 * a value with whitespace or control characters, or an attribute with `;` or spaces.
 * @internal
 */
export function formatSetCookie(name: string, value: string, options: CookieOptions = {}, now = Date.now()): string {
  if (!isLegalCookieName(name)) {
    throw invalidCookie(
      `Invalid cookie name ${JSON.stringify(name)}: use letters, digits and !#$%&'*+-.^_\`|~: (and not an attribute name such as "path")`,
    );
  }
  if (ILLEGAL_VALUE.test(value) || BEYOND_LATIN1.test(value)) {
    throw invalidCookie(
      `Invalid cookie value for ${JSON.stringify(name)}: ${JSON.stringify(value)} has whitespace, control or non-Latin-1 characters; encode it first (encodeURIComponent, or a signed cookie)`,
    );
  }
  const { domain, path = "/", sameSite, maxAge } = options;
  if (domain) checkAttribute(name, "domain", domain);
  if (path) checkAttribute(name, "path", path);
  if (sameSite) checkAttribute(name, "samesite", sameSite);
  let expires = options.expires ?? null;
  if (expires === null && options.expiresDays != null) expires = now + options.expiresDays * DAY_MS;
  const expiresAt = expires instanceof Date || expires === null ? expires : new Date(expires);
  if (expiresAt !== null && Number.isNaN(expiresAt.getTime())) throw new RangeError(`Invalid expiry for cookie ${JSON.stringify(name)}`);
  if (maxAge != null && !Number.isInteger(maxAge)) throw new RangeError(`Cookie maxAge must be a whole number of seconds, not ${maxAge}`);

  // Attribute order and spelling are Python's Morsel.OutputString: sorted by key.
  let line = `${name}=${quoteCookieValue(value)}`;
  if (domain) line += `; Domain=${domain}`;
  if (expiresAt !== null) line += `; expires=${expiresAt.toUTCString()}`;
  if (options.httpOnly) line += "; HttpOnly";
  if (maxAge != null) line += `; Max-Age=${maxAge}`;
  if (path) line += `; Path=${path}`;
  if (sameSite) line += `; SameSite=${sameSite}`;
  if (options.secure) line += "; Secure";
  return line;
}

/**
 * Adds a `Set-Cookie` line to `headers`, replacing the line of an earlier cookie of the same
 * name (a cookie set twice is sent once, with its last value, as in Tornado).
 * @internal
 */
export function putSetCookie(headers: HTTPHeaders, name: string, line: string): void {
  const prefix = `${name}=`;
  const existing = headers.getList("Set-Cookie");
  if (existing.some((value) => value.startsWith(prefix))) {
    headers.delete("Set-Cookie");
    for (const value of existing) if (!value.startsWith(prefix)) headers.add("Set-Cookie", value);
  }
  headers.add("Set-Cookie", line);
}

/**
 * The options `clearCookie` sets: an empty value that expired a year ago (Tornado's way).
 * @internal
 */
export function clearingOptions(options: ClearCookieOptions, now = Date.now()): CookieOptions {
  for (const key of ["expires", "expiresDays", "maxAge"]) {
    if (key in options) throw new TypeError(`clearCookie() does not take ${key}: it sets the expiry itself`);
  }
  return { ...options, expires: now - 365 * DAY_MS };
}

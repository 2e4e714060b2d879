/** `RequestHandler`: one instance per request, Tornado's handler model with camelCase names. */

import { hash } from "node:crypto";
import { decodeUtf8Strict, jsonEncode, urlUnescapeToBuffer, xhtmlEscape } from "../escape.js";
import { HTTPInputError, type ArgumentMap } from "../httputil/body.js";
import { HTTPHeaders } from "../httputil/headers.js";
import { responses, type HTTPServerRequest } from "../httputil/request.js";
import { StreamClosedError } from "../iostream.js";
import { appLog, genLog } from "../log.js";
import { defaultNamespace, handlerHelpers, loaderFor } from "../template/handler.js";
import { TemplateLoader } from "../template/loader.js";
import { VERSION } from "../version.js";
import type { StaticUrlOptions } from "../handlers/static.js";
import type { Application, ApplicationSettings } from "./application.js";
import { answerPreflight } from "./cors.js";
import { Finish, HTTPError, MissingArgumentError } from "./errors.js";
import { clearingOptions, formatSetCookie, putSetCookie, requestCookies, type ClearCookieOptions, type CookieOptions } from "./cookies.js";
import { createSignedValue, decodeSignedValue, getSignatureKeyVersion, type CookieSecret } from "./signing.js";
import { checkXsrfToken, encodeXsrfToken, readXsrfCookie, xsrfInput, type RawXsrfToken } from "./xsrf.js";
import { sendTransformed, startTransformedStream, type GzipStream } from "./transforms.js";
import { respondSafely } from "./respond.js";
import { encodeLocation } from "./location.js";

/**
 * A handler class, as routes take it.
 *
 * @example
 * const routes: [string, HandlerClass][] = [["/", MainHandler]];
 */
export type HandlerClass = new (application: Application, request: HTTPServerRequest) => RequestHandler;

/**
 * What `write()` accepts: text, bytes, or an object or array sent as JSON.
 *
 * @example
 * const chunks: Chunk[] = ["text", Buffer.from("bytes"), { json: true }, [1, 2]];
 */
export type Chunk = string | Buffer | Uint8Array | object;

/**
 * Options for `sendError` and `writeError`.
 *
 * @example
 * this.sendError(503, { reason: "Down For Maintenance" });
 */
export interface ErrorDetails {
  /** The error that caused the response, if any (an `HTTPError` or any thrown value). */
  error?: unknown;
  /** The reason phrase to use instead of the standard one. */
  reason?: string;
}

const SUPPORTED_METHODS = ["GET", "HEAD", "POST", "DELETE", "PATCH", "PUT", "OPTIONS"];
const METHOD_NAMES: Record<string, string> = Object.fromEntries(SUPPORTED_METHODS.map((m) => [m, m.toLowerCase()]));
const NO_ARGS: (string | null)[] = Object.freeze([]) as unknown as (string | null)[];
const NO_KWARGS: Record<string, string | null> = Object.freeze({});
// Control characters other than \t \n \r become spaces in argument values, as in Tornado.
const CONTROL_CHARS = /[\x00-\x08\x0e-\x1f]/g;
const ETAG_LIST = /\*|(?:W\/)?"[^"]*"/g;
const SERVER_HEADER = `TornadoServer/${VERSION}`;
const HTML_TYPE = "text/html; charset=UTF-8";
const JSON_TYPE = "application/json; charset=UTF-8";

// A reason phrase is visible characters, spaces and tabs (RFC 9112 §4); "<" is refused as a
// defence against markup in error pages, as Tornado does.
const REASON_PHRASE = /^[\t\x20-\x7e\x80-\xff]+$/;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === "object" && typeof (value as PromiseLike<unknown>).then === "function";
}

function byteLength(chunk: string | Buffer): number {
  return typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
}

/**
 * Base class for HTTP request handlers: subclass it and define `get`, `post`, … One instance
 * serves one request. Path groups arrive as method arguments; every method may be `async`.
 *
 * Lifecycle: `initialize(initArgs)` → `prepare()` → the method → `finish()` → `onFinish()`.
 * The methods are `get`, `head`, `post`, `put`, `patch`, `delete` and `options`; a request for
 * one the class does not define is a 405 (HEAD falls back to `get`).
 *
 * @example
 * class UserHandler extends RequestHandler {
 *   async get(id: string) {
 *     const user = await this.settings.db.find(id);
 *     if (!user) throw new HTTPError(404, `no user ${id}`);
 *     this.write(user); // an object is sent as JSON
 *   }
 * }
 */
export class RequestHandler {
  readonly application: Application;
  readonly request: HTTPServerRequest;
  /** The decoded positional path groups (`null` for an optional group that did not match). */
  pathArgs: (string | null)[] = NO_ARGS;
  /** The decoded named path groups, by name. */
  pathKwargs: Record<string, string | null> = NO_KWARGS;

  private statusCode = 200;
  private reasonPhrase = "OK";
  private headers!: HTTPHeaders;
  private writeBuffer!: (string | Buffer)[];
  private headersSent = false;
  private done = false;
  private parsedJson: { value: unknown } | undefined;
  private onFinishResult: Promise<unknown> | undefined;
  // The gzip encoder of a streamed response (`compressResponse`), from its first flush().
  private bodyEncoder: GzipStream | null = null;
  /** @internal Set to false by subclasses (WebSocket) that finish the request themselves. */
  protected autoFinish = true;

  constructor(application: Application, request: HTTPServerRequest) {
    this.application = application;
    this.request = request;
    this.clear();
  }

  /** The application's settings. @example this.settings.debug */
  get settings(): ApplicationSettings {
    return this.application.settings;
  }

  /**
   * Hook for the route's `initArgs`; called first, may be async.
   *
   * @example
   * class ItemHandler extends RequestHandler {
   *   private db!: Db;
   *   initialize({ db }: { db: Db }) { this.db = db; }
   * }
   * // route: ["/items", ItemHandler, { db }]
   */
  initialize(_initArgs?: any): void | Promise<void> {}

  /**
   * Hook called before the HTTP method; may be async. Calling `finish()` (or throwing) here
   * ends the request without calling the method.
   *
   * @example
   * async prepare() {
   *   if (!(await this.settings.auth.check(this.request))) throw new HTTPError(401);
   * }
   */
  prepare(): void | Promise<void> {}

  /**
   * Hook called after the response has been sent; may be async. For cleanup and metrics.
   *
   * @example
   * onFinish() { metrics.observe(this.request.requestTime()); }
   */
  onFinish(): void | Promise<void> {}

  /**
   * Hook called when the client goes away before the response is finished (`request.signal`
   * fires at the same time).
   *
   * @example
   * onConnectionClose() { this.subscription?.cancel(); }
   */
  onConnectionClose(): void {}

  /**
   * Hook to set headers on every response, including error pages (called by `clear()`).
   *
   * @example
   * setDefaultHeaders() { this.setHeader("X-Frame-Options", "DENY"); }
   */
  setDefaultHeaders(): void {}

  /**
   * Resets the status, headers and unsent body to their defaults.
   *
   * @example
   * this.clear(); this.setStatus(503); this.finish("busy");
   */
  clear(): void {
    this.headers = HTTPHeaders.fromFlat(["Server", SERVER_HEADER, "Content-Type", HTML_TYPE], false);
    this.setDefaultHeaders();
    this.writeBuffer = [];
    this.statusCode = 200;
    this.reasonPhrase = "OK";
  }

  /**
   * Sets the response status; the reason defaults to the standard phrase (`Unknown` for a code
   * without one), and a reason with control characters or `<` becomes `Unknown`. A code outside
   * 200–999 throws a `RangeError`: a 1xx is an interim response the server sends itself
   * (`100 Continue`, and `101` when a `WebSocketHandler` switches protocols), never an answer.
   *
   * @example
   * this.setStatus(201);
   * this.setStatus(299, "Partly Done");
   */
  setStatus(status: number, reason?: string): void {
    if (!Number.isInteger(status) || status < 200 || status > 999) {
      const interim = status >= 100 && status < 200 ? " (a 1xx is an interim response, not an answer)" : "";
      throw new RangeError(`Invalid HTTP status ${status}${interim}: use an integer from 200 to 999`);
    }
    this.statusCode = status;
    if (reason === undefined) this.reasonPhrase = responses[status] ?? "Unknown";
    else this.reasonPhrase = reason.includes("<") || !REASON_PHRASE.test(reason) ? "Unknown" : reason;
  }

  /** The response status set so far. @example this.getStatus() // 200 */
  getStatus(): number {
    return this.statusCode;
  }

  /**
   * Sets a response header, replacing any value it had. Numbers are sent as decimal, dates in
   * HTTP format. A value with CR, LF or another control character throws a `TypeError`.
   *
   * @example
   * this.setHeader("Cache-Control", "no-store");
   * this.setHeader("Last-Modified", new Date());
   */
  setHeader(name: string, value: string | number | Date): void {
    this.headers.set(name, headerValue(value));
  }

  /**
   * Adds a response header value, keeping the values it already has.
   *
   * @example
   * this.addHeader("Link", '</style.css>; rel=preload');
   */
  addHeader(name: string, value: string | number | Date): void {
    this.headers.add(name, headerValue(value));
  }

  /**
   * Removes a response header (including the defaults, such as `Server`).
   *
   * @example
   * this.clearHeader("Server");
   */
  clearHeader(name: string): void {
    this.headers.delete(name);
  }

  /**
   * The value of argument `name` from the query or a form body; the last value wins. Without a
   * default, a missing argument is a 400 (`MissingArgumentError`). Control characters become
   * spaces and, unless `strip` is false, surrounding whitespace is removed.
   *
   * @example
   * const q = this.getArgument("q");             // 400 when absent
   * const page = this.getArgument("page", "1");  // "1" when absent
   */
  getArgument(name: string): string;
  getArgument<D>(name: string, defaultValue: D, strip?: boolean): string | D;
  getArgument(name: string, ...rest: unknown[]): unknown {
    return this.lastArgument(name, this.request.arguments, rest);
  }

  /**
   * Every value of argument `name` (query, then body); `[]` when absent.
   *
   * @example
   * const tags = this.getArguments("tag"); // ?tag=a&tag=b → ["a", "b"]
   */
  getArguments(name: string, strip = true): string[] {
    return this.decodeArguments(name, this.request.arguments, strip);
  }

  /**
   * Like `getArgument`, from the query string only.
   *
   * @example
   * const sort = this.getQueryArgument("sort", "name");
   */
  getQueryArgument(name: string): string;
  getQueryArgument<D>(name: string, defaultValue: D, strip?: boolean): string | D;
  getQueryArgument(name: string, ...rest: unknown[]): unknown {
    return this.lastArgument(name, this.request.queryArguments, rest);
  }

  /** Like `getArguments`, from the query string only. @example this.getQueryArguments("id") */
  getQueryArguments(name: string, strip = true): string[] {
    return this.decodeArguments(name, this.request.queryArguments, strip);
  }

  /**
   * Like `getArgument`, from the form body only.
   *
   * @example
   * const password = this.getBodyArgument("password", undefined, false);
   */
  getBodyArgument(name: string): string;
  getBodyArgument<D>(name: string, defaultValue: D, strip?: boolean): string | D;
  getBodyArgument(name: string, ...rest: unknown[]): unknown {
    return this.lastArgument(name, this.request.bodyArguments, rest);
  }

  /** Like `getArguments`, from the form body only. @example this.getBodyArguments("choice") */
  getBodyArguments(name: string, strip = true): string[] {
    return this.decodeArguments(name, this.request.bodyArguments, strip);
  }

  private lastArgument(name: string, source: ArgumentMap, rest: unknown[]): unknown {
    const values = this.decodeArguments(name, source, rest.length > 1 ? rest[1] !== false : true);
    if (values.length > 0) return values[values.length - 1];
    if (rest.length === 0) throw new MissingArgumentError(name);
    return rest[0];
  }

  private decodeArguments(name: string, source: ArgumentMap, strip: boolean): string[] {
    const raw = source[name];
    if (raw === undefined) return [];
    return raw.map((value) => {
      let s = this.decodeArgument(value, name).replace(CONTROL_CHARS, " ");
      if (strip) s = s.trim();
      return s;
    });
  }

  /**
   * Decodes a raw argument or path group as UTF-8; invalid UTF-8 is a 400. Override to accept
   * another encoding.
   *
   * @example
   * decodeArgument(value: Buffer, name?: string) { return value.toString("latin1"); }
   */
  decodeArgument(value: Buffer, name?: string): string {
    try {
      return decodeUtf8Strict(value);
    } catch {
      const shown = value.subarray(0, 40).toString("latin1");
      throw new HTTPError(400, `Invalid unicode in ${name ?? "url"}: ${JSON.stringify(shown)}`);
    }
  }

  // Cookies, signed cookies, XSRF and the current user. The logic lives in cookies.ts,
  // signing.ts, xsrf.ts and auth.ts; these methods only bind it to the request and settings.

  private cookieJar: Record<string, string> | undefined;
  private rawXsrf: RawXsrfToken | undefined;
  private maskedXsrf: string | undefined;
  private user: { value: any } | undefined;

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
    putSetCookie(this.headers, name, formatSetCookie(name, value, options));
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
   * Fails unless setting `name` is set, with an error that says which setting `feature` needs.
   *
   * @example
   * this.requireSetting("cookieSecret", "signed cookies");
   */
  requireSetting(name: string, feature = "this feature"): void {
    if (!this.settings[name]) throw new Error(`You must define the '${name}' setting in your application to use ${feature}`);
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

  /**
   * The XSRF token for this visitor, freshly masked for this response (Tornado's version 2,
   * `2|mask|masked token|timestamp`, or plain hex with `xsrfCookieVersion: 1`). On first use
   * without a valid XSRF cookie it sets one (`xsrfCookieName`, default `_xsrf`, with the
   * `xsrfCookieKwargs` options; 30 days when a user is logged in). Put it in forms (see
   * `xsrfFormHtml`) or send it as an `X-XSRFToken` header.
   *
   * @example
   * this.write({ csrf: this.xsrfToken }); // a single-page app echoes it in X-XSRFToken
   */
  get xsrfToken(): string {
    if (this.maskedXsrf === undefined) {
      const raw = this.xsrfRawToken();
      this.maskedXsrf = encodeXsrfToken(raw, this.settings.xsrfCookieVersion ?? 2);
      if (raw.version === null) {
        const options: CookieOptions = { ...this.settings.xsrfCookieKwargs };
        if (this.currentUser && !("expiresDays" in options)) options.expiresDays = 30;
        this.setCookie(this.settings.xsrfCookieName ?? "_xsrf", this.maskedXsrf, options);
      }
    }
    return this.maskedXsrf;
  }

  private xsrfRawToken(): RawXsrfToken {
    return (this.rawXsrf ??= readXsrfCookie(this.getCookie(this.settings.xsrfCookieName ?? "_xsrf")));
  }

  /**
   * The hidden `<input>` that carries the XSRF token in a form:
   * `<input type="hidden" name="_xsrf" value="…"/>`. Sets the XSRF cookie when needed.
   *
   * @example
   * this.write(`<form method="post">${this.xsrfFormHtml()}<button>Save</button></form>`);
   */
  xsrfFormHtml(): string {
    return xsrfInput(this.xsrfToken);
  }

  /**
   * Checks that the request repeats the XSRF cookie's token in the `_xsrf` argument or an
   * `X-XSRFToken` / `X-CSRFToken` header; a 403 otherwise. With the `xsrfCookies` setting it runs
   * before `prepare()` for every method but GET, HEAD and OPTIONS; override it to exempt a
   * handler (an API authenticated by a header, say).
   *
   * @example
   * override checkXsrfCookie() {} // this handler takes bearer tokens, not cookies
   */
  checkXsrfCookie(): void | Promise<void> {
    const headers = this.request.headers;
    const input = this.getArgument("_xsrf", null) || headers.get("X-Xsrftoken") || headers.get("X-Csrftoken");
    checkXsrfToken(input, this.xsrfRawToken().token);
  }

  /**
   * Override to say who is logged in (from a signed cookie, a session store, a token); may be
   * async. Its result is awaited once per request, before `prepare()`, and kept in
   * `currentUser`. The default is no user (`null`).
   *
   * @example
   * override async getCurrentUser() {
   *   const id = this.getSignedCookie("user");
   *   return id === null ? null : await this.settings.db.findUser(id);
   * }
   */
  getCurrentUser(): unknown {
    return null;
  }

  /**
   * The logged-in user: what `getCurrentUser()` gave for this request (awaited before
   * `prepare()`), or what the handler assigned (`this.currentUser = user` in `prepare()`, say).
   * Read before `getCurrentUser()` has been awaited, it calls it, and throws if the result is a
   * Promise.
   *
   * @example
   * this.write({ name: this.currentUser?.name ?? "guest" });
   */
  get currentUser(): any {
    if (this.user === undefined) {
      const result = this.getCurrentUser();
      if (isThenable(result)) throw new Error("currentUser is not known yet: the async getCurrentUser() is awaited before prepare(); read currentUser from prepare() on");
      this.user = { value: result };
    }
    return this.user.value;
  }

  set currentUser(value: any) {
    this.user = { value };
  }

  /**
   * Where `authenticated` sends visitors who are not logged in: the `loginUrl` setting (an error
   * when it is not set). Override to choose per request.
   *
   * @example
   * override getLoginUrl() { return `/login?lang=${this.getCookie("lang", "en")}`; }
   */
  getLoginUrl(): string {
    this.requireSetting("loginUrl", "@authenticated");
    return this.settings.loginUrl!;
  }

  /**
   * The request body parsed as JSON (parsed once, then cached). An empty or malformed body is
   * a 400 that says what was wrong.
   *
   * @example
   * async post() {
   *   const { name } = this.jsonBody<{ name?: string }>();
   * }
   */
  jsonBody<T = any>(): T {
    if (this.parsedJson === undefined) {
      const body = this.request.body;
      if (body.length === 0) throw new HTTPError(400, "Missing JSON body");
      let text: string;
      try {
        text = decodeUtf8Strict(body);
      } catch {
        throw new HTTPError(400, "Invalid JSON body: not UTF-8");
      }
      try {
        this.parsedJson = { value: JSON.parse(text) };
      } catch (e) {
        throw new HTTPError(400, `Invalid JSON body: ${(e as Error).message}`, { cause: e });
      }
    }
    return this.parsedJson.value as T;
  }

  /**
   * Adds to the response body (sent at `finish()`, or at `flush()`). An object or array is
   * sent as JSON with `Content-Type: application/json; charset=UTF-8` (the `jsonEncoder`
   * setting can replace the encoder).
   *
   * @example
   * this.write("Hello, ");
   * this.write("world");
   * // or: this.write({ id: 1, name: "Ann" });
   */
  write(chunk: Chunk): void {
    if (this.done) throw new Error("Cannot write() after finish()");
    if (typeof chunk === "string" || Buffer.isBuffer(chunk)) {
      this.writeBuffer.push(chunk);
    } else if (chunk instanceof Uint8Array) {
      this.writeBuffer.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    } else if (chunk !== null && typeof chunk === "object") {
      const encoder = this.application.settings.jsonEncoder ?? jsonEncode;
      this.writeBuffer.push(encoder(chunk));
      this.headers.put("Content-Type", JSON_TYPE);
    } else {
      throw new TypeError(`write() takes a string, a Buffer or an object, not ${chunk === null ? "null" : typeof chunk}`);
    }
  }

  private takeBuffer(): string | Buffer | null {
    const parts = this.writeBuffer;
    if (parts.length === 0) return null;
    const taken = parts.length === 1 ? parts[0]! : Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : p)));
    parts.length = 0;
    return taken;
  }

  /**
   * Sends the headers (on the first call) and the body written so far, as a chunked response;
   * resolves when the socket can take more, so a loop of `write` + `await flush()` streams
   * with back-pressure. Rejects with `StreamClosedError` once the client has gone.
   *
   * @example
   * for await (const row of db.stream(sql)) {
   *   this.write(JSON.stringify(row) + "\n");
   *   await this.flush();
   * }
   */
  async flush(): Promise<void> {
    const connection = this.request.connection;
    if (!connection) throw new Error("flush() needs a request that came from a server");
    const chunk = this.takeBuffer();
    if (!this.headersSent) {
      const settings = this.settings;
      if (settings.compressResponse || settings.cors) {
        this.bodyEncoder = startTransformedStream(connection, this.request, settings, this.statusCode, this.headers);
      }
      // A head the connection refuses throws with nothing sent: the error becomes a 500.
      try {
        connection.writeHeaders(this.statusCode, this.reasonPhrase, this.headers);
      } catch (e) {
        this.bodyEncoder = null;
        throw e;
      }
      this.headersSent = true;
    }
    if (this.bodyEncoder !== null) return this.bodyEncoder.write(chunk);
    if (chunk !== null && byteLength(chunk) > 0) await connection.write(chunk);
  }

  /**
   * Ends the response, sending what was written (plus `chunk`). Before anything was flushed
   * it adds `Content-Length` and, for a 200 to GET/HEAD, an `Etag`, answering 304 when the
   * client's `If-None-Match` matches.
   *
   * @example
   * this.finish({ ok: true });
   */
  finish(chunk?: Chunk): void {
    if (this.done) throw new Error("finish() called twice");
    if (chunk !== undefined && chunk !== null) this.write(chunk);
    const connection = this.request.connection;
    if (!this.headersSent) {
      const method = this.request.method;
      if (this.statusCode === 200 && (method === "GET" || method === "HEAD") && !this.headers.has("Etag")) {
        const etag = this.computeEtag();
        if (etag !== null) {
          this.headers.put("Etag", etag);
          if (this.checkEtagHeader()) {
            this.writeBuffer.length = 0;
            this.setStatus(304);
          }
        }
      }
      let body = this.takeBuffer();
      const status = this.statusCode;
      if (status === 204 || status === 304 || (status >= 100 && status < 200)) {
        if (body !== null && byteLength(body) > 0) throw new Error(`Cannot send a body with status ${status}`);
        body = null;
        // RFC 9110 §15.4.5: a 304 describes the stored representation, so these are left out.
        this.headers.delete("Content-Encoding");
        this.headers.delete("Content-Language");
        this.headers.delete("Content-Type");
      } else if (!this.headers.has("Content-Length")) {
        this.headers.put("Content-Length", String(body === null ? 0 : byteLength(body)));
      }
      this.headersSent = true;
      this.done = true;
      const settings = this.settings;
      if (settings.compressResponse || settings.cors) sendTransformed(connection, this.request, settings, status, this.reasonPhrase, this.headers, body);
      else if (!respondSafely(connection, this.request, status, this.reasonPhrase, this.headers, body)) this.statusCode = 500;
    } else {
      const body = this.takeBuffer();
      this.done = true;
      if (this.bodyEncoder !== null) this.bodyEncoder.end(body);
      else if (connection) {
        if (body !== null && !connection.closed) connection.write(body).catch(() => {});
        connection.finish();
      }
    }
    this.request.markFinished();
    this.application.logRequest(this);
    try {
      const result = this.onFinish();
      if (isThenable(result)) this.onFinishResult = Promise.resolve(result);
    } catch (e) {
      appLog.error("Exception in onFinish", e);
    }
  }

  /**
   * Records the `101 Switching Protocols` that `WebSocketHandler` has written itself (for the
   * access log); `setStatus()` refuses every 1xx.
   * @internal
   */
  protected _switchedProtocols(): void {
    this.statusCode = 101;
    this.reasonPhrase = "Switching Protocols";
  }

  /**
   * The response headers set so far (`WebSocketHandler` sends them with its 101 response).
   * @internal
   */
  protected _responseHeaders(): HTTPHeaders {
    return this.headers;
  }

  /** Whether `finish()` has been called. @example if (!this.finished) this.finish(); */
  get finished(): boolean {
    return this.done;
  }

  /** Whether the status line and headers have been sent. @example this.headersWritten */
  get headersWritten(): boolean {
    return this.headersSent;
  }

  /**
   * Redirects to `url`: 302, 301 when `permanent`, or any 3xx given as `status`. Characters
   * beyond ASCII are percent-encoded as UTF-8 (`/café` → `/caf%C3%A9`); a control character
   * throws a `TypeError`.
   *
   * @example
   * this.redirect("/login?next=" + encodeURIComponent(this.request.uri));
   * this.redirect("/new-home", true); // 301
   */
  redirect(url: string, permanent = false, status?: number): void {
    if (this.headersSent) throw new Error("Cannot redirect after headers have been written");
    const code = status ?? (permanent ? 301 : 302);
    if (code < 300 || code > 399) throw new RangeError(`redirect() needs a 3xx status, not ${code}`);
    this.setStatus(code);
    this.setHeader("Location", encodeLocation(url));
    this.finish();
  }

  /**
   * Renders template `templateName` (from the `templatePath` setting) with `context` and
   * finishes the response with it; `await` it (or return it). The template also sees
   * `getTemplateNamespace()` (`handler`, `request`, `currentUser`) and the helpers `staticUrl`,
   * `xsrfFormHtml` and `reverseUrl`. A template error rejects with `TemplateError` (a 500).
   *
   * @example
   * async get() {
   *   await this.render("users.hbs", { title: "Users", users: await this.settings.db.users() });
   * }
   */
  async render(templateName: string, context: Record<string, unknown> = {}): Promise<void> {
    if (this.done) throw new Error("Cannot render() after finish()");
    const html = await this.renderString(templateName, context);
    if (this.done) throw new Error(`render("${templateName}") ended after the response was finished: await this.render(…)`);
    this.finish(html);
  }

  /**
   * Renders template `templateName` with `context` (over `getTemplateNamespace()`) and
   * resolves to the text, without sending anything.
   *
   * @example
   * const body = await this.renderString("email/welcome.hbs", { user });
   */
  async renderString(templateName: string, context: Record<string, unknown> = {}): Promise<string> {
    const template = await loaderFor(this).load(templateName);
    const namespace = await this.getTemplateNamespace();
    return template.render({ ...namespace, ...context }, { helpers: handlerHelpers(this) });
  }

  /**
   * The variables every template rendered by this handler sees: `handler`, `request` and,
   * when the handler has one, `currentUser`. Override to add your own (keep `super`'s).
   *
   * @example
   * override async getTemplateNamespace() {
   *   return { ...(await super.getTemplateNamespace()), siteName: "Acme" };
   * }
   */
  async getTemplateNamespace(): Promise<Record<string, unknown>> {
    return defaultNamespace(this);
  }

  /**
   * The folder templates are loaded from: the `templatePath` setting. Override to choose one
   * per handler.
   *
   * @example
   * override getTemplatePath() { return new URL("./templates", import.meta.url).pathname; }
   */
  getTemplatePath(): string | undefined {
    return this.settings.templatePath;
  }

  /**
   * Makes the loader for a template folder (called once per application and folder). The
   * default caches compiled templates unless `compiledTemplateCache` is false, which `debug`
   * implies.
   *
   * @example
   * override createTemplateLoader(path: string) { return new TemplateLoader(path, { helpers }); }
   */
  createTemplateLoader(templatePath: string): TemplateLoader {
    const settings = this.settings;
    return new TemplateLoader(templatePath, { cache: settings.compiledTemplateCache ?? !settings.debug });
  }

  /**
   * The `Etag` for the body written so far (a quoted SHA-1 hex digest); return `null` from an
   * override to send no `Etag`.
   *
   * @example
   * computeEtag() { return `"${this.version}"`; }
   */
  computeEtag(): string | null {
    const parts = this.writeBuffer;
    const data =
      parts.length === 1 ? parts[0]! : parts.length === 0 ? "" : Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : p)));
    // A short text body is hashed in JS: SHA-1's fixed cost per call dominates small bodies.
    if (typeof data === "string" && data.length <= SHORT_BODY) return `"${hash64(data)}"`;
    return `"${hash("sha1", data, "hex")}"`;
  }

  /**
   * Sets the `Etag` header from `computeEtag()`.
   *
   * @example
   * this.setEtagHeader(); if (this.checkEtagHeader()) { this.setStatus(304); this.finish(); }
   */
  setEtagHeader(): void {
    const etag = this.computeEtag();
    if (etag !== null) this.headers.set("Etag", etag);
  }

  /**
   * Whether the request's `If-None-Match` matches the response's `Etag` (`*`, weak tags and
   * lists understood).
   *
   * @example
   * if (this.checkEtagHeader()) { this.setStatus(304); return; }
   */
  checkEtagHeader(): boolean {
    const ifNoneMatch = this.request.headers.get("If-None-Match");
    if (ifNoneMatch === undefined) return false;
    const computed = this.headers.get("Etag");
    if (!computed) return false;
    const etags = ifNoneMatch.match(ETAG_LIST);
    if (etags === null) return false;
    if (etags[0] === "*") return true;
    const strip = (tag: string) => (tag.startsWith("W/") ? tag.slice(2) : tag);
    const target = strip(computed);
    return etags.some((tag) => strip(tag) === target);
  }

  /**
   * Answers with an error status, discarding headers and body written so far, through
   * `writeError()`. After headers were flushed it can only log and end the response.
   *
   * @example
   * if (!this.settings.db.ready) return this.sendError(503);
   */
  sendError(status = 500, details: ErrorDetails = {}): void | Promise<void> {
    if (this.headersSent) {
      genLog.error("Cannot send error response after headers written");
      if (!this.done) {
        try {
          this.finish();
        } catch (e) {
          genLog.error("Failed to flush partial response", e);
        }
      }
      // The body is cut short; closing tells the client so.
      this.request.connection?.closeAfterResponse();
      return;
    }
    this.clear();
    const error = details.error;
    const reason = error instanceof HTTPError && error.reason !== undefined ? error.reason : details.reason;
    this.setStatus(status, reason);
    if (error instanceof HTTPError && error.headers) {
      for (const [name, value] of Object.entries(error.headers)) this.setHeader(name, value);
    }
    const failed = (e: unknown) => {
      appLog.error("Uncaught exception in writeError", e);
      this.writeBuffer = [];
    };
    const end = () => {
      if (!this.done) this.finish();
    };
    let result: void | Promise<void> = undefined;
    try {
      if (status !== 304) result = this.writeError(status, details);
    } catch (e) {
      failed(e);
    }
    if (isThenable(result)) return Promise.resolve(result).then(end, (e) => (failed(e), end()));
    end();
  }

  /**
   * Writes the error page; override for custom error bodies (JSON for an API, say). The
   * default is Tornado's HTML page, or the plain-text stack when `serveTraceback` (or `debug`)
   * is on and an error was thrown.
   *
   * @example
   * writeError(status: number, { error }: ErrorDetails) {
   *   const message = error instanceof HTTPError ? error.logMessage : undefined;
   *   this.finish({ error: { status, message: message ?? this.reason } });
   * }
   */
  writeError(status: number, details: ErrorDetails = {}): void | Promise<void> {
    const error = details.error;
    if (this.settings.serveTraceback && error !== undefined) {
      this.setHeader("Content-Type", "text/plain; charset=UTF-8");
      this.finish(error instanceof Error ? (error.stack ?? String(error)) : String(error));
      return;
    }
    const message = xhtmlEscape(this.reasonPhrase);
    this.finish(`<html><title>${status}: ${message}</title><body>${status}: ${message}</body></html>`);
  }

  /** The reason phrase of the status set so far. @example this.reason // "Not Found" */
  get reason(): string {
    return this.reasonPhrase;
  }

  /**
   * Logs an error thrown by the handler: an `HTTPError` with a log message as a warning on
   * `tornado.general`, anything else with its stack on `tornado.application`.
   *
   * @example
   * logException(error: unknown) { if (!(error instanceof HTTPError)) sentry.capture(error); super.logException(error); }
   */
  logException(error: unknown): void {
    if (error instanceof HTTPError) {
      if (error.logMessage) genLog.warning(`${error.status} ${this.request}: ${error.logMessage}`);
    } else {
      appLog.error(`Uncaught exception ${this.request}`, error);
    }
  }

  /**
   * The path of the named route, with `args` filled into its groups.
   *
   * @example
   * this.redirect(this.reverseUrl("user", user.id));
   */
  reverseUrl(name: string, ...args: unknown[]): string {
    return this.application.reverseUrl(name, ...args);
  }

  /**
   * The URL of a file under the `staticPath` setting, versioned by default (`?v=` and the
   * file's content hash) so that it can be cached for good: a new file gets a new URL. Built
   * by the `staticHandlerClass`'s `makeStaticUrl`; throws when `staticPath` is not set.
   *
   * @example
   * this.staticUrl("app.css")                        // "/static/app.css?v=5e2f…"
   * this.staticUrl("app.css", { includeHost: true }) // "https://example.com/static/app.css?v=5e2f…"
   * this.staticUrl("app.css", { includeVersion: false }) // "/static/app.css"
   */
  staticUrl(path: string, options: StaticUrlOptions = {}): string {
    const handlerClass = this.settings.staticHandlerClass;
    if (!this.settings.staticPath || handlerClass === undefined) {
      throw new Error("You must define the 'staticPath' setting in your application to use staticUrl()");
    }
    const base = options.includeHost ? `${this.request.protocol}://${this.request.host}` : "";
    return base + handlerClass.makeStaticUrl(this.settings, path, options);
  }

  /**
   * Runs the request through the lifecycle; called by `Application`.
   * @internal
   */
  async _execute(initArgs: unknown, rawPathArgs: (string | null)[], rawPathKwargs: Record<string, string | null>): Promise<void> {
    const request = this.request;
    const connection = request.connection;
    if (this.onConnectionClose !== RequestHandler.prototype.onConnectionClose) connection?.onClose(() => this.connectionLost());
    try {
      let result: unknown = this.initialize(initArgs);
      if (isThenable(result)) await result;
      if (!SUPPORTED_METHODS.includes(request.method)) throw new HTTPError(405);
      // Beyond Tornado: with the cors setting, every route answers preflights (throws Finish).
      const cors = this.settings.cors;
      if (cors !== undefined && request.method === "OPTIONS") answerPreflight(this, cors, this.headers, () => this.implementedMethods());
      const method = this.handlerMethod(request.method);
      // Without a prepare() of its own the answer is 405 whatever the body holds: refuse before
      // reading it, so an `Expect: 100-continue` client never sends it. With one, Tornado's
      // order stands (prepare() may answer, e.g. a catch-all 404).
      if (method === null && this.prepare === RequestHandler.prototype.prepare) throw this.methodNotAllowed();
      if (connection?.bodyExpected) {
        try {
          request.body = await connection.readBody();
        } catch (e) {
          if (e instanceof HTTPInputError) throw new HTTPError(e.status, e.message, { cause: e });
          throw e;
        }
      }
      // Limits and framing only: the body is parsed when the handler reads its arguments.
      try {
        request.checkBody();
      } catch (e) {
        if (e instanceof HTTPInputError) throw invalidBody(e);
        throw e;
      }
      if (rawPathArgs.length > 0) {
        this.pathArgs = rawPathArgs.map((arg) => (arg === null ? null : this.decodePathArgument(arg)));
        this.pathKwargs = {};
        for (const name in rawPathKwargs) {
          const value = rawPathKwargs[name];
          this.pathKwargs[name] = value == null ? null : this.decodePathArgument(value, name);
        }
      }
      // XSRF, then the current user, before prepare() (Tornado's order; see xsrf.ts, auth.ts).
      const safe = request.method === "GET" || request.method === "HEAD" || request.method === "OPTIONS";
      if (this.settings.xsrfCookies && !safe) {
        result = this.checkXsrfCookie();
        if (isThenable(result)) await result;
      }
      if (this.user === undefined && this.getCurrentUser !== RequestHandler.prototype.getCurrentUser) {
        result = this.getCurrentUser();
        this.currentUser = isThenable(result) ? await result : result;
      }
      result = this.prepare();
      if (isThenable(result)) await result;
      if (this.done) return;
      if (method === null) throw this.methodNotAllowed();
      result = method.apply(this, this.pathArgs);
      if (isThenable(result)) await result;
      if (this.autoFinish && !this.done) this.finish();
    } catch (e) {
      try {
        const pending = this.handleRequestException(e);
        if (pending) await pending;
      } catch (inner) {
        appLog.error("Exception in exception handler", inner);
        // Whatever failed (an HTTPError with a status that cannot answer, say), the client gets
        // an answer and the request leaves the server's in-flight count.
        if (!this.done) {
          try {
            this.clear();
            this.setStatus(500);
            this.finish();
          } catch (last) {
            appLog.error("Cannot finish the request; closing its connection", last);
            if (!this.done) connection?.abort?.();
            connection?.finish();
          }
        }
      }
    }
    if (this.onFinishResult) {
      try {
        await this.onFinishResult;
      } catch (e) {
        appLog.error("Exception in onFinish", e);
      }
    }
  }

  private decodePathArgument(raw: string, name?: string): string {
    // Fast path: nothing escaped and plain ASCII.
    if (!raw.includes("%") && !/[^\x00-\x7f]/.test(raw)) return raw;
    return this.decodeArgument(urlUnescapeToBuffer(raw, { plus: false }), name);
  }

  private handlerMethod(method: string): ((...args: unknown[]) => unknown) | null {
    const self = this as unknown as Record<string, unknown>;
    let fn = self[METHOD_NAMES[method] ?? method.toLowerCase()];
    // Beyond Tornado: HEAD is answered from get() when there is no head().
    if (fn === undefined && method === "HEAD") fn = self.get;
    return typeof fn === "function" ? (fn as (...args: unknown[]) => unknown) : null;
  }

  private implementedMethods(): string[] {
    return SUPPORTED_METHODS.filter((m) => this.handlerMethod(m) !== null);
  }

  private methodNotAllowed(): HTTPError {
    return new HTTPError(405, undefined, { headers: { Allow: this.implementedMethods().join(", ") } });
  }

  private connectionLost(): void {
    try {
      this.onConnectionClose();
    } catch (e) {
      appLog.error("Exception in onConnectionClose", e);
    }
  }

  private handleRequestException(e: unknown): void | Promise<void> {
    // A body parsed on first read (getArgument, files) can be malformed: the client's fault.
    if (e instanceof HTTPInputError) e = invalidBody(e);
    if (e instanceof Finish) {
      if (!this.done) this.finish(e.body);
      return;
    }
    // A write to a client that has gone is not an application error; the request still ends
    // here, or a graceful close() would wait for it until its timeout.
    if (e instanceof StreamClosedError && this.request.connection?.closed) {
      if (!this.done) {
        try {
          this.finish();
        } catch (inner) {
          appLog.error("Error finishing a request whose client has gone", inner);
        }
      }
      return;
    }
    try {
      this.logException(e);
    } catch (inner) {
      appLog.error("Error in exception logger", inner);
    }
    if (this.done) return;
    return this.sendError(e instanceof HTTPError ? e.status : 500, { error: e });
  }
}

function invalidBody(e: HTTPInputError): HTTPError {
  return new HTTPError(e.status, `Invalid body: ${e.message}`, { cause: e });
}

const SHORT_BODY = 128;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function hex32(h: number): string {
  return HEX[h >>> 24]! + HEX[(h >>> 16) & 255]! + HEX[(h >>> 8) & 255]! + HEX[h & 255]!;
}

// A 64-bit non-cryptographic hash of a string's UTF-16 code units (two multiply-xorshift lanes);
// an Etag only has to change when the body does.
function hash64(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return hex32(h1) + hex32(h2);
}

function headerValue(value: string | number | Date): string {
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  if (value instanceof Date) return value.toUTCString();
  throw new TypeError(`Unsupported header value ${String(value)}`);
}

/**
 * Method decorators, as Tornado's: `authenticated` (log in first), `addslash` and `removeslash`
 * (one canonical URL). Each works as a standard TypeScript 5 decorator (`@authenticated`, no
 * `experimentalDecorators`) and as a plain wrapper (`authenticated(function () { … })`).
 */

import { urlEscape } from "../escape.js";
import type { HTTPServerRequest } from "../httputil/request.js";
import { HTTPError } from "./errors.js";
import type { RequestHandler } from "./handler.js";

/**
 * A handler method as the decorators take and return it.
 *
 * @example
 * const get: HandlerMethod<MyHandler, [string], Promise<void>> = async function (id) { this.write(id); };
 */
export type HandlerMethod<This, Args extends unknown[], R> = (this: This, ...args: Args) => R;

// A URL scheme, as Python's urlsplit recognises one: the login URL is then absolute.
const HAS_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

function decorate<This extends RequestHandler, Args extends unknown[], R>(
  decorator: string,
  method: HandlerMethod<This, Args, R>,
  context: { kind: string } | undefined,
  guard: (handler: This) => boolean,
): HandlerMethod<This, Args, R> {
  if (typeof method !== "function") {
    throw new TypeError(`${decorator} wraps a handler method; as a decorator it needs TypeScript's standard decorators (turn experimentalDecorators off)`);
  }
  if (context !== undefined && context.kind !== "method") throw new TypeError(`${decorator} decorates methods, not a ${context.kind}`);
  const wrapper = function (this: This, ...args: Args): R {
    // A guard that has answered (redirect) or thrown ends the request: the method is not called.
    return (guard(this) ? method.apply(this, args) : undefined) as R;
  };
  Object.defineProperty(wrapper, "name", { value: method.name });
  return wrapper;
}

/**
 * Where `authenticated` sends a visitor who is not logged in: the login URL with
 * `next=<this request>` (the full URL when the login URL is absolute), or the login URL as it is
 * when it already has a query.
 * @internal
 */
export function loginRedirectUrl(loginUrl: string, request: HTTPServerRequest): string {
  if (loginUrl.includes("?")) return loginUrl;
  const next = HAS_SCHEME.test(loginUrl) ? request.fullUrl() : request.uri;
  return `${loginUrl}?next=${urlEscape(next)}`;
}

// A path to redirect to on this site: "//host/x" (or "/\host") would send a browser to another
// host, so such a path keeps one leading slash.
function onThisSite(path: string): string {
  return /^[/\\]{2}/.test(path) ? "/" + path.replace(/^[/\\]+/, "") : path;
}

/**
 * Requires a logged-in user (a truthy `currentUser`) for a handler method. Otherwise GET and HEAD
 * are redirected (302) to `getLoginUrl()` with `?next=<the request's URI>` (the full URL when the
 * login URL is absolute; nothing added when it already has a query), and other methods get a
 * 403. Works as a standard decorator and as a wrapper.
 *
 * @example
 * class Account extends RequestHandler {
 *   override async getCurrentUser() { return this.getSignedCookie("user"); }
 *   @authenticated
 *   async get() { this.write(`Hello, ${this.currentUser}`); }
 * }
 * // the wrapper form, for plain JavaScript:
 * Account.prototype.post = authenticated(async function () { … });
 * // settings: { loginUrl: "/login", cookieSecret }
 */
export function authenticated<This extends RequestHandler, Args extends unknown[], R>(
  method: HandlerMethod<This, Args, R>,
  context?: ClassMethodDecoratorContext<This, HandlerMethod<This, Args, R>>,
): HandlerMethod<This, Args, R> {
  return decorate("authenticated", method, context, (handler) => {
    if (handler.currentUser) return true;
    const request = handler.request;
    if (request.method !== "GET" && request.method !== "HEAD") throw new HTTPError(403);
    handler.redirect(loginRedirectUrl(handler.getLoginUrl(), request));
    return false;
  });
}

/**
 * Redirects `/foo` to `/foo/` (301, query kept) for GET and HEAD; other methods on a path
 * without the trailing slash get a 404. Route with a pattern such as `"/foo/?"`.
 *
 * @example
 * class Docs extends RequestHandler {
 *   @addslash
 *   get() { this.write("docs index"); }
 * }
 * // route: ["/docs/?", Docs]
 */
export function addslash<This extends RequestHandler, Args extends unknown[], R>(
  method: HandlerMethod<This, Args, R>,
  context?: ClassMethodDecoratorContext<This, HandlerMethod<This, Args, R>>,
): HandlerMethod<This, Args, R> {
  return decorate("addslash", method, context, (handler) => {
    const { path, query, method: verb } = handler.request;
    if (path.endsWith("/")) return true;
    if (verb !== "GET" && verb !== "HEAD") throw new HTTPError(404);
    handler.redirect(onThisSite(path + "/") + (query ? `?${query}` : ""), true);
    return false;
  });
}

/**
 * Redirects `/foo/` (and `/foo//`) to `/foo` (301, query kept) for GET and HEAD; other methods
 * on a path with a trailing slash get a 404. `/` itself is served. Route with a pattern such as
 * `"/foo/*"`.
 *
 * @example
 * class Item extends RequestHandler {
 *   @removeslash
 *   get(id: string) { this.write({ id }); }
 * }
 * // route: ["/items/(\\d+)/*", Item]
 */
export function removeslash<This extends RequestHandler, Args extends unknown[], R>(
  method: HandlerMethod<This, Args, R>,
  context?: ClassMethodDecoratorContext<This, HandlerMethod<This, Args, R>>,
): HandlerMethod<This, Args, R> {
  return decorate("removeslash", method, context, (handler) => {
    const { path, query, method: verb } = handler.request;
    if (!path.endsWith("/")) return true;
    if (verb !== "GET" && verb !== "HEAD") throw new HTTPError(404);
    const trimmed = path.replace(/\/+$/, "");
    if (trimmed === "") return true; // "/" has no shorter form
    handler.redirect(onThisSite(trimmed) + (query ? `?${query}` : ""), true);
    return false;
  });
}

/** `RedirectHandler`: a route that sends clients elsewhere, with the path's groups filled in. */

import { urlEscape } from "../escape.js";
import type { ArgumentMap } from "../httputil/body.js";
import { HTTPError } from "../web/errors.js";
import { RequestHandler } from "../web/handler.js";

/**
 * The `initArgs` of a `RedirectHandler` route.
 *
 * @example
 * ["/old/(.*)", RedirectHandler, { url: "/new/{0}", permanent: false } satisfies RedirectHandlerArgs]
 */
export interface RedirectHandlerArgs {
  /** Where to send the client; `{0}`, `{1}`, … (or `{name}`) take the route's groups. */
  url: string;
  /** 301 when true (the default), else 302. */
  permanent?: boolean;
}

// Browsers read `//host` (and `/\host`) as another site's address.
const SCHEME_RELATIVE = /^[/\\]{2}/;
// `{{` and `}}` are literal braces; `{}` is the next group, `{0}` a group by number, `{name}` by name.
const FIELD = /\{\{|\}\}|\{([^{}]*)\}|[{}]/g;

/**
 * Redirects every GET (and HEAD) to `url`, 301 by default, as Tornado's `RedirectHandler`.
 *
 * Contract:
 * - `{0}`, `{1}`, … in `url` are replaced by the route's groups in order, `{name}` by a named
 *   group, `{}` by the next group (Python's `str.format` fields, without format specs);
 *   `{{` and `}}` are literal braces. A field naming no group is a 500.
 * - Each group value is percent-encoded as `reverseUrl` does (`/` kept), so the new URL holds
 *   the same path the client sent; a group that did not match is empty.
 * - The request's query arguments are appended to the new URL's query (before any `#fragment`).
 * - A target that the groups turn into a scheme-relative URL (`/{0}` with `/r//evil.com` or
 *   `/r/%2Fevil.com` gives `//evil.com`, another site) is a 403, never sent: an open redirect.
 * - Other methods are a 405.
 *
 * @example
 * new Application([
 *   ["/favicon.ico", RedirectHandler, { url: "/static/favicon.ico" }],
 *   ["/(.*?)/(.*?)/(.*)", RedirectHandler, { url: "/{1}/{0}/{2}" }],  // /a/b/c → /b/a/c
 *   ["/docs/(?<page>.*)", RedirectHandler, { url: "https://docs.example.com/{page}", permanent: false }],
 * ]);
 */
export class RedirectHandler extends RequestHandler {
  /** The target URL template. */
  url = "";
  /** Whether the redirect is a 301 (else 302). */
  permanent = true;

  /**
   * Takes the route's `initArgs`: the target `url` and whether the redirect is `permanent`.
   *
   * @example
   * ["/home", RedirectHandler, { url: "/", permanent: false }]
   */
  override initialize(initArgs: RedirectHandlerArgs): void {
    if (typeof initArgs?.url !== "string") throw new TypeError("RedirectHandler needs initArgs { url: <target> }");
    this.url = initArgs.url;
    this.permanent = initArgs.permanent ?? true;
  }

  /**
   * Sends the redirect: `url` with the groups filled in and the query arguments kept.
   *
   * @example
   * // ["/old/(.*)", RedirectHandler, { url: "/new/{0}" }]: GET /old/a%20b?x=1 → 301 /new/a%20b?x=1
   */
  get(...groups: (string | null)[]): void {
    let target = formatTarget(this.url, groups, this.pathKwargs);
    if (SCHEME_RELATIVE.test(target) && !SCHEME_RELATIVE.test(this.url)) {
      throw new HTTPError(403, `RedirectHandler target ${JSON.stringify(target)} would leave the site`);
    }
    const query = this.request.queryArguments;
    if (Object.keys(query).length > 0) target = appendQuery(target, query);
    this.redirect(target, this.permanent);
  }
}

function formatTarget(template: string, groups: (string | null)[], named: Record<string, string | null>): string {
  let next = 0;
  return template.replace(FIELD, (field: string, name: string | undefined) => {
    if (field === "{{") return "{";
    if (field === "}}") return "}";
    if (name === undefined) throw new Error(`Single '${field}' in RedirectHandler url ${JSON.stringify(template)}: write {{ or }} for a literal brace`);
    let value: string | null | undefined;
    if (name === "") value = groups[next++];
    else if (/^\d+$/.test(name)) value = groups[Number(name)];
    else value = Object.hasOwn(named, name) ? named[name] : undefined;
    if (value === undefined) {
      throw new Error(`RedirectHandler url ${JSON.stringify(template)} uses {${name}}, which is not a group of its route`);
    }
    return value === null ? "" : urlEscape(value, { plus: false });
  });
}

// Tornado's url_concat: the request's arguments go after any the target already has.
function appendQuery(target: string, query: ArgumentMap): string {
  const hash = target.indexOf("#");
  const fragment = hash < 0 ? "" : target.slice(hash);
  const base = hash < 0 ? target : target.slice(0, hash);
  const pairs: string[] = [];
  for (const name in query) for (const value of query[name]!) pairs.push(`${urlEscape(name)}=${urlEscape(value)}`);
  const joiner = !base.includes("?") ? "?" : base.endsWith("?") || base.endsWith("&") ? "" : "&";
  return base + joiner + pairs.join("&") + fragment;
}

/**
 * Cross-origin resource sharing (the Fetch standard's CORS protocol), applied by the runtime to
 * every handler when the `cors` setting is given. Beyond Tornado, which leaves it to each app.
 */

import type { HTTPHeaders } from "../httputil/headers.js";
import type { HTTPServerRequest } from "../httputil/request.js";
import { appLog } from "../log.js";
import { Finish } from "./errors.js";

/**
 * The `cors` setting: which origins may call the app from a browser, and what their preflight
 * requests are told.
 *
 * Origins are compared exactly, as browsers send them (`https://app.example:8443`, no path or
 * trailing slash).
 *
 * @example
 * new Application(routes, {
 *   cors: { origins: ["https://app.example"], headers: ["Content-Type", "Authorization"], maxAge: 600 },
 * });
 */
export interface CorsOptions {
  /** `"*"` for any origin, a list of origins, or a function that decides for each `Origin`. */
  origins: "*" | readonly string[] | ((origin: string) => boolean);
  /** `Access-Control-Allow-Methods` for preflights. Default: the methods the route's handler implements. */
  methods?: readonly string[];
  /** `Access-Control-Allow-Headers` for preflights. Default: the headers the preflight asks for. */
  headers?: readonly string[];
  /** `Access-Control-Expose-Headers`: response headers the page's script may read. */
  exposeHeaders?: readonly string[];
  /**
   * Allow cookies and HTTP authentication (`Access-Control-Allow-Credentials: true`). The
   * origin is then always echoed, never `*`, as the standard requires. Needs a list of origins
   * or a function: with `origins: "*"` it is refused (`new Application` throws), since any
   * site could then act with the visitor's cookies.
   */
  credentials?: boolean;
  /** `Access-Control-Max-Age`: how many seconds a browser may cache a preflight answer. */
  maxAge?: number;
}

// The setting, digested once per options object.
interface CorsPolicy {
  allows(origin: string): boolean;
  // "*" may be sent as the allowed origin (any origin, no credentials): nothing varies by Origin.
  wildcard: boolean;
  credentials: boolean;
  methods: string | undefined;
  headers: string | undefined;
  exposeHeaders: string | undefined;
  maxAge: string | undefined;
}

const policies = new WeakMap<object, CorsPolicy>();
// A setting that is not even an object (`cors: true`) cannot key a WeakMap.
const otherPolicies = new Map<unknown, CorsPolicy>();

// What a broken setting gets: no CORS headers at all (and one error in the log).
const REFUSE_ALL: CorsPolicy = {
  allows: () => false,
  wildcard: false,
  credentials: false,
  methods: undefined,
  headers: undefined,
  exposeHeaders: undefined,
  maxAge: undefined,
};

// RFC 9110 §5.6.2 token: what a method or header name is made of.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// A serialised origin is visible ASCII (`null` included); anything else is never echoed.
const ORIGIN = /^[\x21-\x7e]+$/;
// What may be echoed from Access-Control-Request-Headers.
const HEADER_LIST = /^[\t\x20-\x7e]*$/;

// The setting, checked and digested once per options object. The policy is consulted while a
// response is on its way out, where throwing would leave the client without an answer: a
// broken setting is logged once and refuses every origin instead.
function policyFor(options: CorsOptions): CorsPolicy {
  const cache = typeof options === "object" && options !== null ? policies : otherPolicies;
  let policy = cache.get(options);
  if (policy === undefined) {
    try {
      policy = buildPolicy(options);
    } catch (e) {
      appLog.error(`${(e as Error).message}; no CORS headers are sent`);
      policy = REFUSE_ALL;
    }
    cache.set(options, policy);
  }
  return policy;
}

/**
 * Throws a `TypeError` for a `cors` setting that would let any site act with the visitor's
 * cookies: `origins: "*"` with `credentials: true`. `new Application` calls it.
 *
 * @example
 * assertSafeCorsOptions({ origins: ["https://app.example"], credentials: true }); // fine
 * assertSafeCorsOptions({ origins: "*", credentials: true });                     // throws
 */
export function assertSafeCorsOptions(options: CorsOptions): void {
  const { origins, credentials } = (options ?? {}) as Partial<CorsOptions>;
  if (origins === "*" && credentials === true) {
    throw new TypeError(
      'The cors setting cannot combine origins: "*" with credentials: true (any site, even a sandboxed "null" origin, could then make requests with the visitor\'s cookies): list the origins allowed, e.g. origins: ["https://app.example"], or give a function that decides',
    );
  }
}

function buildPolicy(options: CorsOptions): CorsPolicy {
  const origins = (options as Partial<CorsOptions> | null)?.origins;
  if (origins !== "*" && typeof origins !== "function" && !Array.isArray(origins)) {
    throw new TypeError('The cors setting needs origins: "*", a list of origins, or a function (origin) => boolean');
  }
  assertSafeCorsOptions(options);
  if (options.maxAge !== undefined && !(Number.isFinite(options.maxAge) && options.maxAge >= 0)) {
    throw new TypeError(`The cors setting's maxAge is in seconds, a number of 0 or more, not ${String(options.maxAge)}`);
  }
  const joined = (name: string, list: readonly string[] | undefined) => {
    if (list === undefined || list.length === 0) return undefined;
    const bad = list.find((item) => typeof item !== "string" || !TOKEN.test(item));
    if (bad !== undefined) throw new TypeError(`The cors setting's ${name} holds ${JSON.stringify(bad)}, which is not a method or header name`);
    return list.join(", ");
  };
  let allows: (origin: string) => boolean;
  if (origins === "*") {
    allows = () => true;
  } else if (typeof origins === "function") {
    allows = (origin) => {
      try {
        return origins(origin) === true;
      } catch (e) {
        appLog.error(`The cors setting's origins function threw for ${JSON.stringify(origin)}: refused`, e);
        return false;
      }
    };
  } else {
    const listed = new Set<string>(origins);
    allows = (origin) => listed.has(origin);
  }
  return {
    allows,
    wildcard: origins === "*",
    credentials: options.credentials === true,
    methods: joined("methods", options.methods),
    headers: joined("headers", options.headers),
    exposeHeaders: joined("exposeHeaders", options.exposeHeaders),
    maxAge: options.maxAge === undefined ? undefined : String(Math.floor(options.maxAge)),
  };
}

/**
 * Adds `token` to the response's `Vary` header unless it is listed already (or `Vary: *`).
 *
 * @example
 * addVary(headers, "Origin"); // Vary: Accept-Encoding → Vary: Accept-Encoding, Origin
 */
export function addVary(headers: HTTPHeaders, token: string): void {
  const vary = headers.get("Vary");
  if (vary === undefined) {
    headers.put("Vary", token);
    return;
  }
  const wanted = token.toLowerCase();
  for (const listed of vary.split(",")) {
    const name = listed.trim().toLowerCase();
    if (name === wanted || name === "*") return;
  }
  headers.put("Vary", `${vary}, ${token}`);
}

// The allowed origin, the credentials flag and Vary: what every answer to an allowed origin carries.
function allowOrigin(policy: CorsPolicy, origin: string | undefined, headers: HTTPHeaders): boolean {
  if (policy.wildcard) {
    headers.put("Access-Control-Allow-Origin", "*");
    return true;
  }
  // The answer depends on Origin, so a cache must not hand one origin's answer to another.
  addVary(headers, "Origin");
  if (origin === undefined || !ORIGIN.test(origin) || !policy.allows(origin)) return false;
  headers.put("Access-Control-Allow-Origin", origin);
  if (policy.credentials) headers.put("Access-Control-Allow-Credentials", "true");
  return true;
}

/**
 * Adds the CORS headers to a response on its way out (error pages included): the allowed
 * origin (with `Vary: Origin` unless it is `*`), credentials and exposed headers. Nothing for a
 * refused origin, and nothing when the response already has `Access-Control-Allow-Origin`
 * (a handler's own, or a preflight answer's).
 *
 * @example
 * addCorsHeaders(request, settings.cors, headers);
 */
export function addCorsHeaders(request: HTTPServerRequest, options: CorsOptions, headers: HTTPHeaders): void {
  if (headers.has("Access-Control-Allow-Origin")) return;
  const policy = policyFor(options);
  if (allowOrigin(policy, request.headers.get("Origin"), headers) && policy.exposeHeaders !== undefined) {
    headers.put("Access-Control-Expose-Headers", policy.exposeHeaders);
  }
}

/**
 * Answers a CORS preflight (an `OPTIONS` request with `Origin` and
 * `Access-Control-Request-Method`) with 204, whatever methods the handler has: sets the
 * preflight headers on `headers` (the handler's response headers) and ends the request by
 * throwing `Finish`. Any other request passes through untouched. A refused origin gets the 204
 * without CORS headers, so the browser blocks the real request.
 *
 * @example
 * answerPreflight(handler, settings.cors, responseHeaders, () => ["GET", "POST"]);
 */
export function answerPreflight(
  handler: { readonly request: HTTPServerRequest; setStatus(status: number): void },
  options: CorsOptions,
  headers: HTTPHeaders,
  implementedMethods: () => readonly string[],
): void {
  const requestHeaders = handler.request.headers;
  const origin = requestHeaders.get("Origin");
  if (origin === undefined || !requestHeaders.has("Access-Control-Request-Method")) return;
  const policy = policyFor(options);
  handler.setStatus(204);
  if (allowOrigin(policy, origin, headers)) {
    const methods = policy.methods ?? implementedMethods().join(", ");
    if (methods !== "") headers.put("Access-Control-Allow-Methods", methods);
    let allowHeaders = policy.headers;
    if (allowHeaders === undefined) {
      allowHeaders = requestHeaders.get("Access-Control-Request-Headers");
      addVary(headers, "Access-Control-Request-Headers");
    }
    if (allowHeaders !== undefined && allowHeaders !== "" && HEADER_LIST.test(allowHeaders)) headers.put("Access-Control-Allow-Headers", allowHeaders);
    if (policy.maxAge !== undefined) headers.put("Access-Control-Max-Age", policy.maxAge);
  }
  throw new Finish();
}

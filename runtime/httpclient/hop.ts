/**
 * One leg of a fetch (the request, or a redirect it led to), with the client's defaults applied,
 * checked as Tornado's simple_httpclient checks it, and the headers it sends.
 */

import { HTTPHeaders } from "../httputil/headers.js";
import { formatTimestamp } from "../httputil/request.js";
import { VERSION } from "../version.js";
import { REQUEST_DEFAULTS, toBuffer, type HTTPRequest, type HTTPRequestOptions } from "./request.js";

/** @internal */
export interface Hop {
  /** The request passed to fetch, for `response.request`. */
  readonly original: HTTPRequest;
  /** The first URL, for telling a cross-origin redirect. */
  readonly originalUrl: URL;
  readonly url: URL;
  readonly method: string;
  /** The caller's headers (defaults merged under them), without the ones the client adds. */
  readonly headers: HTTPHeaders;
  readonly body: Buffer | undefined;
  readonly authUsername: string | undefined;
  readonly authPassword: string | undefined;
  readonly authMode: string | undefined;
  readonly connectTimeout: number;
  readonly requestTimeout: number;
  readonly ifModifiedSince: Date | undefined;
  readonly followRedirects: boolean;
  readonly maxRedirects: number;
  readonly userAgent: string | undefined;
  readonly decompressResponse: boolean;
  readonly streamingCallback: ((chunk: Buffer) => void | Promise<void>) | undefined;
  readonly headerCallback: ((line: string) => void) | undefined;
  readonly allowNonstandardMethods: boolean;
  readonly validateCert: boolean;
  readonly caCerts: string | undefined;
  readonly clientCert: string | undefined;
  readonly clientKey: string | undefined;
  readonly proxyHost: string | undefined;
  readonly proxyPort: number | undefined;
  readonly proxyUsername: string | undefined;
  readonly proxyPassword: string | undefined;
  readonly proxyAuthMode: string | undefined;
  readonly signal: AbortSignal | undefined;
}

const SUPPORTED_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]);
const BODY_EXPECTED = new Set(["POST", "PATCH", "PUT"]);
const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);

/**
 * The request with the client's defaults filling what it left undefined (Tornado's
 * `_RequestProxy`). Headers in the defaults go under the request's own.
 * @internal
 */
export function firstHop(request: HTTPRequest, defaults: HTTPRequestOptions): Hop {
  const pick = <K extends keyof HTTPRequestOptions>(key: K): HTTPRequestOptions[K] => request[key] ?? defaults[key];
  let headers = request.headers.copy();
  if (defaults.headers !== undefined) {
    headers = new HTTPHeaders(defaults.headers);
    for (const [name] of request.headers) headers.delete(name);
    for (const [name, value] of request.headers) headers.add(name, value);
  }
  const url = parseUrl(request.url);
  return {
    original: request,
    originalUrl: url,
    url,
    method: request.method,
    headers,
    body: request.body ?? toBuffer(defaults.body),
    authUsername: pick("authUsername"),
    authPassword: pick("authPassword"),
    authMode: pick("authMode"),
    connectTimeout: pick("connectTimeout") ?? REQUEST_DEFAULTS.connectTimeout,
    requestTimeout: pick("requestTimeout") ?? REQUEST_DEFAULTS.requestTimeout,
    ifModifiedSince: pick("ifModifiedSince"),
    followRedirects: pick("followRedirects") ?? REQUEST_DEFAULTS.followRedirects,
    maxRedirects: pick("maxRedirects") ?? REQUEST_DEFAULTS.maxRedirects,
    userAgent: pick("userAgent"),
    decompressResponse: pick("decompressResponse") ?? REQUEST_DEFAULTS.decompressResponse,
    streamingCallback: pick("streamingCallback"),
    headerCallback: pick("headerCallback"),
    allowNonstandardMethods: pick("allowNonstandardMethods") ?? REQUEST_DEFAULTS.allowNonstandardMethods,
    validateCert: pick("validateCert") ?? REQUEST_DEFAULTS.validateCert,
    caCerts: pick("caCerts"),
    clientCert: pick("clientCert"),
    clientKey: pick("clientKey"),
    proxyHost: pick("proxyHost"),
    proxyPort: pick("proxyPort"),
    proxyUsername: pick("proxyUsername"),
    proxyPassword: pick("proxyPassword"),
    proxyAuthMode: pick("proxyAuthMode"),
    signal: pick("signal"),
  };
}

function parseUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`Invalid URL ${JSON.stringify(url)}: fetch needs an absolute http:// or https:// URL`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new TypeError(`Unsupported url scheme: ${url}`);
  }
  return parsed;
}

/**
 * Throws a `TypeError` for a request Tornado refuses: an unknown method, a body on GET (or none
 * on POST), an auth mode other than basic.
 * @internal
 */
export function checkHop(hop: Hop): void {
  if (!hop.allowNonstandardMethods) {
    if (!SUPPORTED_METHODS.has(hop.method)) {
      throw new TypeError(`Unknown method ${hop.method}: use allowNonstandardMethods to send it`);
    }
    const expected = BODY_EXPECTED.has(hop.method);
    const present = hop.body !== undefined;
    if (expected && !present) {
      throw new TypeError(`A body is required for method ${hop.method} (pass body: "" for an empty one, or set allowNonstandardMethods)`);
    }
    if (present && !expected) {
      throw new TypeError(`A body is not allowed for method ${hop.method} (unless allowNonstandardMethods is true)`);
    }
  }
  if (hop.authMode !== undefined && hop.authMode !== "basic") {
    throw new TypeError(`Unsupported authMode ${JSON.stringify(hop.authMode)}: only "basic" is supported`);
  }
  if (hop.proxyAuthMode !== undefined && hop.proxyAuthMode !== "basic") {
    throw new TypeError(`Unsupported proxyAuthMode ${JSON.stringify(hop.proxyAuthMode)}: only "basic" is supported`);
  }
  if (hop.proxyPort !== undefined && !(Number.isInteger(hop.proxyPort) && hop.proxyPort > 0 && hop.proxyPort < 65536)) {
    throw new TypeError(`proxyPort must be a port number (1-65535), not ${JSON.stringify(hop.proxyPort)}`);
  }
  if (hop.proxyHost === undefined && (hop.proxyPort !== undefined || hop.proxyUsername !== undefined)) {
    throw new TypeError("proxyPort and proxyUsername need proxyHost: set it to use a proxy");
  }
}

/**
 * The headers sent for `hop`: the caller's, plus `Authorization`, `User-Agent`,
 * `Content-Length`, a form `Content-Type` for POST, `Accept-Encoding` and `If-Modified-Since`,
 * and `Host` (the URL's host and port) unless given, as Tornado adds them.
 * @internal
 */
export function requestHeaders(hop: Hop): HTTPHeaders {
  const headers = hop.headers.copy();
  if (!headers.has("Host")) headers.put("Host", hop.url.host);
  let username: string | undefined;
  let password = "";
  if (hop.url.username !== "" || hop.url.password !== "") {
    username = decodeURIComponent(hop.url.username);
    password = decodeURIComponent(hop.url.password);
  } else if (hop.authUsername !== undefined) {
    username = hop.authUsername;
    password = hop.authPassword ?? "";
  }
  if (username !== undefined) {
    headers.put("Authorization", "Basic " + Buffer.from(`${username}:${password}`, "utf8").toString("base64"));
  }
  if (hop.userAgent) headers.set("User-Agent", hop.userAgent);
  else if (!headers.has("User-Agent")) headers.put("User-Agent", `Tornado/${VERSION}`);
  if (hop.body !== undefined) headers.put("Content-Length", String(hop.body.length));
  if (hop.method === "POST" && !headers.has("Content-Type")) headers.put("Content-Type", "application/x-www-form-urlencoded");
  if (hop.decompressResponse) headers.put("Accept-Encoding", "gzip");
  if (hop.ifModifiedSince !== undefined) headers.put("If-Modified-Since", formatTimestamp(hop.ifModifiedSince));
  return headers;
}

/**
 * The `Proxy-Authorization` value for `hop`, when it has proxy credentials.
 * @internal
 */
export function proxyAuthorization(hop: Hop): string | undefined {
  if (hop.proxyUsername === undefined) return undefined;
  return "Basic " + Buffer.from(`${hop.proxyUsername}:${hop.proxyPassword ?? ""}`, "utf8").toString("base64");
}

/**
 * Whether a response is a redirect this hop follows.
 * @internal
 */
export function followsRedirect(hop: Hop, code: number, location: string | undefined): boolean {
  return hop.followRedirects && hop.maxRedirects > 0 && REDIRECT_CODES.has(code) && location !== undefined;
}

/**
 * The hop a redirect leads to, as Tornado builds it: one redirect fewer left; `Host` dropped;
 * credentials, `Authorization` and `Cookie` dropped when the scheme or host differs from the
 * first request's; POST after 301/302, and anything but HEAD after 303, becomes a GET without
 * a body.
 * @internal
 */
export function redirectHop(hop: Hop, code: number, location: string): Hop {
  let url: URL;
  try {
    url = parseUrl(new URL(location, hop.url).href);
  } catch (e) {
    throw new TypeError(`Cannot follow the redirect to ${JSON.stringify(location)}: ${(e as Error).message}`);
  }
  const headers = hop.headers.copy();
  headers.delete("Host");
  let { authUsername, authPassword } = hop;
  if (url.protocol !== hop.originalUrl.protocol || url.host !== hop.originalUrl.host) {
    // libcurl's rule, which Tornado follows: no credentials or cookies across origins.
    authUsername = undefined;
    authPassword = undefined;
    url.username = "";
    url.password = "";
    headers.delete("Authorization");
    headers.delete("Cookie");
  }
  let { method, body } = hop;
  // RFC 9110 §15.4: browsers (and libcurl) turn POST into GET on 301/302, and 303 asks for GET.
  if ((code === 303 && method !== "HEAD") || ((code === 301 || code === 302) && method === "POST")) {
    method = "GET";
    body = undefined;
    for (const name of ["Content-Length", "Content-Type", "Content-Encoding", "Transfer-Encoding"]) headers.delete(name);
  }
  return { ...hop, url, method, body, headers, authUsername, authPassword, maxRedirects: hop.maxRedirects - 1 };
}

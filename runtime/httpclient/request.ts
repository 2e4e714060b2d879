/** `HTTPRequest`: what to fetch and how (Tornado's `httpclient.HTTPRequest`). */

import { HTTPHeaders, type HTTPHeadersInit } from "../httputil/headers.js";

/**
 * How to make a request; every field is optional and falls back to the client's `defaults`,
 * then to Tornado's defaults. Times are in milliseconds; 0 means no limit.
 *
 * @example
 * const options: HTTPRequestOptions = { method: "POST", body: JSON.stringify(item), headers: { "Content-Type": "application/json" } };
 */
export interface HTTPRequestOptions {
  /** `GET` (default), `HEAD`, `POST`, `PUT`, `DELETE`, `PATCH` or `OPTIONS`; others need `allowNonstandardMethods`. */
  method?: string;
  /** Request headers: an object, `[name, value]` pairs or an `HTTPHeaders`. */
  headers?: HTTPHeadersInit;
  /**
   * The body (a string is sent as UTF-8). Required for POST, PUT and PATCH (pass `""` for an
   * empty one) and refused for the other methods, as Tornado does, unless
   * `allowNonstandardMethods`.
   */
  body?: string | Uint8Array;
  /** User name for HTTP basic authentication (credentials in the URL take precedence). */
  authUsername?: string;
  /** Password for HTTP basic authentication (default `""`). */
  authPassword?: string;
  /** Only `"basic"` is supported. */
  authMode?: "basic";
  /** How long connecting (DNS, TCP, TLS handshake) may take. Default 20 s. */
  connectTimeout?: number;
  /**
   * How long the whole request may take, counted from `fetch()` (time queued behind
   * `maxClients` included); each redirect followed gets this long again. Default 20 s.
   */
  requestTimeout?: number;
  /** Sends `If-Modified-Since` with this time. */
  ifModifiedSince?: Date;
  /** Follow 301, 302, 303, 307 and 308 responses. Default true. */
  followRedirects?: boolean;
  /** How many redirects to follow; the response after the last one is returned as it is. Default 5. */
  maxRedirects?: number;
  /** The `User-Agent` header (default `Tornado/<version>` unless `headers` has one). */
  userAgent?: string;
  /** Send `Accept-Encoding: gzip` and un-gzip the response. Default true. */
  decompressResponse?: boolean;
  /**
   * Receives the body chunk by chunk as it arrives (decompressed); the response's `body` is
   * then empty. A returned promise pauses reading until it settles; a throw fails the request.
   */
  streamingCallback?: (chunk: Buffer) => void | Promise<void>;
  /**
   * Receives each header line as it arrives, CRLF included: the status line
   * (`HTTP/1.1 200 OK\r\n`), one line per header, then `\r\n`. Not called for redirects
   * that are followed.
   */
  headerCallback?: (line: string) => void;
  /** Allow any method, and a body (or none) with any method. Default false. */
  allowNonstandardMethods?: boolean;
  /** For https, check the server's certificate and host name. Default true. */
  validateCert?: boolean;
  /** For https, a PEM file of the certificate authorities to trust instead of the system's. */
  caCerts?: string;
  /**
   * For https, a PEM file with the client certificate to present to a server that asks for one
   * (mutual TLS); its key is read from `clientKey`, or from this same file when that is unset.
   */
  clientCert?: string;
  /** For https, a PEM file with the private key of `clientCert`. */
  clientKey?: string;
  /**
   * Send the request through this HTTP proxy: an `http://` URL as an absolute-form request to
   * the proxy, an `https://` one through a `CONNECT` tunnel (TLS end to end with the server).
   */
  proxyHost?: string;
  /** The proxy's port. Default 1080, as libcurl's. */
  proxyPort?: number;
  /** User name for the proxy (`Proxy-Authorization: Basic …`). */
  proxyUsername?: string;
  /** Password for the proxy (default `""`). */
  proxyPassword?: string;
  /** Only `"basic"` is supported. */
  proxyAuthMode?: "basic";
  /** Cancels the request (queued or in flight); `fetch` then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * The defaults Tornado gives requests (`HTTPRequest._DEFAULTS`), in milliseconds.
 *
 * @example
 * REQUEST_DEFAULTS.requestTimeout // 20000
 */
export const REQUEST_DEFAULTS = Object.freeze({
  connectTimeout: 20_000,
  requestTimeout: 20_000,
  followRedirects: true,
  maxRedirects: 5,
  decompressResponse: true,
  allowNonstandardMethods: false,
  validateCert: true,
});

/**
 * One HTTP request to make: a URL plus `HTTPRequestOptions`. Fields left undefined take the
 * client's defaults when it is fetched. `fetch(url, options)` builds one for you; build your own
 * to reuse or inspect it (`response.request` is the one you passed).
 *
 * @example
 * const request = new HTTPRequest("http://127.0.0.1:8888/items", { method: "POST", body: "name=x" });
 * const response = await client.fetch(request);
 * response.request === request; // true
 */
export class HTTPRequest implements HTTPRequestOptions {
  /** The absolute `http:` or `https:` URL. */
  url: string;
  /** The method, upper-cased as given (default `GET`). */
  method: string;
  /** The headers as given; the client adds `Host`, `User-Agent`, `Content-Length`… on a copy. */
  headers: HTTPHeaders;
  /** The body, as bytes. */
  body: Buffer | undefined;
  authUsername: string | undefined;
  authPassword: string | undefined;
  authMode: "basic" | undefined;
  connectTimeout: number | undefined;
  requestTimeout: number | undefined;
  ifModifiedSince: Date | undefined;
  followRedirects: boolean | undefined;
  maxRedirects: number | undefined;
  userAgent: string | undefined;
  decompressResponse: boolean | undefined;
  streamingCallback: ((chunk: Buffer) => void | Promise<void>) | undefined;
  headerCallback: ((line: string) => void) | undefined;
  allowNonstandardMethods: boolean | undefined;
  validateCert: boolean | undefined;
  caCerts: string | undefined;
  clientCert: string | undefined;
  clientKey: string | undefined;
  proxyHost: string | undefined;
  proxyPort: number | undefined;
  proxyUsername: string | undefined;
  proxyPassword: string | undefined;
  proxyAuthMode: "basic" | undefined;
  signal: AbortSignal | undefined;
  /** When the request was created (`Date.now()`). */
  readonly startTime: number;

  constructor(url: string | URL, options: HTTPRequestOptions = {}) {
    this.url = String(url);
    this.method = options.method ?? "GET";
    this.headers = new HTTPHeaders(options.headers);
    this.body = toBuffer(options.body);
    this.authUsername = options.authUsername;
    this.authPassword = options.authPassword;
    this.authMode = options.authMode;
    this.connectTimeout = options.connectTimeout;
    this.requestTimeout = options.requestTimeout;
    this.ifModifiedSince = options.ifModifiedSince;
    this.followRedirects = options.followRedirects;
    this.maxRedirects = options.maxRedirects;
    this.userAgent = options.userAgent;
    this.decompressResponse = options.decompressResponse;
    this.streamingCallback = options.streamingCallback;
    this.headerCallback = options.headerCallback;
    this.allowNonstandardMethods = options.allowNonstandardMethods;
    this.validateCert = options.validateCert;
    this.caCerts = options.caCerts;
    this.clientCert = options.clientCert;
    this.clientKey = options.clientKey;
    this.proxyHost = options.proxyHost;
    this.proxyPort = options.proxyPort;
    this.proxyUsername = options.proxyUsername;
    this.proxyPassword = options.proxyPassword;
    this.proxyAuthMode = options.proxyAuthMode;
    this.signal = options.signal;
    this.startTime = Date.now();
  }
}

/** @internal */
export function toBuffer(body: string | Uint8Array | undefined): Buffer | undefined {
  if (body === undefined) return undefined;
  if (typeof body === "string") return Buffer.from(body, "utf8");
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

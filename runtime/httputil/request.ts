/** The request a handler sees, and the connection it answers on. */

import type { IncomingMessage, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import type { TLSSocket } from "node:tls";
import { type ArgumentMap, type BodyLimits, type HTTPFile, checkBodyArguments, emptyArguments, parseBodyArguments, parseQsBytes } from "./body.js";
import { HTTPHeaders, type HTTPHeadersInit } from "./headers.js";
import { nodeCrypto } from "./node-crypto.js";

// Not `import { STATUS_CODES } from "node:http"`: to import node:http as an ES module, Node reads
// every export, and its WebSocket, CloseEvent and MessageEvent getters load undici (fetch),
// ~30 ms of CPU in every process that only builds an app (`tornado routes`, tests).
/**
 * Standard reason phrases by status code.
 *
 * @example
 * responses[404] // "Not Found"
 */
export const responses: Readonly<Record<number, string | undefined>> = process.getBuiltinModule("node:http").STATUS_CODES;

/**
 * Formats a time as an HTTP date (`Sun, 27 Jan 2013 18:43:20 GMT`); numbers are seconds since
 * the epoch, as in Tornado.
 *
 * @example
 * formatTimestamp(1359312200) // "Sun, 27 Jan 2013 18:43:20 GMT"
 */
export function formatTimestamp(time: Date | number): string {
  return (typeof time === "number" ? new Date(time * 1000) : time).toUTCString();
}

/**
 * How a handler answers: the server's side of one request. `HTTPServer` provides it; a test
 * or another server can provide its own.
 *
 * @example
 * request.connection.respond(200, "OK", headers, "hello");
 */
export interface HTTPConnection {
  /** Whether the client has gone away (writes are then dropped). */
  readonly closed: boolean;
  /** Whether a body follows the headers (a `Content-Length` above 0, or chunked). */
  readonly bodyExpected: boolean;
  /** Reads the whole body within the server's limits; rejects with `HTTPInputError`. */
  readBody(): Promise<Buffer>;
  /**
   * Reads the body chunk by chunk into `onChunk`, pausing the socket while a promise it returns
   * is pending (a handler with `streamRequestBody` gets its `dataReceived` called this way).
   */
  streamBody?(onChunk: (chunk: Buffer) => void | Promise<void>): Promise<void>;
  /** Sets this request's largest body, over the server's `maxBodySize` (before the body is read). */
  setMaxBodySize?(bytes: number): void;
  /** Sends a whole response at once: status line, headers and body. */
  respond(status: number, reason: string, headers: HTTPHeaders, body: string | Buffer | null): void;
  /** Sends the status line and headers of a response whose body follows in `write()` calls. */
  writeHeaders(status: number, reason: string, headers: HTTPHeaders): void;
  /** Sends part of the body; resolves once the socket can take more (back-pressure). */
  write(chunk: string | Buffer): Promise<void>;
  /** Ends a response started with `writeHeaders()`. */
  finish(): void;
  /** Adds a function called once if the client goes away before the response is finished. */
  onClose(callback: () => void): void;
  /** Closes the connection once the current response is sent (no keep-alive). */
  closeAfterResponse(): void;
  /** Cuts the connection at once: for a response whose body cannot be completed. */
  abort?(): void;
  /**
   * Hands node's own request and response to other code (`FallbackHandler` mounts a node
   * request listener this way): from then on this connection writes nothing, and the request
   * counts as answered when that response closes. `null` (or absent) when there is no node
   * response to hand over, or a response has already started.
   */
  detach?(): { req: IncomingMessage; res: ServerResponse } | null;
}

/**
 * What `new HTTPServerRequest(init)` takes; everything has a default, so tests can build one.
 *
 * @example
 * new HTTPServerRequest({ method: "POST", uri: "/users?x=1", headers: { Host: "example.com" } });
 */
export interface HTTPServerRequestInit {
  method?: string;
  uri?: string;
  version?: string;
  headers?: HTTPHeaders | HTTPHeadersInit;
  body?: Buffer;
  remoteIp?: string;
  protocol?: string;
  connection?: HTTPConnection;
  raw?: IncomingMessage;
  /** Field and part limits for form bodies (the server's `maxFormFields`, `maxMultipartParts`). */
  bodyLimits?: BodyLimits;
  /** An id a trusted proxy gave the request (`X-Request-Id`); ignored unless it is a plain token. */
  requestId?: string;
}

/**
 * One HTTP request, as Tornado's `HTTPServerRequest`: method, URI, headers, body, arguments and
 * uploaded files; `handler.request` in a handler.
 *
 * @example
 * class Show extends RequestHandler {
 *   get() {
 *     const { method, path, query, remoteIp } = this.request;
 *     this.write({ method, path, query, remoteIp, ua: this.request.headers.get("User-Agent") });
 *   }
 * }
 */
export class HTTPServerRequest {
  /** `GET`, `POST`, … */
  readonly method: string;
  /** The request target as sent: path and query (or, in absolute form, the whole URL). */
  readonly uri: string;
  /** `HTTP/1.1` or `HTTP/1.0`. */
  readonly version: string;
  // The headers, or (in a WebSocket's request, once open) the same joined into one string,
  // split again when next read.
  private headerList: HTTPHeaders | string;
  /** The client's address (from `X-Real-Ip`/`X-Forwarded-For` with `xheaders`). */
  remoteIp: string;
  /** `http` or `https` (from `X-Scheme`/`X-Forwarded-Proto` with `xheaders`). */
  protocol: string;
  /** The part of `uri` before `?`. */
  readonly path: string;
  /** The part of `uri` after `?`, without the `?`. */
  readonly query: string;
  /** The server side of this request, used to answer it. */
  readonly connection: HTTPConnection | undefined;
  /**
   * Node's request object, when the request came through `HTTPServer` (`undefined` in a
   * `WebSocketHandler` once the connection is open: it is not kept for the WebSocket's life).
   */
  readonly raw: IncomingMessage | undefined;

  private rawBody: Buffer;
  private readonly bodyLimits: BodyLimits;
  private parsedQuery: ArgumentMap | undefined;
  private parsedFiles: Record<string, HTTPFile[]> | undefined;
  private parsedBody: ArgumentMap | undefined;
  private mergedArguments: ArgumentMap | undefined;
  private readonly startTime = performance.now();
  private id: string | undefined;
  private finishTime: number | undefined;
  private abort: AbortController | undefined;
  // An absolute-form target's host, which wins over the Host header (RFC 9112 §3.2.2).
  private readonly targetHost: string | undefined;
  // The target in origin form: path and query.
  private readonly originForm: string;

  constructor(init: HTTPServerRequestInit = {}) {
    this.method = init.method ?? "GET";
    this.uri = init.uri ?? "/";
    this.version = init.version ?? "HTTP/1.1";
    this.headerList = init.headers instanceof HTTPHeaders ? init.headers : new HTTPHeaders(init.headers);
    this.rawBody = init.body ?? EMPTY;
    this.bodyLimits = init.bodyLimits ?? {};
    this.remoteIp = init.remoteIp ?? "127.0.0.1";
    this.protocol = init.protocol ?? "http";
    this.connection = init.connection;
    this.raw = init.raw;
    if (init.requestId !== undefined && REQUEST_ID.test(init.requestId)) this.id = init.requestId;
    // Absolute form (`GET http://example.com/p?q HTTP/1.1`, RFC 9112 §3.2.2): the path and
    // query come from the target, and so does the host.
    // (An origin-form target, the usual case, starts with "/": no need to try the pattern.)
    const absolute = this.uri.charCodeAt(0) === 47 ? null : ABSOLUTE_FORM.exec(this.uri);
    if (absolute !== null) {
      if (VALID_AUTHORITY.test(absolute[1]!)) this.targetHost = absolute[1];
      this.originForm = absolute[2]!.startsWith("/") ? absolute[2]! : "/" + absolute[2]!;
    } else {
      this.originForm = this.uri;
    }
    const q = this.originForm.indexOf("?");
    this.path = q < 0 ? this.originForm : this.originForm.slice(0, q);
    this.query = q < 0 ? "" : this.originForm.slice(q + 1);
  }

  /**
   * The request's headers (read-only property; the headers themselves can be changed).
   *
   * @example
   * this.request.headers.get("User-Agent") // "curl/8.5.0"
   */
  get headers(): HTTPHeaders {
    const list = this.headerList;
    if (typeof list !== "string") return list;
    const headers = HTTPHeaders.fromFlat(list === "" ? [] : list.split("\n"), false);
    this.headerList = headers;
    return headers;
  }

  /**
   * This request's id, for logs and the `X-Request-Id` response header: the one a trusted
   * proxy sent (`trustedDownstream`; up to 128 letters, digits and `-_.:`), else a random UUID
   * made on first use.
   *
   * @example
   * appLog.info(`charging card (request ${this.request.requestId})`);
   */
  get requestId(): string {
    return (this.id ??= nodeCrypto().randomUUID());
  }

  /**
   * The `Host` header (the target's host for an absolute-form target, as RFC 9112 §3.2.2
   * says), or `127.0.0.1` for HTTP/1.0 without one.
   *
   * @example
   * this.request.host // "example.com:8080"
   */
  get host(): string {
    return this.targetHost ?? this.headers.get("Host") ?? "127.0.0.1";
  }

  /** `host` without its port, lower-case. @example this.request.hostName // "example.com" */
  get hostName(): string {
    return splitHostAndPort(this.host.toLowerCase())[0];
  }

  /**
   * Arguments from the query string, by name, as raw bytes (parsed on first use).
   *
   * @example
   * this.request.queryArguments.page?.[0]?.toString() // "2"
   */
  get queryArguments(): ArgumentMap {
    return (this.parsedQuery ??= parseQsBytes(this.query));
  }

  /**
   * The request body (empty until read; handlers always see it read). Setting it drops the
   * arguments and files parsed from the previous one.
   *
   * @example
   * const text = this.request.body.toString("utf8");
   */
  get body(): Buffer {
    return this.rawBody;
  }

  set body(body: Buffer) {
    this.rawBody = body;
    this.parsedBody = undefined;
    this.parsedFiles = undefined;
    this.mergedArguments = undefined;
  }

  /**
   * Files from a `multipart/form-data` body, by field name (parsed on first use; a malformed
   * body throws `HTTPInputError`, a 400 in a handler).
   *
   * @example
   * const [avatar] = this.request.files.avatar ?? [];
   */
  get files(): Record<string, HTTPFile[]> {
    if (this.parsedFiles === undefined) this.parseBody();
    return this.parsedFiles!;
  }

  /**
   * Form fields from the body, by name, as raw bytes (parsed on first use; a malformed body
   * throws `HTTPInputError`, a 400 in a handler).
   *
   * @example
   * this.request.bodyArguments.name?.[0]?.toString() // "Ann"
   */
  get bodyArguments(): ArgumentMap {
    if (this.parsedBody === undefined) this.parseBody();
    return this.parsedBody!;
  }

  /**
   * Query and body arguments together, query values first.
   *
   * @example
   * Object.keys(this.request.arguments) // ["page", "name"]
   */
  get arguments(): ArgumentMap {
    if (this.mergedArguments === undefined) {
      const merged = emptyArguments();
      for (const source of [this.queryArguments, this.bodyArguments]) {
        for (const name in source) {
          const into = (merged[name] ??= []);
          // One at a time: a spread of 200k values overflows the call stack.
          for (const value of source[name]!) into.push(value);
        }
      }
      this.mergedArguments = merged;
    }
    return this.mergedArguments;
  }

  /**
   * Parses a form or multipart body into `bodyArguments` and `files`, within the server's
   * `maxFormFields` and `maxMultipartParts`. Reading `arguments`, `bodyArguments` or `files`
   * does it on first use, so a body nobody reads is never parsed. Throws `HTTPInputError`
   * when the body is malformed or over a limit.
   *
   * @example
   * request.parseBody();
   */
  parseBody(): void {
    const args = emptyArguments();
    const files = Object.create(null) as Record<string, HTTPFile[]>;
    const contentType = this.headers.get("Content-Type");
    if (this.rawBody.length > 0 && contentType !== undefined) {
      parseBodyArguments(contentType, this.rawBody, args, files, this.headers, this.bodyLimits);
    }
    this.parsedBody = args;
    this.parsedFiles = files;
    this.mergedArguments = undefined;
  }

  /**
   * Checks a form body's encoding, field or part count and multipart framing without parsing
   * it (linear, no allocation per field); the handler does this before `prepare()`, so a body
   * over a limit is refused whether or not the handler reads it. Throws `HTTPInputError`.
   *
   * @example
   * request.checkBody();
   */
  checkBody(): void {
    if (this.rawBody.length === 0) return;
    const contentType = this.headers.get("Content-Type");
    if (contentType !== undefined) checkBodyArguments(contentType, this.rawBody, this.headers, this.bodyLimits);
  }

  /**
   * An `AbortSignal` that fires when the client goes away before the response is finished:
   * pass it to slow work (a database query, a `fetch`) so it stops when nobody waits.
   *
   * @example
   * const rows = await db.query(sql, { signal: this.request.signal });
   */
  get signal(): AbortSignal {
    if (this.abort === undefined) {
      const abort = (this.abort = new AbortController());
      if (this.connection?.closed) abort.abort();
      else this.connection?.onClose(() => abort.abort());
    }
    return this.abort.signal;
  }

  /**
   * Milliseconds since the request arrived, or until it finished.
   *
   * @example
   * this.setHeader("Server-Timing", `app;dur=${this.request.requestTime().toFixed(1)}`);
   */
  requestTime(): number {
    return (this.finishTime ?? performance.now()) - this.startTime;
  }

  /**
   * Marks the request finished, fixing `requestTime()`; the handler calls it in `finish()`.
   * @internal
   */
  markFinished(): void {
    this.finishTime ??= performance.now();
  }

  /**
   * The socket now speaks another protocol (a `WebSocketHandler` after its 101): node's request
   * is let go (`raw` becomes `undefined`) and `connection` becomes `switched`, which only tells
   * whether the socket has closed. Method, URI, headers, arguments and the rest stay readable.
   * An idle WebSocket keeps its request for as long as it is open, and node's request, with its
   * stream state, was most of it. The headers are kept joined (see `headers`): after this,
   * `request.headers` is an equal but new `HTTPHeaders`.
   * @internal
   */
  _switchedProtocols(switched: HTTPConnection & { readonly socket: unknown }): void {
    (this as { raw: IncomingMessage | undefined }).raw = undefined;
    (this as { connection: HTTPConnection | undefined }).connection = switched;
    // The headers, most often read in `prepare()` or `open()` if at all, wait as one string
    // (a third of the size of an array of them): reading them again splits it, once. A value
    // cannot hold a line feed when it comes from node; one that does is left as it is.
    const list = this.headerList;
    if (typeof list === "string") return;
    const flat = list.toFlat();
    for (const part of flat) if (part.includes("\n")) return;
    this.headerList = flat.join("\n");
  }

  /**
   * The full URL: protocol, host, path and query (also for an absolute-form target).
   *
   * @example
   * this.request.fullUrl() // "http://localhost:8888/users?page=2"
   */
  fullUrl(): string {
    return `${this.protocol}://${this.host}${this.originForm}`;
  }

  /**
   * The client's TLS certificate on an HTTPS connection that asked for one, else `undefined`.
   *
   * @example
   * const cert = this.request.getSslCertificate(); // { subject: { CN: "client" }, … }
   */
  getSslCertificate(): ReturnType<TLSSocket["getPeerCertificate"]> | undefined {
    // After a switch of protocols (a WebSocket), node's request is gone; the socket stays.
    const socket = (this.raw?.socket ?? (this.connection as { socket?: unknown } | undefined)?.socket) as TLSSocket | undefined;
    if (!socket || typeof socket.getPeerCertificate !== "function") return undefined;
    const cert = socket.getPeerCertificate();
    return cert && Object.keys(cert).length > 0 ? cert : undefined;
  }

  /** A short description for logs: `GET /path (127.0.0.1)`. @example String(request) */
  toString(): string {
    return `${this.method} ${this.uri} (${this.remoteIp})`;
  }
}

const EMPTY = Buffer.alloc(0);
// `scheme://authority` then the rest (path and query); the scheme is case-insensitive.
// An incoming request id is kept only if it cannot smuggle anything into a log line or header.
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const ABSOLUTE_FORM = /^https?:\/\/([^/?#]*)(.*)$/is;
// A host and optional port (RFC 3986 reg-name or IP literal): no userinfo, nothing empty.
const VALID_AUTHORITY = /^(?:[A-Za-z0-9\-._~!$&'()*+;=]+|\[[0-9A-Fa-f:.]+\])(?::\d*)?$/;

/**
 * Splits `host:port` into its parts; the port is `null` when absent; IPv6 literals keep their
 * brackets.
 *
 * @example
 * splitHostAndPort("example.com:8080") // ["example.com", 8080]
 * splitHostAndPort("[::1]")            // ["[::1]", null]
 */
export function splitHostAndPort(netloc: string): [string, number | null] {
  const m = /^(.+):(\d+)$/.exec(netloc);
  if (m && !(m[1]!.includes(":") && !m[1]!.startsWith("["))) return [m[1]!, Number(m[2])];
  return [netloc, null];
}

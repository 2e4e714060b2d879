/**
 * `RequestHandler`: one instance per request, Tornado's handler model with camelCase names.
 *
 * This file is the core: the lifecycle (`_execute`: `initialize` → `prepare` → the method →
 * `finish` → `onFinish`), the status and headers, `write`/`flush`/`finish`, and errors. The
 * other concerns are the classes it extends, one file each in ./handler/ (base → arguments →
 * cookies → user → xsrf → templates → etag → stream → locale), so a subclass still has them all as methods.
 */

import { jsonEncode, xhtmlEscape } from "../escape.js";
import { HTTPHeaders } from "../httputil/headers.js";
import { responses, type HTTPServerRequest } from "../httputil/request.js";
import { appLog, genLog } from "../log.js";
import { VERSION } from "../version.js";
import type { ApplicationOf } from "./application-type.js";
import { answerPreflight } from "./cors.js";
import { HTTPError } from "./errors.js";
import { HandlerLocale } from "./handler/locale.js";
import { addProcessHeaders } from "./handler/process-headers.js";
import { lifecycleFailed, sendErrorResponse } from "./handler/failure.js";
import { handlerMethod, implementedMethods, methodNotAllowed, supportedMethods } from "./handler/methods.js";
import { headerValue, isThenable, type Chunk, type ErrorDetails } from "./handler/types.js";
import { sendTransformed, startTransformedStream, type GzipStream } from "./transforms.js";
import { frameBody, respondSafely } from "./respond.js";
import { encodeLocation } from "./location.js";

export type { Chunk, ErrorDetails } from "./handler/types.js";

/**
 * A handler class, as routes take it.
 *
 * @example
 * const routes: [string, HandlerClass][] = [["/", MainHandler]];
 */
export type HandlerClass = new (application: ApplicationOf, request: HTTPServerRequest) => RequestHandler;

const NO_ARGS: (string | null)[] = Object.freeze([]) as unknown as (string | null)[];
const NO_KWARGS: Record<string, string | null> = Object.freeze({});
// Borrowed (never changed: a change copies it first) by released responses.
const NO_HEADERS: string[] = Object.freeze([]) as unknown as string[];
const NO_CHUNKS: (string | Buffer)[] = Object.freeze([]) as unknown as (string | Buffer)[];
const SERVER_HEADER = `TornadoServer/${VERSION}`;
const HTML_TYPE = "text/html; charset=UTF-8";
const JSON_TYPE = "application/json; charset=UTF-8";

// A reason phrase is visible characters, spaces and tabs (RFC 9112 §4); "<" is refused as a
// defence against markup in error pages, as Tornado does.
const REASON_PHRASE = /^[\t\x20-\x7e\x80-\xff]+$/;

function byteLength(chunk: string | Buffer): number {
  return typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
}

/**
 * Base class for HTTP request handlers: subclass it and define `get`, `post`, … One instance
 * serves one request. Path groups arrive as method arguments; every method may be `async`.
 *
 * Lifecycle: `initialize(initArgs)` → `prepare()` → the method → `finish()` → `onFinish()`
 * (with `streamRequestBody`, `dataReceived(chunk)` for each body chunk before the method).
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
export class RequestHandler extends HandlerLocale {
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
  private onFinishResult: Promise<unknown> | undefined;
  // The gzip encoder of a streamed response (`compressResponse`), from its first flush().
  private bodyEncoder: GzipStream | null = null;
  /** @internal Set to false by subclasses (WebSocket) that finish the request themselves. */
  protected autoFinish = true;
  // The lifecycle's state between its steps (see _execute).
  private rawPathArgs: (string | null)[] = NO_ARGS;
  private rawPathKwargs: Record<string, string | null> = NO_KWARGS;
  private lifecycleMethod: ((...args: (string | null)[]) => unknown) | null = null;
  private lifecycleStreaming = false;
  private nextStage = 0;

  constructor(application: ApplicationOf, request: HTTPServerRequest) {
    super(application, request);
    this.clear();
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
    addProcessHeaders(this.headers, this.settings.requestIds, this.request);
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
    if (parts.length === 1) return parts.pop()!;
    const taken = Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : p)));
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
      const status = this.statusCode;
      const body = frameBody(status, this.headers, this.takeBuffer());
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
   * Lets go of the response's headers and body buffer once the response can never be sent
   * again (`WebSocketHandler` after its 101, which it keeps for the WebSocket's life): the
   * headers become an empty list, copied on a later change, and the body buffer a shared empty
   * one (`write()` refuses before adding to it once finished).
   * @internal
   */
  protected _releaseResponse(): void {
    this.headers = HTTPHeaders.fromFlat(NO_HEADERS);
    this.writeBuffer = NO_CHUNKS;
  }

  /**
   * The response headers set so far (`WebSocketHandler` sends them with its 101 response).
   * @internal
   */
  protected _responseHeaders(): HTTPHeaders {
    return this.headers;
  }

  /**
   * The body written and not yet sent (`computeEtag()` hashes it).
   * @internal
   */
  protected _writtenChunks(): readonly (string | Buffer)[] {
    return this.writeBuffer;
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
   * Answers with an error status, discarding headers and body written so far, through
   * `writeError()`. After headers were flushed it can only log and end the response.
   *
   * @example
   * if (!this.settings.db.ready) return this.sendError(503);
   */
  sendError(status = 500, details: ErrorDetails = {}): void | Promise<void> {
    return sendErrorResponse(this, status, details, () => (this.writeBuffer = []));
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
   * Runs the request through the lifecycle; called by `Application`. It runs synchronously
   * until a step returns a thenable, and only then goes on asynchronously (the promise it
   * returns settles when the request is done, onFinish() included); a handler that returns no
   * promise is served without one. It never throws or rejects: every error becomes a response.
   * @internal
   */
  _execute(initArgs: unknown, rawPathArgs: (string | null)[], rawPathKwargs: Record<string, string | null>): void | Promise<void> {
    if (this.onConnectionClose !== RequestHandler.prototype.onConnectionClose) this.request.connection?.onClose(() => this.connectionLost());
    this.rawPathArgs = rawPathArgs;
    this.rawPathKwargs = rawPathKwargs;
    let pending: PromiseLike<unknown> | undefined;
    try {
      pending = this.lifecycleSteps(0, initArgs);
    } catch (e) {
      const failing = lifecycleFailed(this, e);
      return failing === undefined ? this.lifecycleSettled() : failing.then(() => this.lifecycleSettled());
    }
    return pending === undefined ? this.lifecycleSettled() : this.lifecycleAfter(pending, this.nextStage);
  }

  // The rest of the lifecycle once a step has returned `pending`: each step from `stage` on,
  // again synchronously up to the next thenable.
  private async lifecycleAfter(pending: PromiseLike<unknown>, stage: number): Promise<void> {
    try {
      for (;;) {
        const next = this.lifecycleSteps(stage, await pending);
        if (next === undefined) break;
        pending = next;
        stage = this.nextStage;
      }
    } catch (e) {
      const failing = lifecycleFailed(this, e);
      if (failing !== undefined) await failing;
    }
    const settling = this.lifecycleSettled();
    if (settling !== undefined) await settling;
  }

  // The lifecycle's steps from `stage` (0: initialize(), called with `value` as its initArgs),
  // up to the first that returns a thenable: that thenable is returned, and `nextStage` is
  // where to go on with its value. Returns undefined once the request has been served; throws
  // what a step throws.
  private lifecycleSteps(stage: number, value: unknown): PromiseLike<unknown> | undefined {
    const request = this.request;
    let result: unknown;
    if (stage === 0) {
      result = this.initialize(value);
      if (isThenable(result)) return this.pause(result, 1);
    }
    if (stage <= 1) {
      if (!supportedMethods(this).includes(request.method)) throw new HTTPError(405);
      // Beyond Tornado: with the cors setting, every route answers preflights (throws Finish).
      const cors = this.settings.cors;
      if (cors !== undefined && request.method === "OPTIONS") answerPreflight(this, cors, this.headers, () => implementedMethods(this));
      const method = (this.lifecycleMethod = handlerMethod(this, request.method));
      // Without a prepare() of its own the answer is 405 whatever the body holds: refuse before
      // reading it, so an `Expect: 100-continue` client never sends it. With one, Tornado's
      // order stands (prepare() may answer, e.g. a catch-all 404).
      if (method === null && this.prepare === RequestHandler.prototype.prepare) throw methodNotAllowed(this);
      // The whole body now, or (streamRequestBody) into dataReceived() after prepare().
      const streaming = (this.lifecycleStreaming = this._streamsBody());
      if (!streaming && (result = this._readBody()) !== undefined) return this.pause(result as PromiseLike<unknown>, 2);
    }
    if (stage <= 2) {
      const rawPathArgs = this.rawPathArgs;
      if (rawPathArgs.length > 0) {
        const rawPathKwargs = this.rawPathKwargs;
        this.pathArgs = rawPathArgs.map((arg) => (arg === null ? null : this._decodePathArgument(arg)));
        this.pathKwargs = {};
        for (const name in rawPathKwargs) {
          const raw = rawPathKwargs[name];
          this.pathKwargs[name] = raw == null ? null : this._decodePathArgument(raw, name);
        }
      }
      // XSRF, then the current user, before prepare() (Tornado's order; see xsrf.ts, auth.ts).
      const safe = request.method === "GET" || request.method === "HEAD" || request.method === "OPTIONS";
      if (this.settings.xsrfCookies && !safe) {
        result = this.checkXsrfCookie();
        if (isThenable(result)) return this.pause(result, 3);
      }
    }
    if (stage <= 3 && this._currentUserPending()) {
      result = this.getCurrentUser();
      if (isThenable(result)) return this.pause(result, 4);
      this.currentUser = result;
    }
    if (stage <= 4) {
      // Entered here: `value` is what getCurrentUser() resolved to.
      if (stage === 4) this.currentUser = value;
      result = this.prepare();
      if (isThenable(result)) return this.pause(result, 5);
    }
    if (stage <= 5) {
      if (this.done) return undefined;
      if (this.lifecycleMethod === null) throw methodNotAllowed(this);
      if (this.lifecycleStreaming) return this.pause(this._streamBody(), 6);
    }
    if (stage <= 6) {
      result = this._validateRequest(); // withSchemas (web/schema/): a 400 before the method
      if (isThenable(result)) return this.pause(result, 7);
    }
    if (stage <= 7) {
      result = this.lifecycleMethod!.apply(this, this.pathArgs);
      if (isThenable(result)) return this.pause(result, 8);
    }
    if (this.autoFinish && !this.done) this.finish();
    return undefined;
  }

  private pause(pending: PromiseLike<unknown>, next: number): PromiseLike<unknown> {
    this.nextStage = next;
    return pending;
  }

  // The end of the lifecycle: waits for an async onFinish(), logging its error.
  private lifecycleSettled(): Promise<void> | undefined {
    const pending = this.onFinishResult;
    if (pending === undefined) return undefined;
    return pending.then(
      () => {},
      (e: unknown) => appLog.error("Exception in onFinish", e),
    );
  }

  private connectionLost(): void {
    try {
      this.onConnectionClose();
    } catch (e) {
      appLog.error("Exception in onConnectionClose", e);
    }
  }
}

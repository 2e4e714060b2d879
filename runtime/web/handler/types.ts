/** Types a handler's output and errors share (a leaf: imports nothing of the runtime). */

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

/**
 * Options for `RequestHandler.staticUrl()` and `StaticFileHandler.makeStaticUrl()`.
 *
 * @example
 * this.staticUrl("app.css", { includeHost: true }) // "http://example.com/static/app.css?v=…"
 */
export interface StaticUrlOptions {
  /** Prefix the URL with the request's protocol and host. Default false. */
  includeHost?: boolean;
  /** Append `?v=<version>` so the URL can be cached for good. Default true. */
  includeVersion?: boolean;
}

/** Whether `value` is a promise (or any thenable): the lifecycle awaits only those. @internal */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === "object" && typeof (value as PromiseLike<unknown>).then === "function";
}

/** A header value as `setHeader` takes it, as sent: numbers in decimal, dates in HTTP format. @internal */
export function headerValue(value: string | number | Date): string {
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  if (value instanceof Date) return value.toUTCString();
  throw new TypeError(`Unsupported header value ${String(value)}`);
}

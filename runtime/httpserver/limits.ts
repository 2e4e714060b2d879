/**
 * The limits `HTTPServer` applies to what a client sends: sizes, counts and times, each with a
 * default a public server can keep.
 */

/**
 * Every limit `HTTPServer` enforces, with its value (sizes in bytes, times in milliseconds,
 * `0` turns a time limit off).
 *
 * @example
 * new HTTPServer(app).limits.maxFormFields // 1000
 */
export interface ServerLimits {
  /** Largest request head (request line and headers); beyond it 431. */
  maxHeaderSize: number;
  /** Largest body of any type not listed below (uploads, multipart); beyond it 413. */
  maxBodySize: number;
  /** Largest `application/x-www-form-urlencoded` body; beyond it 413. */
  maxFormBodySize: number;
  /** Largest `application/json` (or `…+json`) body; beyond it 413. */
  maxJsonBodySize: number;
  /** Most fields in a urlencoded form body; beyond it 400. */
  maxFormFields: number;
  /** Most parts in a `multipart/form-data` body (Tornado's 100); beyond it 400. */
  maxMultipartParts: number;
  /** How long a request head may take to arrive once it starts; then 408 and close. */
  headerTimeout: number;
  /** Slowest average rate (bytes per second) a body may arrive at, after `bodyRateGracePeriod`; slower is 408 and close. */
  minBodyRate: number;
  /** How long a body may arrive at any rate before `minBodyRate` is checked. */
  bodyRateGracePeriod: number;
  /** How long a request may go with nothing sent or received on its connection (a handler that never answers); then 503, or a cut connection once the response has started. */
  idleRequestTimeout: number;
  /** How long an idle keep-alive connection stays open between requests. */
  idleConnectionTimeout: number;
  /** Connections the kernel queues before `accept` (capped by `net.core.somaxconn`). */
  backlog: number;
}

/**
 * The defaults of `ServerLimits`: what a server started without options enforces.
 *
 * @example
 * DEFAULT_LIMITS.maxJsonBodySize // 1048576
 */
export const DEFAULT_LIMITS: Readonly<ServerLimits> = Object.freeze({
  maxHeaderSize: 64 * 1024,
  maxBodySize: 100 * 1024 * 1024,
  maxFormBodySize: 1024 * 1024,
  maxJsonBodySize: 1024 * 1024,
  maxFormFields: 1000,
  maxMultipartParts: 100,
  headerTimeout: 60_000,
  minBodyRate: 1024,
  bodyRateGracePeriod: 10_000,
  idleRequestTimeout: 300_000,
  idleConnectionTimeout: 3600 * 1000,
  // Node's default, and nginx's on Linux; Tornado's is 128.
  backlog: 511,
});

/**
 * `DEFAULT_LIMITS` with the values given in `options` (undefined ones keep their default).
 *
 * @example
 * resolveLimits({ maxFormFields: 50 }).maxFormFields // 50
 */
export function resolveLimits(options: Partial<ServerLimits>): ServerLimits {
  const limits = { ...DEFAULT_LIMITS };
  for (const name of Object.keys(DEFAULT_LIMITS) as (keyof ServerLimits)[]) {
    const value = options[name];
    if (value === undefined) continue;
    if (typeof value !== "number" || !(value >= 0)) throw new TypeError(`HTTPServer option ${name} must be a number of 0 or more, not ${String(value)}`);
    limits[name] = value;
  }
  return limits;
}

/**
 * The largest body accepted for a `Content-Type`: forms and JSON have their own, smaller
 * limits (they are parsed in memory, never above `maxBodySize`); everything else gets
 * `maxBodySize`.
 *
 * @example
 * bodyLimitFor("application/json; charset=utf-8", DEFAULT_LIMITS) // 1048576
 */
export function bodyLimitFor(contentType: string | undefined, limits: ServerLimits): number {
  if (contentType === undefined) return limits.maxBodySize;
  const semi = contentType.indexOf(";");
  const type = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  if (type === "application/x-www-form-urlencoded") return Math.min(limits.maxFormBodySize, limits.maxBodySize);
  if (type === "application/json" || (type.startsWith("application/") && type.endsWith("+json"))) {
    return Math.min(limits.maxJsonBodySize, limits.maxBodySize);
  }
  return limits.maxBodySize;
}

/** `StaticFileHandler`: files from a directory, with validators, byte ranges and versioned URLs. */

import { nodeCrypto } from "../httputil/node-crypto.js";
import { createReadStream, readFileSync, statSync, type BigIntStats } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import { genLog } from "../log.js";
import { StreamClosedError } from "../iostream.js";
import type { SettingsOf } from "../web/application-type.js";
import { HTTPError } from "../web/errors.js";
import { RequestHandler } from "../web/handler.js";
import type { StaticUrlOptions } from "../web/handler/types.js";
import { guessContentType } from "./mime.js";
import { contentRange, parseRequestRange } from "./range.js";
import { sha512OfFile, statVersion, versionCache } from "./versions.js";

export type { StaticUrlOptions } from "../web/handler/types.js";

/**
 * The `initArgs` of a `StaticFileHandler` route.
 *
 * @example
 * ["/docs/(.*)", StaticFileHandler, { path: "./site", defaultFilename: "index.html" } satisfies StaticFileHandlerArgs]
 */
export interface StaticFileHandlerArgs {
  /** The directory to serve (relative to the working directory, or absolute). */
  path: string;
  /** The file served for a directory, such as `index.html` (default: none, a directory is a 403). */
  defaultFilename?: string;
  /**
   * Serve files and folders whose name starts with a dot (`.env`, `.git/`, `.well-known/`).
   * Default false: they are a 404, as if absent.
   */
  serveDotfiles?: boolean;
}

/**
 * A static file's body, as `getContent` returns it: bytes, or chunks of them (streamed).
 *
 * @example
 * const body: StaticContent = createReadStream("/srv/www/app.css");
 */
export type StaticContent = Buffer | Iterable<Buffer> | AsyncIterable<Buffer>;

const CHUNK_SIZE = 64 * 1024;

function withTrailingSep(directory: string): string {
  return directory.endsWith(sep) ? directory : directory + sep;
}

/**
 * Serves the files under a directory: `Content-Type` from the extension, `Etag` and
 * `Last-Modified` with 304 answers, byte ranges (`Accept-Ranges: bytes`), HEAD, a default file
 * for directories, and a long `Cache-Control` for versioned URLs (`?v=…`). Files are streamed
 * with back-pressure, 64 KiB at a time: a handler never holds a whole file in memory.
 *
 * The route needs one group, the path inside the directory. The `staticPath` setting adds
 * `/static/(.*)`, `/(favicon\.ico)` and `/(robots\.txt)` routes for you; `staticUrl(path)`
 * builds versioned URLs for them.
 *
 * Contract:
 * - A path outside the directory (`..`, an absolute path, a backslash, or a symbolic link
 *   inside the directory pointing out of it) is a 403; a missing file (or a NUL byte) a 404;
 *   a directory without `defaultFilename` a 403. A directory requested without its trailing
 *   slash is a 301 to the slashed path when `defaultFilename` is set.
 * - A path with a name starting with a dot (`.env`, `.git/config`) is a 404 unless the
 *   `serveDotfiles` init argument is true (Tornado serves them).
 * - `Etag` is the file's version: the SHA-512 of its content for files up to `hashMaxSize`
 *   bytes, otherwise its size and modification time (Tornado hashes every file). Versions are
 *   computed once per file and cached (Tornado's behaviour: a file changed in place keeps its
 *   old version) until `reset()`, except with `debug` (or `staticHashCache: false`).
 * - `If-None-Match` is checked first (`*`, weak tags, lists); without it, `If-Modified-Since`
 *   at or after the modification time gives a 304.
 * - One range (`bytes=a-b`, `bytes=a-`, `bytes=-n`) gives a 206 with `Content-Range`, or a 200
 *   when it covers the whole file; one starting past the end (or `bytes=-0`) a 416 whose
 *   `Content-Range` gives the size. Several ranges, or a malformed header, give the whole file.
 *
 * Subclass hooks, as in Tornado: `getAbsolutePath`, `validateAbsolutePath`, `getContent`,
 * `getContentVersion`, `getContentSize`, `getModifiedTime`, `getContentType`,
 * `setExtraHeaders`, `getCacheTime`, `makeStaticUrl`, `parseUrlPath`, `getVersion`.
 *
 * @example
 * new Application([
 *   ["/downloads/(.*)", StaticFileHandler, { path: "/srv/downloads" }],
 *   ["/docs/(.*)", StaticFileHandler, { path: "./site", defaultFilename: "index.html" }],
 * ], { staticPath: "./public" }); // and /static/… from ./public
 */
export class StaticFileHandler extends RequestHandler {
  /**
   * Seconds a versioned URL may be cached (`Cache-Control: max-age`, `Expires`): 10 years, as
   * Tornado. @example static override cacheMaxAge = 365 * 86400; // one year
   */
  static cacheMaxAge = 86400 * 365 * 10;
  /**
   * Files up to this many bytes (4 MiB) are versioned by a hash of their content, bigger ones
   * by size and mtime. @example static override hashMaxSize = 64 * 1024 * 1024;
   */
  static hashMaxSize = 4 * 1024 * 1024;

  /** The directory served (the `path` init argument). */
  root = "";
  /** The file served for a directory, if any. */
  defaultFilename: string | undefined;
  /** Whether names starting with a dot are served (the `serveDotfiles` init argument). */
  serveDotfiles = false;
  /** The requested path inside `root`, as `parseUrlPath` returned it. */
  path = "";
  /** The file's absolute path once validated (`null` after a redirect). */
  absolutePath: string | null = null;
  /** The file's modification time, whole seconds (`null` if unknown). */
  modified: Date | null = null;
  private version: string | null = null;
  private statResult: BigIntStats | undefined;

  /**
   * Takes the route's `initArgs`: the directory to serve and an optional default file.
   *
   * @example
   * ["/files/(.*)", StaticFileHandler, { path: "/srv/files", defaultFilename: "index.html" }]
   */
  override initialize(initArgs: StaticFileHandlerArgs): void {
    if (typeof initArgs?.path !== "string" || initArgs.path === "") {
      throw new TypeError("StaticFileHandler needs initArgs { path: <directory to serve> }");
    }
    this.root = initArgs.path;
    this.defaultFilename = initArgs.defaultFilename;
    this.serveDotfiles = initArgs.serveDotfiles === true;
  }

  /**
   * Forgets every cached version (`staticUrl`'s `?v=` and the `Etag`s) of this class.
   *
   * @example
   * StaticFileHandler.reset(); // after deploying new files without a restart
   */
  static reset(): void {
    versionCache(this).clear();
  }

  /**
   * Sends the file at `path` (the route's group), or the part a `Range` asks for.
   *
   * @example
   * // routed as ["/static/(.*)", StaticFileHandler, { path: "./public" }]
   * await fetch("http://localhost:8888/static/app.css");
   */
  async get(path: string | null): Promise<void> {
    await this.serve(path ?? "", true);
  }

  /**
   * Like `get`, headers only (with the `Content-Length` the body would have).
   *
   * @example
   * await fetch("http://localhost:8888/static/video.mp4", { method: "HEAD" });
   */
  async head(path: string | null): Promise<void> {
    await this.serve(path ?? "", false);
  }

  private async serve(urlPath: string, includeBody: boolean): Promise<void> {
    const handlerClass = this.constructor as typeof StaticFileHandler;
    // No file name holds a NUL byte (the file system would refuse it); a backslash is a
    // separator on Windows, and browsers read `/\host` as `//host`: neither reaches the disk.
    if (urlPath.includes("\0")) throw new HTTPError(404, "NUL byte in static path");
    if (urlPath.includes("\\")) throw new HTTPError(403, `${urlPath} has a backslash`);
    this.path = this.parseUrlPath(urlPath);
    // `.` and `..` are not names; `..` is refused below as leaving the root.
    if (!this.serveDotfiles && this.path.split(/[/\\]/).some((name) => name.startsWith(".") && name !== "." && name !== "..")) {
      throw new HTTPError(404, `${this.path} is a dotfile (the serveDotfiles init argument is off)`);
    }
    const absolutePath = handlerClass.getAbsolutePath(this.root, this.path);
    this.absolutePath = await this.validateAbsolutePath(this.root, absolutePath);
    if (this.absolutePath === null) return;

    this.version = await this.loadVersion(this.absolutePath);
    this.modified = await this.getModifiedTime();
    this.setHeaders();
    if (this.shouldReturn304()) {
      this.setStatus(304);
      return;
    }

    const size = await this.getContentSize();
    const rangeHeader = this.request.headers.get("Range");
    // RFC 9110 §14.2: a Range header we cannot read is ignored (the whole file is sent).
    const requested = rangeHeader ? parseRequestRange(rangeHeader) : null;
    let start: number | null = null;
    let end: number | null = null;
    if (requested !== null) {
      ({ start, end } = requested);
      if (start !== null && start < 0) start = Math.max(0, start + size);
      // RFC 9110 §14.1.2: unsatisfiable when the first byte is past the end, or the last one
      // before the first, or a suffix of length 0 is asked for.
      if ((start !== null && (start >= size || (end !== null && start >= end))) || end === 0) {
        this.setStatus(416);
        this.setHeader("Content-Type", "text/plain");
        this.setHeader("Content-Range", `bytes */${size}`);
        return;
      }
      // Clients ask for more than there is to cap a download: serve what there is.
      if (end !== null && end > size) end = size;
      // A range covering the whole file is a 200, as Tornado (Chrome refuses to play audio
      // answered with a 206 to `bytes=0-`).
      if (size !== (end ?? size) - (start ?? 0)) {
        this.setStatus(206);
        this.setHeader("Content-Range", contentRange(start, end, size));
      }
    }
    const first = start ?? 0;
    const last = end ?? size;
    this.setHeader("Content-Length", last - first);
    if (!includeBody) return;
    await this.sendContent(handlerClass.getContent(this.absolutePath, first, last), last - first);
  }

  // Writes the content chunk by chunk, waiting for the socket to take each one.
  private async sendContent(content: StaticContent, length: number): Promise<void> {
    let sent = 0;
    try {
      const chunks = Buffer.isBuffer(content) ? [content] : content;
      for await (const chunk of chunks) {
        if (chunk.length === 0) continue;
        // Never more than Content-Length, even if the file has grown since it was measured.
        const part = sent + chunk.length > length ? chunk.subarray(0, length - sent) : chunk;
        this.write(part);
        sent += part.length;
        await this.flush();
        if (sent === length) break;
      }
    } catch (e) {
      if (e instanceof StreamClosedError) return; // the client has gone
      throw e;
    }
    if (sent < length) {
      // The file shrank while being sent: the body cannot match Content-Length, so the client
      // must see the connection end rather than wait for bytes that will not come.
      if (this.headersWritten) this.request.connection?.abort?.();
      throw new Error(`${this.absolutePath} ended after ${sent} of ${length} bytes`);
    }
  }

  /**
   * The `Etag`: the file's version in quotes, the same for a range as for the whole file.
   *
   * @example
   * // Etags from the modification time alone:
   * override computeEtag() { return this.modified ? `"${this.modified.getTime()}"` : null; }
   */
  override computeEtag(): string | null {
    return this.version ? `"${this.version}"` : null;
  }

  /**
   * Sets `Accept-Ranges`, `Etag`, `Last-Modified`, `Content-Type`, and for a cacheable file
   * `Expires` and `Cache-Control`, then calls `setExtraHeaders`.
   *
   * @example
   * override setHeaders() { super.setHeaders(); this.setHeader("X-Content-Type-Options", "nosniff"); }
   */
  setHeaders(): void {
    this.setHeader("Accept-Ranges", "bytes");
    this.setEtagHeader();
    if (this.modified !== null) this.setHeader("Last-Modified", this.modified);
    const contentType = this.getContentType();
    if (contentType) this.setHeader("Content-Type", contentType);
    const cacheTime = this.getCacheTime(this.path, this.modified, contentType);
    if (cacheTime > 0) {
      this.setHeader("Expires", new Date(Date.now() + cacheTime * 1000));
      this.setHeader("Cache-Control", `max-age=${cacheTime}`);
    }
    this.setExtraHeaders(this.path);
  }

  /**
   * Whether the client's copy is current: `If-None-Match` matches the `Etag`, or (when there is
   * no `If-None-Match`) `If-Modified-Since` is at or after the modification time.
   *
   * @example
   * override shouldReturn304() { return false; } // always send the file
   */
  shouldReturn304(): boolean {
    if (this.request.headers.get("If-None-Match")) return this.checkEtagHeader();
    const ifModifiedSince = this.request.headers.get("If-Modified-Since");
    if (ifModifiedSince !== undefined && this.modified !== null) {
      const since = Date.parse(ifModifiedSince);
      if (!Number.isNaN(since) && since >= this.modified.getTime()) return true;
    }
    return false;
  }

  /**
   * Where `path` lies under `root`, resolved like a shell would (`..` steps up, an absolute
   * `path` replaces `root`); `validateAbsolutePath` then refuses what lies outside.
   *
   * @example
   * StaticFileHandler.getAbsolutePath("/srv/www", "css/app.css") // "/srv/www/css/app.css"
   */
  static getAbsolutePath(root: string, path: string): string {
    return resolve(root, path);
  }

  /**
   * Checks the path and returns the file to serve: 403 outside `root` (a symbolic link
   * included), 404 when missing, 403 for a directory (or its `defaultFilename`, with a 301 to
   * add the trailing slash first; it then returns `null`). Override to refuse more (source maps,
   * say), and call `super`.
   *
   * @example
   * override async validateAbsolutePath(root: string, absolutePath: string) {
   *   if (absolutePath.endsWith(".map")) throw new HTTPError(404); // no source maps in production
   *   return super.validateAbsolutePath(root, absolutePath);
   * }
   */
  async validateAbsolutePath(root: string, absolutePath: string): Promise<string | null> {
    const rootPath = resolve(root);
    // The trailing separator keeps `/srv/www-private` out of `/srv/www`; the one added to the
    // path lets a request for the root itself through.
    if (!(absolutePath + sep).startsWith(withTrailingSep(rootPath))) {
      throw new HTTPError(403, `${this.path} is not in root static directory`);
    }
    let target = absolutePath;
    let stats = await statOrNull(target);
    if (stats !== null && stats.isDirectory() && this.defaultFilename !== undefined) {
      // request.path, not this.path: the route may have trimmed a prefix that ends in a slash.
      const requestPath = this.request.path;
      if (!requestPath.endsWith("/")) {
        // `//host/` in a Location is another host: an open redirect.
        if (requestPath.startsWith("//")) throw new HTTPError(403, "cannot redirect path with two initial slashes");
        this.redirect(requestPath + "/", true);
        return null;
      }
      target = join(target, this.defaultFilename);
      stats = await statOrNull(target);
    }
    if (stats === null) throw new HTTPError(404);
    if (!stats.isFile()) throw new HTTPError(403, `${this.path} is not a file`);
    // Beyond Tornado (which follows links anywhere): a link may point elsewhere inside the
    // directory, not out of it.
    const [realRoot, realTarget] = await Promise.all([realpath(rootPath), realpath(target)]);
    if (!(realTarget + sep).startsWith(withTrailingSep(realRoot))) {
      throw new HTTPError(403, `${this.path} leads out of the root static directory through a symbolic link`);
    }
    this.statResult = stats;
    return target;
  }

  /**
   * The bytes of a file from `start` (inclusive) to `end` (exclusive), as chunks. The default
   * streams the file 64 KiB at a time. Override to serve from elsewhere (with
   * `getContentVersion`, `getContentSize`, `getModifiedTime` and `validateAbsolutePath`).
   *
   * @example
   * static override getContent(absolutePath: string, start?: number, end?: number) {
   *   return bucket.stream(absolutePath, { start, end }); // any AsyncIterable<Buffer>
   * }
   */
  static getContent(absolutePath: string, start?: number, end?: number): StaticContent {
    if (end !== undefined && end <= (start ?? 0)) return Buffer.alloc(0);
    return createReadStream(absolutePath, {
      start,
      end: end === undefined ? undefined : end - 1,
      highWaterMark: CHUNK_SIZE,
    });
  }

  /**
   * The version of a file, for `staticUrl`'s `?v=` and the `Etag`: the hex SHA-512 of its
   * content (as Tornado), or, above `hashMaxSize` bytes, its size and modification time (so a
   * big file is never read just to name it). Synchronous, as `staticUrl` is; requests compute
   * the default without blocking.
   *
   * @example
   * static override getContentVersion(absolutePath: string) { return manifest[absolutePath]; }
   */
  static getContentVersion(absolutePath: string): string {
    const stats = statSync(absolutePath, { bigint: true });
    if (stats.size > BigInt(this.hashMaxSize)) return statVersion(stats);
    return nodeCrypto().createHash("sha512").update(readFileSync(absolutePath)).digest("hex");
  }

  /**
   * The size of the file being served, in bytes.
   *
   * @example
   * override async getContentSize() { return (await bucket.head(this.absolutePath!)).size; }
   */
  async getContentSize(): Promise<number> {
    return Number((await this.stat()).size);
  }

  /**
   * The file's modification time, truncated to whole seconds as `Last-Modified` carries it
   * (`null` for none).
   *
   * @example
   * override async getModifiedTime() { return deployTime; }
   */
  async getModifiedTime(): Promise<Date | null> {
    const stats = await this.stat();
    return new Date(Number(stats.mtimeMs / 1000n) * 1000);
  }

  private async stat(): Promise<BigIntStats> {
    this.statResult ??= await stat(this.absolutePath!, { bigint: true });
    return this.statResult;
  }

  /**
   * The `Content-Type`, from the file's extension (`application/octet-stream` when unknown;
   * `application/gzip` for `.gz`). Text types carry no charset, as in Tornado.
   *
   * @example
   * override getContentType() { return this.path.endsWith(".txt") ? "text/plain; charset=UTF-8" : super.getContentType(); }
   */
  getContentType(): string {
    return guessContentType(this.absolutePath ?? this.path);
  }

  /**
   * Hook to add headers to every file response (after the standard ones).
   *
   * @example
   * override setExtraHeaders(path: string) { if (path.endsWith(".wasm")) this.setHeader("Cross-Origin-Embedder-Policy", "require-corp"); }
   */
  setExtraHeaders(_path: string): void {}

  /**
   * Seconds the response may be cached (`Cache-Control: max-age` and `Expires`); 0 leaves it
   * to the browser. Default: `cacheMaxAge` for a versioned URL (a `v` argument), else 0.
   *
   * @example
   * override getCacheTime(path: string) { return path.startsWith("fonts/") ? 86400 : super.getCacheTime(path, null, ""); }
   */
  getCacheTime(_path: string, _modified: Date | null, _contentType: string): number {
    return "v" in this.request.arguments ? (this.constructor as typeof StaticFileHandler).cacheMaxAge : 0;
  }

  /**
   * The URL of static file `path`: `staticUrlPrefix` + `path`, plus `?v=<version>` unless
   * `includeVersion` is false or the file cannot be read. `RequestHandler.staticUrl` calls it.
   *
   * @example
   * StaticFileHandler.makeStaticUrl(app.settings, "app.css") // "/static/app.css?v=9f86d0…"
   */
  static makeStaticUrl(settings: SettingsOf, path: string, options: StaticUrlOptions = {}): string {
    const url = (settings.staticUrlPrefix ?? "/static/") + path;
    if (options.includeVersion === false) return url;
    const version = this.getVersion(settings, path);
    return version ? `${url}?v=${version}` : url;
  }

  /**
   * Turns the route's group into a path under `root` (the inverse of `makeStaticUrl`); on
   * Windows, `/` becomes `\`.
   *
   * @example
   * override parseUrlPath(urlPath: string) { return urlPath.replace(/^v\d+\//, ""); } // drop a version segment
   */
  parseUrlPath(urlPath: string): string {
    return sep === "/" ? urlPath : urlPath.replaceAll("/", sep);
  }

  /**
   * The version string of static file `path` (relative to `staticPath`), cached per absolute
   * path unless `staticHashCache` is false; `null` when the file cannot be read (logged).
   *
   * @example
   * StaticFileHandler.getVersion(app.settings, "app.css") // "9f86d0…"
   */
  static getVersion(settings: SettingsOf, path: string): string | null {
    if (!settings.staticPath) throw new Error("You must define the 'staticPath' setting in your application to use static versions");
    const absolutePath = this.getAbsolutePath(settings.staticPath, path);
    const cache = settings.staticHashCache === false ? null : versionCache(this);
    if (cache?.has(absolutePath)) return cache.get(absolutePath)!;
    let version: string | null;
    try {
      version = this.getContentVersion(absolutePath) || null;
    } catch (e) {
      genLog.error(`Could not open static file ${JSON.stringify(absolutePath)}`, e);
      version = null;
    }
    cache?.set(absolutePath, version);
    return version;
  }

  // The version for a request: from the cache, else computed. The default getContentVersion
  // is computed here without blocking the event loop (a stream through the hash).
  private async loadVersion(absolutePath: string): Promise<string | null> {
    const handlerClass = this.constructor as typeof StaticFileHandler;
    const cache = this.settings.staticHashCache === false ? null : versionCache(handlerClass);
    if (cache?.has(absolutePath)) return cache.get(absolutePath)!;
    let version: string | null;
    try {
      if (handlerClass.getContentVersion !== StaticFileHandler.getContentVersion) {
        version = handlerClass.getContentVersion(absolutePath) || null;
      } else {
        const stats = await this.stat();
        version = stats.size > BigInt(handlerClass.hashMaxSize) ? statVersion(stats) : await sha512OfFile(absolutePath);
      }
    } catch (e) {
      genLog.error(`Could not open static file ${JSON.stringify(absolutePath)}`, e);
      version = null;
    }
    cache?.set(absolutePath, version);
    return version;
  }
}

async function statOrNull(path: string): Promise<BigIntStats | null> {
  try {
    return await stat(path, { bigint: true });
  } catch {
    // Missing, a file used as a directory, a loop, a name too long, no permission: all "not
    // there" (Python's os.path.exists, which Tornado asks, says the same).
    return null;
  }
}

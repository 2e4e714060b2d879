/**
 * Static file versions (`staticUrl`'s `?v=` and `StaticFileHandler`'s `Etag`): the cache per
 * handler class (Tornado's `_static_hashes`), the content hash computed without blocking, and
 * the cheap validator for files too big to hash.
 */

import { nodeCrypto } from "../httputil/node-crypto.js";
import { createReadStream, type BigIntStats } from "node:fs";

const versionCaches = new WeakMap<object, Map<string, string | null>>();
// Hashes being computed, so that concurrent first requests for a file share one read.
const pendingHashes = new Map<string, Promise<string>>();

/** The versions of `handlerClass`, by absolute path (`null`: the file could not be read). */
export function versionCache(handlerClass: object): Map<string, string | null> {
  let cache = versionCaches.get(handlerClass);
  if (cache === undefined) versionCaches.set(handlerClass, (cache = new Map()));
  return cache;
}

/**
 * The validator of a file too big to hash: its size and modification time in nanoseconds, in
 * hex (nginx's `"mtime-size"` Etag, with more precision).
 */
export function statVersion(stats: BigIntStats): string {
  return `${stats.size.toString(16)}-${stats.mtimeNs.toString(16)}`;
}

/** The hex SHA-512 of a file's content, read as a stream (64 KiB at a time). */
export function sha512OfFile(absolutePath: string): Promise<string> {
  let pending = pendingHashes.get(absolutePath);
  if (pending === undefined) {
    pending = (async () => {
      const hash = nodeCrypto().createHash("sha512");
      for await (const chunk of createReadStream(absolutePath, { highWaterMark: 64 * 1024 })) hash.update(chunk as Buffer);
      return hash.digest("hex");
    })().finally(() => pendingHashes.delete(absolutePath));
    pendingHashes.set(absolutePath, pending);
  }
  return pending;
}

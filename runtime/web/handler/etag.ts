/**
 * A handler's `Etag` and conditional answer (Tornado's `compute_etag`, `set_etag_header`,
 * `check_etag_header`): `finish()` adds the `Etag` of a 200 to GET or HEAD and answers 304 when
 * the request's `If-None-Match` matches it.
 */

import { nodeCrypto } from "../../httputil/node-crypto.js";
import { HandlerTemplates } from "./templates.js";

const ETAG_LIST = /\*|(?:W\/)?"[^"]*"/g;

/**
 * The `Etag` methods of `RequestHandler`. Not used on its own.
 * @internal
 */
export abstract class HandlerEtag extends HandlerTemplates {
  /**
   * The `Etag` for the body written so far (a quoted SHA-1 hex digest); return `null` from an
   * override to send no `Etag`.
   *
   * @example
   * computeEtag() { return `"${this.version}"`; }
   */
  computeEtag(): string | null {
    const parts = this._writtenChunks();
    const data =
      parts.length === 1 ? parts[0]! : parts.length === 0 ? "" : Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : p)));
    // A short text body is hashed in JS: SHA-1's fixed cost per call dominates small bodies.
    if (typeof data === "string" && data.length <= SHORT_BODY) {
      // The same short body again (a fixed answer, say) has the same tag.
      if (data !== lastShortBody) {
        lastShortEtag = `"${hash64(data)}"`;
        lastShortBody = data;
      }
      return lastShortEtag;
    }
    return `"${nodeCrypto().hash("sha1", data, "hex")}"`;
  }

  /**
   * Sets the `Etag` header from `computeEtag()`.
   *
   * @example
   * this.setEtagHeader(); if (this.checkEtagHeader()) { this.setStatus(304); this.finish(); }
   */
  setEtagHeader(): void {
    const etag = this.computeEtag();
    if (etag !== null) this._responseHeaders().set("Etag", etag);
  }

  /**
   * Whether the request's `If-None-Match` matches the response's `Etag` (`*`, weak tags and
   * lists understood).
   *
   * @example
   * if (this.checkEtagHeader()) { this.setStatus(304); return; }
   */
  checkEtagHeader(): boolean {
    const ifNoneMatch = this.request.headers.get("If-None-Match");
    if (ifNoneMatch === undefined) return false;
    const computed = this._responseHeaders().get("Etag");
    if (!computed) return false;
    const etags = ifNoneMatch.match(ETAG_LIST);
    if (etags === null) return false;
    if (etags[0] === "*") return true;
    const strip = (tag: string) => (tag.startsWith("W/") ? tag.slice(2) : tag);
    const target = strip(computed);
    return etags.some((tag) => strip(tag) === target);
  }
}

const SHORT_BODY = 128;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
// The last short body hashed, and its tag.
let lastShortBody = "";
let lastShortEtag = `"${hash64("")}"`;

function hex32(h: number): string {
  return HEX[h >>> 24]! + HEX[(h >>> 16) & 255]! + HEX[(h >>> 8) & 255]! + HEX[h & 255]!;
}

// A 64-bit non-cryptographic hash of a string's UTF-16 code units (two multiply-xorshift lanes);
// an Etag only has to change when the body does.
function hash64(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return hex32(h1) + hex32(h2);
}

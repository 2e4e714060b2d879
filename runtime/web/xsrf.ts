/**
 * Cross-site request forgery protection as Tornado does it: a random token in the `_xsrf`
 * cookie that every unsafe request must repeat in an `_xsrf` argument or an `X-XSRFToken` /
 * `X-CSRFToken` header. A page gets the token masked with fresh random bytes each time
 * (version 2: `2|<mask hex>|<masked token hex>|<timestamp>`), so a compressed page never
 * repeats it (BREACH); version-1 tokens (plain hex) are still read.
 */

import { nodeCrypto } from "../httputil/node-crypto.js";
import { xhtmlEscape } from "../escape.js";
import { HTTPError } from "./errors.js";
import { constantTimeEqual } from "./signing.js";

/**
 * A token as read from the cookie (or made anew): `version` is `null` when it was made in this
 * request, so the cookie still has to be set.
 * @internal
 */
export interface RawXsrfToken {
  version: number | null;
  token: Buffer;
  /** Seconds since the epoch when the token was made (the time of reading for version 1). */
  timestamp: number;
}

const VERSION_PREFIX = /^([1-9][0-9]*)\|/;
const HEX = /^(?:[0-9a-fA-F]{2})*$/;
const DIGITS = /^[0-9]+$/;

function nowSeconds(): number {
  return Math.trunc(Date.now() / 1000);
}

function fromHex(text: string): Buffer | null {
  return HEX.test(text) ? Buffer.from(text, "hex") : null;
}

function applyMask(mask: Buffer, data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i]! ^ mask[i & 3]!;
  return out;
}

/**
 * Reads an XSRF token (a cookie, or what a form sent): version 2 is unmasked, version 1 is hex
 * (or, failing that, the text itself). `null` for anything malformed or of an unknown version.
 * @internal
 */
export function decodeXsrfToken(value: string): RawXsrfToken | null {
  const match = VERSION_PREFIX.exec(value);
  if (match === null) {
    return { version: 1, token: fromHex(value) ?? Buffer.from(value, "utf8"), timestamp: nowSeconds() };
  }
  if (match[1] !== "2") return null;
  const parts = value.split("|");
  if (parts.length !== 4) return null;
  const mask = fromHex(parts[1]!);
  const masked = fromHex(parts[2]!);
  if (mask === null || mask.length !== 4 || masked === null || !DIGITS.test(parts[3]!)) return null;
  return { version: 2, token: applyMask(mask, masked), timestamp: Number(parts[3]) };
}

/**
 * The token in the request's XSRF cookie, or a new random one when the cookie is absent or
 * unreadable.
 * @internal
 */
export function readXsrfCookie(cookie: string | undefined): RawXsrfToken {
  const decoded = cookie ? decodeXsrfToken(cookie) : null;
  return decoded ?? { version: null, token: nodeCrypto().randomBytes(16), timestamp: nowSeconds() };
}

/**
 * The token as a page shows it: version 2 masks it with 4 fresh random bytes, version 1 is
 * plain hex (the `xsrfCookieVersion` setting).
 * @internal
 */
export function encodeXsrfToken(raw: RawXsrfToken, version = 2): string {
  if (version === 1) return raw.token.toString("hex");
  if (version !== 2) throw new RangeError(`Unknown xsrfCookieVersion ${version}: use 1 or 2`);
  const mask = nodeCrypto().randomBytes(4);
  return `2|${mask.toString("hex")}|${applyMask(mask, raw.token).toString("hex")}|${Math.trunc(raw.timestamp)}`;
}

/**
 * Throws Tornado's 403s unless `input` (the token the request carried) holds the same token as
 * `expected` (the cookie's). Compared in constant time.
 * @internal
 */
export function checkXsrfToken(input: string | null | undefined, expected: Buffer): void {
  if (!input) throw new HTTPError(403, "'_xsrf' argument missing from POST");
  const token = decodeXsrfToken(input)?.token;
  if (!token || token.length === 0) throw new HTTPError(403, "'_xsrf' argument has invalid format");
  if (!constantTimeEqual(token, expected)) throw new HTTPError(403, "XSRF cookie does not match POST argument");
}

/**
 * The hidden form field that carries the token.
 * @internal
 */
export function xsrfInput(token: string): string {
  return `<input type="hidden" name="_xsrf" value="${xhtmlEscape(token)}"/>`;
}

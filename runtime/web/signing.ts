/**
 * Signed, timestamped values in Tornado's formats, byte for byte: what `setSignedCookie` and
 * `getSignedCookie` use, and what Tornado itself reads and writes, so a cookie can move between
 * a Tornado app and this one that share a secret.
 *
 * Version 2 (the default): `2|1:<key version>|<n>:<timestamp>|<n>:<name>|<n>:<base64 value>|<sig>`,
 * where each `<n>:` is the length of the field after it and `<sig>` is the hex HMAC-SHA256 of
 * everything before it. Version 1 (read, and written on request): `<base64>|<timestamp>|<sig>`
 * with an HMAC-SHA1 of name, value and timestamp.
 */

import { nodeCrypto } from "../httputil/node-crypto.js";

/**
 * The `cookieSecret` setting: one secret, or secrets by key version for rotation (then the
 * `keyVersion` setting names the one to sign with; values signed with the others still read).
 *
 * @example
 * const single: CookieSecret = process.env.COOKIE_SECRET!;
 * const rotating: CookieSecret = { 1: process.env.OLD_SECRET!, 2: process.env.COOKIE_SECRET! };
 */
export type CookieSecret = string | Uint8Array | Readonly<Record<number, string | Uint8Array>>;

/**
 * Options for `createSignedValue`.
 *
 * @example
 * createSignedValue(secret, "user", "42", { keyVersion: 2, clock: () => Date.now() });
 */
export interface CreateSignedValueOptions {
  /** The format: 2 (default) or 1 (Tornado's old format; no key versions). */
  version?: number;
  /** The current time in milliseconds since the epoch (default `Date.now`). */
  clock?: () => number;
  /** The key version to sign with; required when the secret is a map, else recorded as is (default 0). */
  keyVersion?: number;
}

/**
 * Options for `decodeSignedValue`.
 *
 * @example
 * decodeSignedValue(secret, "user", value, { maxAgeDays: 7, minVersion: 2 });
 */
export interface DecodeSignedValueOptions {
  /** Refuse values signed longer ago than this many days (default 31; fractions allowed). */
  maxAgeDays?: number;
  /** The current time in milliseconds since the epoch (default `Date.now`). */
  clock?: () => number;
  /** Refuse values in an older format than this: 1 (default) accepts both, 2 only version 2. */
  minVersion?: number;
}

const DAY_SECONDS = 86_400;
// A leading version number (decimal, no leading zero) and a pipe. Version 1 has no such prefix
// and starts with base64, which can look like a number: above 999 it must be version 1.
const VERSION_PREFIX = /^([1-9][0-9]*)\|/;
const DIGITS = /^[0-9]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const PIPE = 0x7c;
const COLON = 0x3a;

type SecretMap = Readonly<Record<number, string | Uint8Array>>;

function isSecretMap(secret: CookieSecret): secret is SecretMap {
  return typeof secret !== "string" && !(secret instanceof Uint8Array);
}

// The secret for `keyVersion`: the map's entry, or the single secret whatever the version.
function secretFor(secret: CookieSecret, keyVersion: number): string | Uint8Array | undefined {
  if (typeof secret === "string" || secret instanceof Uint8Array) return secret;
  return Object.hasOwn(secret, keyVersion) ? secret[keyVersion] : undefined;
}

function toBytes(value: string | Uint8Array): Buffer {
  return typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/**
 * Compares two byte strings in time that depends on their length only.
 * @internal
 */
export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && nodeCrypto().timingSafeEqual(a, b);
}

/**
 * Signs and timestamps `value` under `name`, in Tornado's format (version 2 unless asked):
 * the result is ASCII, safe in a cookie, and reads back with `decodeSignedValue` (here or in
 * Tornado) given the same secret and name. The value itself is only base64-encoded, not
 * encrypted: anyone can read it, nobody can change it.
 *
 * @example
 * const token = createSignedValue(process.env.SECRET!, "invite", "team-7");
 * // "2|1:0|10:1700000000|6:invite|8:dGVhbS03|<64 hex digits>"
 * decodeSignedValue(process.env.SECRET!, "invite", token); // "team-7"
 */
export function createSignedValue(secret: CookieSecret, name: string, value: string | Uint8Array, options: CreateSignedValueOptions = {}): string {
  const version = options.version ?? 2;
  const timestamp = String(Math.trunc((options.clock ?? Date.now)() / 1000));
  const encoded = toBytes(value).toString("base64");
  if (version === 1) {
    if (isSecretMap(secret)) throw new TypeError("Version 1 signed values take a single secret, not a map of key versions");
    return `${encoded}|${timestamp}|${signatureV1(secret, name, encoded, timestamp)}`;
  }
  if (version !== 2) throw new RangeError(`Unsupported signed value version ${version}: use 1 or 2`);
  const keyVersion = options.keyVersion;
  if (keyVersion !== undefined && (!Number.isSafeInteger(keyVersion) || keyVersion < 0)) {
    throw new RangeError(`keyVersion must be a whole number >= 0, not ${keyVersion}`);
  }
  if (isSecretMap(secret) && keyVersion === undefined) throw new TypeError("A map of secrets needs a keyVersion to sign with (the keyVersion setting)");
  const key = secretFor(secret, keyVersion ?? 0);
  if (key === undefined) throw new RangeError(`The cookie secret map has no key version ${keyVersion}`);
  const field = (text: string) => `${Buffer.byteLength(text)}:${text}`;
  const toSign = `2|${field(String(keyVersion ?? 0))}|${field(timestamp)}|${field(name)}|${field(encoded)}|`;
  return toSign + nodeCrypto().createHmac("sha256", toBytes(key)).update(toSign).digest("hex");
}

/**
 * Reads a value made by `createSignedValue` (here or by Tornado): the original text, or `null`
 * when the value is missing, malformed, signed with another secret or for another name,
 * tampered with, or older than `maxAgeDays`. Never throws for a bad value; signatures are
 * compared in constant time. A version-2 value dated in the future is accepted (its timestamp
 * is signed), as in Tornado; a version-1 value more than 31 days ahead is not.
 *
 * @example
 * const user = decodeSignedValue(secret, "user", this.getCookie("user"), { maxAgeDays: 7 });
 * if (user === null) throw new HTTPError(401);
 */
export function decodeSignedValue(
  secret: CookieSecret,
  name: string,
  value: string | Uint8Array | null | undefined,
  options: DecodeSignedValueOptions = {},
): string | null {
  const minVersion = options.minVersion ?? 1;
  if (minVersion > 2) throw new RangeError(`Unsupported minVersion ${minVersion}: use 1 or 2`);
  if (!value || value.length === 0) return null;
  const bytes = toBytes(value);
  const version = signedValueVersion(bytes);
  if (version < minVersion) return null;
  const now = (options.clock ?? Date.now)() / 1000;
  const oldest = now - (options.maxAgeDays ?? 31) * DAY_SECONDS;
  const decoded = version === 1 ? decodeV1(secret, name, bytes, oldest, now) : version === 2 ? decodeV2(secret, name, bytes, oldest) : null;
  return decoded === null ? null : decoded.toString("utf8");
}

/**
 * The key version a version-2 signed value says it was signed with, or `null` (version 1, or
 * not a signed value). The signature is not checked.
 *
 * @example
 * if (getSignatureKeyVersion(this.getCookie("user") ?? "") !== this.settings.keyVersion) {
 *   // signed with an older key: sign it again with the current one
 * }
 */
export function getSignatureKeyVersion(value: string | Uint8Array): number | null {
  const bytes = toBytes(value);
  if (signedValueVersion(bytes) < 2) return null;
  return splitFieldsV2(bytes)?.keyVersion ?? null;
}

function signedValueVersion(bytes: Buffer): number {
  const match = VERSION_PREFIX.exec(bytes.subarray(0, 8).toString("latin1"));
  if (match === null) return 1;
  const version = Number(match[1]);
  return version > 999 ? 1 : version;
}

function signatureV1(secret: string | Uint8Array, ...parts: string[]): string {
  const hmac = nodeCrypto().createHmac("sha1", toBytes(secret));
  for (const part of parts) hmac.update(part);
  return hmac.digest("hex");
}

function decodeBase64(field: string): Buffer | null {
  return BASE64.test(field) ? Buffer.from(field, "base64") : null;
}

function decodeV1(secret: CookieSecret, name: string, bytes: Buffer, oldest: number, now: number): Buffer | null {
  // Tornado asserts here; a map of secrets simply cannot read version 1.
  if (isSecretMap(secret)) return null;
  const parts = bytes.toString("latin1").split("|");
  if (parts.length !== 3) return null;
  const [encoded, timestamp, signature] = parts as [string, string, string];
  if (!constantTimeEqual(Buffer.from(signature, "latin1"), Buffer.from(signatureV1(secret, name, encoded, timestamp)))) return null;
  if (!DIGITS.test(timestamp)) return null;
  const time = Number(timestamp);
  if (time < oldest) return null;
  // Version 1 signs name, value and timestamp with no separator, so digits could move from the
  // value to the timestamp without changing the signature: refuse the far future and a leading 0.
  if (time > now + 31 * DAY_SECONDS || timestamp.startsWith("0")) return null;
  return decodeBase64(encoded);
}

interface FieldsV2 {
  keyVersion: number;
  timestamp: string;
  name: Buffer;
  value: string;
  signature: Buffer;
  signed: Buffer;
}

// Splits `2|<n>:<key version>|<n>:<timestamp>|<n>:<name>|<n>:<value>|<signature>`.
function splitFieldsV2(bytes: Buffer): FieldsV2 | null {
  let at = 2;
  const fields: Buffer[] = [];
  for (let i = 0; i < 4; i++) {
    const colon = bytes.indexOf(COLON, at);
    if (colon < 0) return null;
    const length = bytes.toString("latin1", at, colon);
    if (!DIGITS.test(length)) return null;
    const end = colon + 1 + Number(length);
    if (end >= bytes.length || bytes[end] !== PIPE) return null;
    fields.push(bytes.subarray(colon + 1, end));
    at = end + 1;
  }
  const [keyVersion, timestamp, name, value] = fields as [Buffer, Buffer, Buffer, Buffer];
  const keyText = keyVersion.toString("latin1");
  if (!DIGITS.test(keyText)) return null;
  return {
    keyVersion: Number(keyText),
    timestamp: timestamp.toString("latin1"),
    name,
    value: value.toString("latin1"),
    signature: bytes.subarray(at),
    signed: bytes.subarray(0, at),
  };
}

function decodeV2(secret: CookieSecret, name: string, bytes: Buffer, oldest: number): Buffer | null {
  const fields = splitFieldsV2(bytes);
  if (fields === null) return null;
  const key = secretFor(secret, fields.keyVersion);
  if (key === undefined) return null;
  const expected = Buffer.from(nodeCrypto().createHmac("sha256", toBytes(key)).update(fields.signed).digest("hex"), "latin1");
  if (!constantTimeEqual(fields.signature, expected)) return null;
  if (!fields.name.equals(Buffer.from(name, "utf8"))) return null;
  if (!DIGITS.test(fields.timestamp) || Number(fields.timestamp) < oldest) return null;
  return decodeBase64(fields.value);
}

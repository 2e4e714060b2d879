/**
 * Escaping and unescaping for HTML, URLs and JSON, as Tornado's `tornado.escape`.
 *
 * @example
 * import { xhtmlEscape, urlEscape, jsonEncode } from "tornado/escape";
 * xhtmlEscape("<b>")            // "&lt;b&gt;"
 * urlEscape("a b/c")            // "a+b%2Fc"
 * jsonEncode({ html: "</script>" }) // '{"html":"<\/script>"}'
 */

import { isAscii } from "node:buffer";

const XHTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};
const XHTML_SPECIAL = /[&<>"']/g;

/**
 * Escapes a string so it is safe to put in HTML or XML text or a quoted attribute.
 *
 * @example
 * xhtmlEscape(`<a href="x">Tom & Jerry's</a>`)
 * // "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;"
 */
export function xhtmlEscape(value: string | number): string {
  const s = String(value);
  return XHTML_SPECIAL.test(s) ? s.replace(XHTML_SPECIAL, (c) => XHTML_ESCAPES[c]!) : s;
}

const NAMED_ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0" };

/**
 * Un-escapes an XML-escaped string: named (`&amp;`) and numeric (`&#39;`, `&#x27;`) entities.
 *
 * @example
 * xhtmlUnescape("&lt;b&gt; &#39;hi&#x27;") // "<b> 'hi'"
 */
export function xhtmlUnescape(value: string): string {
  return value.replace(/&(#?)(\w+?);/g, (whole, hash: string, body: string) => {
    if (hash) {
      const code = body[0] === "x" || body[0] === "X" ? parseInt(body.slice(1), 16) : parseInt(body, 10);
      return Number.isFinite(code) && code >= 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return Object.hasOwn(NAMED_ENTITIES, body) ? NAMED_ENTITIES[body]! : whole;
  });
}

// Python's urllib.parse.quote keeps letters, digits and "_.-~"; quote() also keeps "/".
const QUOTE_SAFE = /^[A-Za-z0-9_.\-~]*$/;

/**
 * Percent-encodes a value for a URL; with `plus` (the default) spaces become `+` and `/` is
 * encoded, as for a query value; with `plus: false` spaces become `%20` and `/` is kept, as for
 * a path.
 *
 * @example
 * urlEscape("a b/c")                 // "a+b%2Fc"
 * urlEscape("a b/c", { plus: false }) // "a%20b/c"
 */
export function urlEscape(value: string | Buffer, options: { plus?: boolean } = {}): string {
  const plus = options.plus ?? true;
  if (typeof value === "string" && QUOTE_SAFE.test(value)) return value;
  const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
  let out = "";
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    if (QUOTE_SAFE.test(c) || (!plus && c === "/")) out += c;
    else if (plus && c === " ") out += "+";
    else out += "%" + (b < 16 ? "0" : "") + b.toString(16).toUpperCase();
  }
  return out;
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 70) return code - 55;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

/**
 * Decodes percent-escapes (and `+` as a space when `plus`) into raw bytes. A malformed escape
 * such as `%zz` is kept as it is, as Python's `unquote` does.
 *
 * @example
 * urlUnescapeToBuffer("caf%C3%A9+au+lait") // <Buffer 63 61 66 c3 a9 20 61 75 20 6c 61 69 74>
 */
export function urlUnescapeToBuffer(value: string, options: { plus?: boolean } = {}): Buffer {
  const plus = options.plus ?? true;
  // Characters above 0xff cannot come off the wire (node decodes the request line as latin1);
  // encode them as UTF-8 so a string built in code round-trips.
  const input = /[^\x00-\xff]/.test(value) ? Buffer.from(value, "utf8") : Buffer.from(value, "latin1");
  const out = Buffer.allocUnsafe(input.length);
  let n = 0;
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (c === 0x25 && i + 2 < input.length) {
      const hi = hexValue(input[i + 1]!);
      const lo = hexValue(input[i + 2]!);
      if (hi >= 0 && lo >= 0) {
        out[n++] = hi * 16 + lo;
        i += 2;
        continue;
      }
    }
    out[n++] = plus && c === 0x2b ? 0x20 : c;
  }
  return out.subarray(0, n);
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes UTF-8 bytes, throwing a `TypeError` on invalid input instead of inserting U+FFFD.
 *
 * @example
 * decodeUtf8Strict(Buffer.from([0x68, 0x69])) // "hi"
 * decodeUtf8Strict(Buffer.from([0xff]))       // throws TypeError
 */
export function decodeUtf8Strict(bytes: Uint8Array): string {
  // ASCII, most text on the wire, is valid UTF-8 as it is (and cannot start with a BOM, which
  // the decoder would drop): copied out without the decoder's checks.
  if (Buffer.isBuffer(bytes) && isAscii(bytes)) return bytes.toString("latin1");
  return strictUtf8.decode(bytes);
}

/**
 * Decodes a percent-encoded string to text (UTF-8, `+` as a space unless `plus: false`).
 * Invalid UTF-8 throws a `TypeError`.
 *
 * @example
 * urlUnescape("caf%C3%A9+au+lait")        // "café au lait"
 * urlUnescape("a+b", { plus: false })    // "a+b"
 */
export function urlUnescape(value: string, options: { plus?: boolean } = {}): string {
  const plus = options.plus ?? true;
  if (!value.includes("%") && !(plus && value.includes("+")) && !/[\x80-\xff]/.test(value)) return value;
  return decodeUtf8Strict(urlUnescapeToBuffer(value, { plus }));
}

/**
 * Encodes a value as JSON that is safe to embed in HTML: every `</` becomes `<\/`.
 *
 * @example
 * jsonEncode({ a: "</script>" }) // '{"a":"<\\/script>"}'
 */
export function jsonEncode(value: unknown): string {
  const s = JSON.stringify(value);
  if (s === undefined) throw new TypeError(`jsonEncode: ${typeof value} cannot be encoded as JSON`);
  return s.includes("</") ? s.replaceAll("</", "<\\/") : s;
}

/**
 * Parses JSON from a string or UTF-8 bytes.
 *
 * @example
 * jsonDecode('{"a": 1}') // { a: 1 }
 */
export function jsonDecode<T = unknown>(value: string | Buffer): T {
  return JSON.parse(typeof value === "string" ? value : value.toString("utf8")) as T;
}

/**
 * Replaces every run of whitespace with one space and trims the ends.
 *
 * @example
 * squeeze("  a \n\t b ") // "a b"
 */
export function squeeze(value: string): string {
  return value.replace(/[\x00-\x20]+/g, " ").trim();
}

export { linkify, type LinkifyOptions } from "./escape/linkify.js";

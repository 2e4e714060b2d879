/** Query strings, form bodies and multipart uploads (Tornado's `httputil` parsers). */

import { urlUnescapeToBuffer } from "../escape.js";
import { HTTPHeaders } from "./headers.js";

/**
 * A malformed or unacceptable request: the server answers `status` (400 unless the problem is
 * the size, 413, or the time, 408) and closes the connection.
 *
 * @example
 * throw new HTTPInputError("multipart boundary not found");
 * throw new HTTPInputError("Content-Length too long", 413);
 */
export class HTTPInputError extends Error {
  /** Stable code to match on. */
  readonly code = "ERR_HTTP_INPUT";
  constructor(
    message: string,
    /** The status the server answers with. */
    readonly status = 400,
  ) {
    super(message);
    this.name = "HTTPInputError";
  }
}

/**
 * A file uploaded in a `multipart/form-data` body.
 *
 * @example
 * const [avatar] = this.request.files.avatar ?? [];
 * if (avatar) await writeFile(`uploads/${avatar.filename}`, avatar.body);
 */
export interface HTTPFile {
  filename: string;
  body: Buffer;
  contentType: string;
}

/**
 * Arguments by name, each a list of raw byte values (decoded when a handler reads them).
 *
 * @example
 * const args: ArgumentMap = parseQsBytes("tag=a&tag=b"); // { tag: [<Buffer 61>, <Buffer 62>] }
 */
export type ArgumentMap = Record<string, Buffer[]>;

/**
 * Limits for `multipart/form-data` bodies (Tornado 6.5's defaults).
 *
 * @example
 * parseBodyArguments(type, body, args, files, headers, { maxParts: 10 });
 */
export interface MultipartLimits {
  maxParts?: number;
  maxPartHeaderSize?: number;
}

/**
 * Limits for form bodies: `maxFields` for urlencoded fields (default 1000), and the multipart
 * ones. Too many fields or parts is a 400.
 *
 * @example
 * checkBodyArguments(type, body, headers, { maxFields: 1000, maxParts: 100 });
 */
export interface BodyLimits extends MultipartLimits {
  maxFields?: number;
}

const AMPERSAND = 0x26;

/**
 * Counts the fields of a urlencoded string or body (non-empty pieces between `&`) without
 * decoding anything.
 *
 * @example
 * countFormFields("a=1&&b=2") // 2
 */
export function countFormFields(qs: string | Buffer): number {
  const data = typeof qs === "string" ? Buffer.from(qs, "latin1") : qs;
  let count = 0;
  let start = 0;
  while (start <= data.length) {
    let end = data.indexOf(AMPERSAND, start);
    if (end < 0) end = data.length;
    if (end > start) count++;
    start = end + 1;
  }
  return count;
}

function tooManyFields(max: number): HTTPInputError {
  return new HTTPInputError(`application/x-www-form-urlencoded body has more than ${max} fields`);
}

/**
 * Creates an empty argument map (no prototype, so `__proto__` is just a name).
 *
 * @example
 * const args = emptyArguments();
 */
export function emptyArguments(): ArgumentMap {
  return Object.create(null) as ArgumentMap;
}

/**
 * Parses a query string or form body into raw values; blank values are kept, `+` is a space.
 * More than `maxFields` fields throws `HTTPInputError`.
 *
 * @example
 * parseQsBytes("a=1&a=2&b=")["a"]!.map(String) // ["1", "2"]
 */
export function parseQsBytes(qs: string | Buffer, into: ArgumentMap = emptyArguments(), maxFields = Infinity): ArgumentMap {
  const text = typeof qs === "string" ? qs : qs.toString("latin1");
  if (text === "") return into;
  let fields = 0;
  for (const piece of text.split("&")) {
    if (piece === "") continue;
    if (++fields > maxFields) throw tooManyFields(maxFields);
    const eq = piece.indexOf("=");
    const rawName = eq < 0 ? piece : piece.slice(0, eq);
    const name = urlUnescapeToBuffer(rawName).toString("utf8");
    const value = eq < 0 ? Buffer.alloc(0) : urlUnescapeToBuffer(piece.slice(eq + 1));
    (into[name] ??= []).push(value);
  }
  return into;
}

function unquoteParam(value: string): string {
  if (value.length >= 2 && value[0] === '"' && value[value.length - 1] === '"') {
    return value.slice(1, -1).replace(/\\(.)/g, "$1");
  }
  return value;
}

function splitParams(value: string): string[] {
  const parts: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === "\\" && quoted && i + 1 < value.length) {
      current += c + value[++i];
    } else if (c === '"') {
      quoted = !quoted;
      current += c;
    } else if (c === ";" && !quoted) {
      parts.push(current);
      current = "";
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts.map((p) => p.trim());
}

/**
 * Splits a header like `Content-Disposition` into its main value and its parameters; RFC 5987
 * `name*=UTF-8''…` parameters are decoded and win over the plain form.
 *
 * @example
 * parseHeaderParams('form-data; name="f"; filename*=UTF-8\'\'%E2%82%AC.txt')
 * // ["form-data", { name: "f", filename: "€.txt" }]
 */
export function parseHeaderParams(value: string): [string, Record<string, string>] {
  const [main = "", ...rest] = splitParams(value);
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  const extended: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const part of rest) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim().toLowerCase();
    const raw = part.slice(eq + 1).trim();
    if (name.endsWith("*")) {
      const m = /^([\w!#$%&+^`{}~-]*)'[^']*'(.*)$/.exec(unquoteParam(raw));
      if (!m) continue;
      const bytes = urlUnescapeToBuffer(m[2]!, { plus: false });
      const charset = m[1]!.toLowerCase();
      extended[name.slice(0, -1)] = charset === "iso-8859-1" ? bytes.toString("latin1") : bytes.toString("utf8");
    } else {
      params[name] = unquoteParam(raw);
    }
  }
  Object.assign(params, extended);
  return [main.trim().toLowerCase(), params];
}

/**
 * Parses a `multipart/form-data` body into `args` and `files`, as Tornado does; throws
 * `HTTPInputError` for a malformed body or more than `maxParts` parts (default 100).
 *
 * @example
 * parseMultipartFormData("XyZ", body, args, files);
 */
export function parseMultipartFormData(
  boundary: string,
  data: Buffer,
  args: ArgumentMap,
  files: Record<string, HTTPFile[]>,
  limits: MultipartLimits = {},
): void {
  const maxPartHeaderSize = limits.maxPartHeaderSize ?? 10 * 1024;
  for (const part of splitMultipart(boundary, data, limits.maxParts ?? 100)) {
    if (part.length === 0) continue;
    const endOfHeaders = part.indexOf("\r\n\r\n");
    if (endOfHeaders < 0) throw new HTTPInputError("multipart/form-data missing headers");
    if (endOfHeaders > maxPartHeaderSize) throw new HTTPInputError("multipart/form-data part header too large");
    let headers: HTTPHeaders;
    try {
      headers = HTTPHeaders.parse(part.subarray(0, endOfHeaders).toString("utf8"));
    } catch (e) {
      throw new HTTPInputError(`Invalid multipart/form-data: ${(e as Error).message}`);
    }
    const [disposition, params] = parseHeaderParams(headers.get("Content-Disposition") ?? "");
    if (disposition !== "form-data" || part.length < endOfHeaders + 6 || part[part.length - 2] !== 13 || part[part.length - 1] !== 10) {
      throw new HTTPInputError("Invalid multipart/form-data");
    }
    const name = params.name;
    if (!name) throw new HTTPInputError("multipart/form-data missing name");
    const value = part.subarray(endOfHeaders + 4, part.length - 2);
    if (params.filename) {
      (files[name] ??= []).push({
        filename: params.filename,
        body: value,
        contentType: headers.get("Content-Type") ?? "application/unknown",
      });
    } else {
      (args[name] ??= []).push(value);
    }
  }
}

// The parts of a multipart body (views into `data`, nothing copied or decoded); throws when the
// final boundary is missing or there are more than `maxParts`.
function splitMultipart(boundary: string, data: Buffer, maxParts: number): Buffer[] {
  if (boundary.length >= 2 && boundary.startsWith('"') && boundary.endsWith('"')) boundary = boundary.slice(1, -1);
  const finalBoundary = data.lastIndexOf(`--${boundary}--`);
  if (finalBoundary < 0) throw new HTTPInputError("Invalid multipart/form-data: no final boundary found");
  const separator = Buffer.from(`--${boundary}\r\n`);
  const body = data.subarray(0, finalBoundary);
  const parts: Buffer[] = [];
  let start = 0;
  for (;;) {
    const at = body.indexOf(separator, start);
    if (at < 0) break;
    parts.push(body.subarray(start, at));
    start = at + separator.length;
    // One separator seen per entry: parts.length parts have started.
    if (parts.length > maxParts) throw new HTTPInputError("multipart/form-data has too many parts");
  }
  parts.push(body.subarray(start));
  // parts[0] is the preamble before the first boundary, not a part (Tornado counts it).
  if (parts.length - 1 > maxParts) throw new HTTPInputError("multipart/form-data has too many parts");
  return parts;
}

type FormKind = "urlencoded" | "multipart" | null;

function formKind(contentType: string, headers: HTTPHeaders | undefined): FormKind {
  const type = contentType.toLowerCase();
  const kind = type.startsWith("application/x-www-form-urlencoded") ? "urlencoded" : type.startsWith("multipart/form-data") ? "multipart" : null;
  if (kind === null) return null;
  const encoding = headers?.get("Content-Encoding");
  if (encoding !== undefined) throw new HTTPInputError(`Unsupported Content-Encoding: ${encoding}`);
  return kind;
}

function multipartBoundary(contentType: string): string {
  const fields = contentType.split(";");
  if (fields[0]!.trim().toLowerCase() !== "multipart/form-data") throw new HTTPInputError("Invalid content type");
  for (const field of fields) {
    const eq = field.indexOf("=");
    if (eq > 0 && field.slice(0, eq).trim().toLowerCase() === "boundary") {
      const boundary = field.slice(eq + 1).trim();
      if (boundary) return boundary;
    }
  }
  throw new HTTPInputError("Invalid multipart/form-data: multipart boundary not found");
}

/**
 * Checks a form body's framing and counts without parsing it: the content encoding, the
 * number of urlencoded fields, the multipart boundary and number of parts. Throws the
 * `HTTPInputError` that `parseBodyArguments` would for those; linear, allocates nothing per
 * field. Any other content type passes.
 *
 * @example
 * checkBodyArguments("application/x-www-form-urlencoded", body, headers, { maxFields: 1000 });
 */
export function checkBodyArguments(contentType: string, body: Buffer, headers?: HTTPHeaders, limits: BodyLimits = {}): void {
  const kind = formKind(contentType, headers);
  if (kind === "urlencoded") {
    const max = limits.maxFields ?? 1000;
    if (countFormFields(body) > max) throw tooManyFields(max);
  } else if (kind === "multipart") {
    splitMultipart(multipartBoundary(contentType), body, limits.maxParts ?? 100);
  }
}

/**
 * Parses a form body (`application/x-www-form-urlencoded` or `multipart/form-data`) into
 * `args` and `files`; any other content type is left alone. Throws `HTTPInputError` when the
 * body is malformed, still content-encoded, or over `limits` (1000 fields, 100 parts).
 *
 * @example
 * parseBodyArguments("application/x-www-form-urlencoded", Buffer.from("a=1"), args, files);
 */
export function parseBodyArguments(
  contentType: string,
  body: Buffer,
  args: ArgumentMap,
  files: Record<string, HTTPFile[]>,
  headers?: HTTPHeaders,
  limits: BodyLimits = {},
): void {
  const kind = formKind(contentType, headers);
  if (kind === "urlencoded") parseQsBytes(body, args, limits.maxFields ?? 1000);
  else if (kind === "multipart") parseMultipartFormData(multipartBoundary(contentType), body, args, files, limits);
}

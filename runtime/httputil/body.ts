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
 *
 * @example
 * parseQsBytes("a=1&a=2&b=")["a"]!.map(String) // ["1", "2"]
 */
export function parseQsBytes(qs: string | Buffer, into: ArgumentMap = emptyArguments()): ArgumentMap {
  const text = typeof qs === "string" ? qs : qs.toString("latin1");
  if (text === "") return into;
  for (const piece of text.split("&")) {
    if (piece === "") continue;
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
  const maxParts = limits.maxParts ?? 100;
  const maxPartHeaderSize = limits.maxPartHeaderSize ?? 10 * 1024;
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
    if (parts.length > maxParts) throw new HTTPInputError("multipart/form-data has too many parts");
  }
  parts.push(body.subarray(start));
  if (parts.length > maxParts) throw new HTTPInputError("multipart/form-data has too many parts");
  for (const part of parts) {
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

/**
 * Parses a form body (`application/x-www-form-urlencoded` or `multipart/form-data`) into
 * `args` and `files`; any other content type is left alone. Throws `HTTPInputError` when the
 * body is malformed or still content-encoded.
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
  limits?: MultipartLimits,
): void {
  const type = contentType.toLowerCase();
  const isForm = type.startsWith("application/x-www-form-urlencoded");
  const isMultipart = type.startsWith("multipart/form-data");
  if (!isForm && !isMultipart) return;
  const encoding = headers?.get("Content-Encoding");
  if (encoding !== undefined) throw new HTTPInputError(`Unsupported Content-Encoding: ${encoding}`);
  if (isForm) {
    parseQsBytes(body, args);
    return;
  }
  const fields = contentType.split(";");
  if (fields[0]!.trim().toLowerCase() !== "multipart/form-data") throw new HTTPInputError("Invalid content type");
  for (const field of fields) {
    const eq = field.indexOf("=");
    if (eq > 0 && field.slice(0, eq).trim().toLowerCase() === "boundary") {
      const boundary = field.slice(eq + 1).trim();
      if (boundary) {
        parseMultipartFormData(boundary, body, args, files, limits);
        return;
      }
    }
  }
  throw new HTTPInputError("Invalid multipart/form-data: multipart boundary not found");
}

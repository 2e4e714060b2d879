/** Case-insensitive, multi-valued HTTP headers (Tornado's `httputil.HTTPHeaders`). */

/**
 * What `new HTTPHeaders(init)` accepts: an object (array values become repeated headers), a list
 * of `[name, value]` pairs, or another `HTTPHeaders`.
 *
 * @example
 * const init: HTTPHeadersInit = { "Content-Type": "text/plain", "Set-Cookie": ["a=1", "b=2"] };
 */
export type HTTPHeadersInit =
  | HTTPHeaders
  | Iterable<readonly [string, string]>
  | Record<string, string | number | readonly string[] | undefined>;

// RFC 9110 §5.1 token characters.
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Control characters other than tab can never appear in a field value (RFC 9110 §5.5); CR and
// LF in particular would let a value inject headers. A head goes out as Latin-1, one byte per
// character: a character above U+00FF has no byte, and writing it as Latin-1 keeps only its low
// byte (U+010A becomes LF), so it is refused too.
const FORBIDDEN_VALUE_CHAR = /[\x00-\x08\x0a-\x1f\x7f]|[^\x00-\xff]/;

/**
 * Throws a `TypeError` unless `name` is a valid header name and `value` has no control
 * character and no character above U+00FF (so no CR/LF header injection can pass through,
 * not even as the low byte of a wider character).
 *
 * @example
 * assertValidHeader("X-Trace", "abc");      // fine
 * assertValidHeader("X-Trace", "a\r\nb: c"); // throws TypeError
 * assertValidHeader("X-Name", "中");         // throws TypeError: encode it first
 */
export function assertValidHeader(name: string, value: string): void {
  if (!FIELD_NAME.test(name)) throw new TypeError(`Invalid header name ${JSON.stringify(name)}`);
  if (FORBIDDEN_VALUE_CHAR.test(value)) {
    throw new TypeError(
      `Unsafe header value ${JSON.stringify(value)} for ${name}: control characters and characters above U+00FF are not allowed (percent-encode a URL, encodeURIComponent() other text)`,
    );
  }
}

/**
 * Whether `value` may go out in a response head as it is: no control character but tab, no
 * character above U+00FF. The last check before a head is written.
 *
 * @example
 * isSafeHeaderValue("text/html") // true
 * isSafeHeaderValue("a\u010ab")  // false
 */
export function isSafeHeaderValue(value: string): boolean {
  return !FORBIDDEN_VALUE_CHAR.test(value);
}

/**
 * A dictionary of HTTP headers: lookups ignore case, a name may carry several values, and
 * iteration yields every `[name, value]` pair in order.
 *
 * @example
 * const h = new HTTPHeaders({ "Content-Type": "text/html" });
 * h.add("Set-Cookie", "A=B");
 * h.add("Set-Cookie", "C=D");
 * h.get("content-type");      // "text/html"
 * h.getList("set-cookie");    // ["A=B", "C=D"]
 * h.get("Set-Cookie");        // "A=B,C=D"
 */
export class HTTPHeaders implements Iterable<[string, string]> {
  // Flat [name, value, name, value, …], the shape node's rawHeaders and writeHead() use.
  // Lookups scan it: header lists are short, and a scan that compares lengths first allocates
  // nothing, which beats building a lower-case index for every request.
  private flat: string[];
  // True while `flat` is borrowed from node (copied before the first change).
  private borrowed = false;

  constructor(init?: HTTPHeadersInit) {
    this.flat = [];
    if (init === undefined) return;
    if (init instanceof HTTPHeaders) {
      this.flat = init.flat.slice();
    } else if (Symbol.iterator in init) {
      for (const [name, value] of init as Iterable<readonly [string, string]>) this.add(name, value);
    } else {
      for (const [name, value] of Object.entries(init)) {
        if (value === undefined) continue;
        if (Array.isArray(value)) for (const v of value) this.add(name, v);
        else this.add(name, String(value));
      }
    }
  }

  /**
   * Wraps a flat `[name, value, …]` list (node's `rawHeaders`) without copying or validating
   * it; a borrowed list is copied before the first change, an owned one is changed in place.
   *
   * @example
   * const h = HTTPHeaders.fromFlat(req.rawHeaders);
   */
  static fromFlat(flat: string[], borrowed = true): HTTPHeaders {
    const headers = new HTTPHeaders();
    headers.flat = flat;
    headers.borrowed = borrowed;
    return headers;
  }

  /**
   * Parses a header block (`Name: value` lines, CRLF or LF separated, obsolete line folding
   * joined with a space).
   *
   * @example
   * HTTPHeaders.parse("Content-Type: text/html\r\nContent-Length: 42\r\n").get("content-length") // "42"
   */
  static parse(text: string): HTTPHeaders {
    const headers = new HTTPHeaders();
    let lastName: string | null = null;
    for (const line of text.split(/\r?\n/)) {
      if (line === "") continue;
      if (line[0] === " " || line[0] === "\t") {
        if (lastName === null) throw new TypeError("first header line cannot start with whitespace");
        const i = headers.flat.length - 1;
        headers.flat[i] = `${headers.flat[i]} ${line.trim()}`;
        continue;
      }
      const colon = line.indexOf(":");
      if (colon <= 0) throw new TypeError(`no colon in header line ${JSON.stringify(line)}`);
      lastName = line.slice(0, colon);
      headers.add(lastName, line.slice(colon + 1).trim());
    }
    return headers;
  }

  // Index (into flat) of the first name equal to `key` (ASCII case ignored) at or after `from`,
  // or -1. Neither side is lower-cased first: a lookup allocates nothing.
  private find(key: string, from = 0): number {
    const flat = this.flat;
    for (let i = from; i < flat.length; i += 2) if (sameName(flat[i]!, key)) return i;
    return -1;
  }

  private own(): void {
    if (this.borrowed) {
      this.flat = this.flat.slice();
      this.borrowed = false;
    }
  }

  /**
   * The value for `name` (all values joined with `,` when it occurs several times), or
   * `undefined`.
   *
   * @example
   * headers.get("Accept") // "text/html,application/json"
   */
  get(name: string): string | undefined {
    const key = name;
    let i = this.find(key);
    if (i < 0) return undefined;
    let found = this.flat[i + 1]!;
    while ((i = this.find(key, i + 2)) >= 0) found = `${found},${this.flat[i + 1]!}`;
    return found;
  }

  /**
   * Every value given for `name`, in order.
   *
   * @example
   * headers.getList("Set-Cookie") // ["a=1", "b=2"]
   */
  getList(name: string): string[] {
    const key = name;
    const values: string[] = [];
    for (let i = this.find(key); i >= 0; i = this.find(key, i + 2)) values.push(this.flat[i + 1]!);
    return values;
  }

  /**
   * Whether `name` is present.
   *
   * @example
   * if (!headers.has("Content-Type")) headers.set("Content-Type", "text/plain");
   */
  has(name: string): boolean {
    return this.find(name) >= 0;
  }

  /**
   * Replaces every value of `name` with `value`.
   *
   * @example
   * headers.set("Cache-Control", "no-store");
   */
  set(name: string, value: string): void {
    assertValidHeader(name, value);
    this.put(name, value);
  }

  /**
   * `set()` without the checks, for names and values the runtime builds itself.
   * @internal
   */
  put(name: string, value: string): void {
    this.own();
    const key = name;
    const first = this.find(key);
    if (first < 0) {
      this.flat.push(name, value);
      return;
    }
    this.flat[first] = name;
    this.flat[first + 1] = value;
    for (let i = this.find(key, first + 2); i >= 0; i = this.find(key, i)) this.flat.splice(i, 2);
  }

  /**
   * Adds a value for `name`, keeping the ones already there.
   *
   * @example
   * headers.add("Vary", "Accept-Encoding");
   */
  add(name: string, value: string): void {
    assertValidHeader(name, value);
    this.own();
    this.flat.push(name, value);
  }

  /**
   * Removes every value of `name`; returns whether there was one.
   *
   * @example
   * headers.delete("Content-Length");
   */
  delete(name: string): boolean {
    const key = name;
    let i = this.find(key);
    if (i < 0) return false;
    this.own();
    for (; i >= 0; i = this.find(key, i)) this.flat.splice(i, 2);
    return true;
  }

  /** How many `[name, value]` pairs there are. @example headers.size // 3 */
  get size(): number {
    return this.flat.length / 2;
  }

  /**
   * Every `[name, value]` pair, repeated names included, in order.
   *
   * @example
   * for (const [name, value] of headers) console.log(`${name}: ${value}`);
   */
  *[Symbol.iterator](): Iterator<[string, string]> {
    for (let i = 0; i < this.flat.length; i += 2) yield [this.flat[i]!, this.flat[i + 1]!];
  }

  /**
   * A plain object, names as first given, repeated values joined with `,`.
   *
   * @example
   * JSON.stringify(headers) // '{"Content-Type":"text/html"}'
   */
  toJSON(): Record<string, string> {
    const out: Record<string, string> = {};
    const seen = new Map<string, string>();
    for (let i = 0; i < this.flat.length; i += 2) {
      const key = this.flat[i]!.toLowerCase();
      const name = seen.get(key);
      if (name === undefined) {
        seen.set(key, this.flat[i]!);
        out[this.flat[i]!] = this.flat[i + 1]!;
      } else {
        out[name] += "," + this.flat[i + 1]!;
      }
    }
    return out;
  }

  /**
   * The flat `[name, value, …]` list, as node's `writeHead()` takes it. Do not change it.
   *
   * @example
   * res.writeHead(200, headers.toFlat());
   */
  toFlat(): readonly string[] {
    return this.flat;
  }

  /** An independent copy. @example const saved = headers.copy(); */
  copy(): HTTPHeaders {
    return new HTTPHeaders(this);
  }
}

// Whether header names `name` and `key` are equal, ignoring ASCII case.
function sameName(name: string, key: string): boolean {
  if (name.length !== key.length) return false;
  if (name === key) return true;
  for (let i = 0; i < name.length; i++) {
    let c = name.charCodeAt(i);
    let k = key.charCodeAt(i);
    if (c === k) continue;
    if (c >= 65 && c <= 90) c |= 0x20;
    if (k >= 65 && k <= 90) k |= 0x20;
    if (c !== k) return false;
  }
  return true;
}

/**
 * A handler's arguments and body: query and form arguments (Tornado's `get_argument` family),
 * their decoding, and the JSON body. Parsing itself is in httputil/body.ts.
 */

import { decodeUtf8Strict, urlUnescapeToBuffer } from "../../escape.js";
import type { ArgumentMap } from "../../httputil/body.js";
import { HTTPError, MissingArgumentError } from "../errors.js";
import { HandlerBase } from "./base.js";

// Control characters other than \t \n \r become spaces in argument values, as in Tornado.
const CONTROL_CHARS = /[\x00-\x08\x0e-\x1f]/g;

/**
 * The argument methods of `RequestHandler` (`getArgument`, `jsonBody`, …). Not used on its own.
 * @internal
 */
export abstract class HandlerArguments extends HandlerBase {
  private parsedJson: { value: unknown } | undefined;

  /**
   * The value of argument `name` from the query or a form body; the last value wins. Without a
   * default, a missing argument is a 400 (`MissingArgumentError`). Control characters become
   * spaces and, unless `strip` is false, surrounding whitespace is removed.
   *
   * @example
   * const q = this.getArgument("q");             // 400 when absent
   * const page = this.getArgument("page", "1");  // "1" when absent
   */
  getArgument(name: string): string;
  getArgument<D>(name: string, defaultValue: D, strip?: boolean): string | D;
  getArgument(name: string, ...rest: unknown[]): unknown {
    return this.lastArgument(name, this.request.arguments, rest);
  }

  /**
   * Every value of argument `name` (query, then body); `[]` when absent.
   *
   * @example
   * const tags = this.getArguments("tag"); // ?tag=a&tag=b → ["a", "b"]
   */
  getArguments(name: string, strip = true): string[] {
    return this.decodeArguments(name, this.request.arguments, strip);
  }

  /**
   * Like `getArgument`, from the query string only.
   *
   * @example
   * const sort = this.getQueryArgument("sort", "name");
   */
  getQueryArgument(name: string): string;
  getQueryArgument<D>(name: string, defaultValue: D, strip?: boolean): string | D;
  getQueryArgument(name: string, ...rest: unknown[]): unknown {
    return this.lastArgument(name, this.request.queryArguments, rest);
  }

  /** Like `getArguments`, from the query string only. @example this.getQueryArguments("id") */
  getQueryArguments(name: string, strip = true): string[] {
    return this.decodeArguments(name, this.request.queryArguments, strip);
  }

  /**
   * Like `getArgument`, from the form body only.
   *
   * @example
   * const password = this.getBodyArgument("password", undefined, false);
   */
  getBodyArgument(name: string): string;
  getBodyArgument<D>(name: string, defaultValue: D, strip?: boolean): string | D;
  getBodyArgument(name: string, ...rest: unknown[]): unknown {
    return this.lastArgument(name, this.request.bodyArguments, rest);
  }

  /** Like `getArguments`, from the form body only. @example this.getBodyArguments("choice") */
  getBodyArguments(name: string, strip = true): string[] {
    return this.decodeArguments(name, this.request.bodyArguments, strip);
  }

  private lastArgument(name: string, source: ArgumentMap, rest: unknown[]): unknown {
    const values = this.decodeArguments(name, source, rest.length > 1 ? rest[1] !== false : true);
    if (values.length > 0) return values[values.length - 1];
    if (rest.length === 0) throw new MissingArgumentError(name);
    return rest[0];
  }

  private decodeArguments(name: string, source: ArgumentMap, strip: boolean): string[] {
    const raw = source[name];
    if (raw === undefined) return [];
    return raw.map((value) => {
      let s = this.decodeArgument(value, name).replace(CONTROL_CHARS, " ");
      if (strip) s = s.trim();
      return s;
    });
  }

  /**
   * Decodes a raw argument or path group as UTF-8; invalid UTF-8 is a 400. Override to accept
   * another encoding.
   *
   * @example
   * decodeArgument(value: Buffer, name?: string) { return value.toString("latin1"); }
   */
  decodeArgument(value: Buffer, name?: string): string {
    try {
      return decodeUtf8Strict(value);
    } catch {
      const shown = value.subarray(0, 40).toString("latin1");
      throw new HTTPError(400, `Invalid unicode in ${name ?? "url"}: ${JSON.stringify(shown)}`);
    }
  }

  /**
   * The request body parsed as JSON (parsed once, then cached). An empty or malformed body is
   * a 400 that says what was wrong.
   *
   * @example
   * async post() {
   *   const { name } = this.jsonBody<{ name?: string }>();
   * }
   */
  jsonBody<T = any>(): T {
    if (this.parsedJson === undefined) {
      const body = this.request.body;
      if (body.length === 0) throw new HTTPError(400, "Missing JSON body");
      let text: string;
      try {
        text = decodeUtf8Strict(body);
      } catch {
        throw new HTTPError(400, "Invalid JSON body: not UTF-8");
      }
      try {
        this.parsedJson = { value: JSON.parse(text) };
      } catch (e) {
        throw new HTTPError(400, `Invalid JSON body: ${(e as Error).message}`, { cause: e });
      }
    }
    return this.parsedJson.value as T;
  }

  /**
   * Decodes a raw path group as `decodeArgument` does (the lifecycle fills `pathArgs` with it).
   * @internal
   */
  protected _decodePathArgument(raw: string, name?: string): string {
    // Fast path: nothing escaped and plain ASCII.
    if (!raw.includes("%") && !/[^\x00-\x7f]/.test(raw)) return raw;
    return this.decodeArgument(urlUnescapeToBuffer(raw, { plus: false }), name);
  }
}

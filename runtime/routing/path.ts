/**
 * Path patterns (Tornado's `PathMatches`): a regular expression matched against the whole
 * path, its groups the handler's arguments, turned back into a path by `reverse()`.
 */

import { urlEscape } from "../escape.js";
import type { Matcher } from "./matchers.js";

/**
 * Converts `:name` segments into named groups; any other text is left as a regular expression.
 *
 * @example
 * expandPathParameters("/users/:id/posts/:postId") // "/users/(?<id>[^/]+)/posts/(?<postId>[^/]+)"
 */
export function expandPathParameters(pattern: string): string {
  return pattern.replace(/\/:([A-Za-z_$][\w$]*)/g, "/(?<$1>[^/]+)");
}

const REGEX_SPECIAL = /[\\^$.|?*+()[\]{}]/;

/**
 * The result of a successful match: the raw (still percent-encoded) group values.
 *
 * @example
 * const m: PathMatch = { pathArgs: ["42"], pathKwargs: { id: "42" } };
 */
export interface PathMatch {
  /** Group values in order; an optional group that did not take part is `null`. */
  pathArgs: (string | null)[];
  /** Named group values, by name (empty when the pattern has no named groups). */
  pathKwargs: Record<string, string | null>;
}

const NO_MATCH_ARGS: PathMatch = Object.freeze({ pathArgs: [], pathKwargs: {} }) as PathMatch;

/**
 * A compiled path pattern: matching and reversing.
 *
 * @example
 * const m = new PathMatches("/files/(.*)");
 * m.match("/files/a/b.txt"); // { pathArgs: ["a/b.txt"], pathKwargs: {} }
 * m.reverse("a/b.txt");      // "/files/a/b.txt"
 */
export class PathMatches implements Matcher {
  /** The regular expression actually matched, anchored at both ends. */
  readonly regex: RegExp;
  /** The pattern as written in the route table. */
  readonly pattern: string;
  /** Number of capturing groups. */
  readonly groupCount: number;
  /** Names of the groups when the pattern uses named groups, else `null`. */
  readonly groupNames: string[] | null;
  private readonly literal: string | null;
  private readonly reversePieces: string[] | null;

  constructor(pattern: string | RegExp) {
    this.pattern = typeof pattern === "string" ? pattern : pattern.source;
    let source = typeof pattern === "string" ? expandPathParameters(pattern) : pattern.source;
    if (source.startsWith("^")) source = source.slice(1);
    if (source.endsWith("$") && !source.endsWith("\\$")) source = source.slice(0, -1);
    this.regex = new RegExp(`^(?:${source})$`, typeof pattern === "string" ? "" : pattern.flags.replace(/[gy]/g, ""));
    const probe = new RegExp(`${source}|`).exec("")!;
    this.groupCount = probe.length - 1;
    const names = probe.groups ? Object.keys(probe.groups) : [];
    if (names.length > 0 && names.length !== this.groupCount) {
      throw new TypeError(`groups in url patterns must be either all named or all positional: ${this.pattern}`);
    }
    this.groupNames = names.length > 0 ? names : null;
    this.literal = REGEX_SPECIAL.test(source) ? null : source;
    this.reversePieces = reversePieces(source, this.groupCount);
  }

  /**
   * Matches a request's path (or a path); `null` when it does not match.
   *
   * @example
   * new PathMatches("/users/:id").match("/users/7")?.pathKwargs.id // "7"
   * new PathMatches("/users/:id").match(request) // as a Rule's matcher
   */
  match(pathOrRequest: string | { readonly path: string }): PathMatch | null {
    const path = typeof pathOrRequest === "string" ? pathOrRequest : pathOrRequest.path;
    if (this.literal !== null) return path === this.literal ? NO_MATCH_ARGS : null;
    const m = this.regex.exec(path);
    if (m === null) return null;
    if (this.groupCount === 0) return NO_MATCH_ARGS;
    const pathArgs: (string | null)[] = new Array(this.groupCount);
    for (let i = 0; i < this.groupCount; i++) pathArgs[i] = m[i + 1] ?? null;
    const pathKwargs: Record<string, string | null> = {};
    if (this.groupNames !== null) for (const name of this.groupNames) pathKwargs[name] = m.groups![name] ?? null;
    return { pathArgs, pathKwargs };
  }

  /**
   * Builds a path from group values (each percent-encoded, `/` kept); throws when the pattern
   * is too complex to reverse or the number of values is wrong.
   *
   * @example
   * new PathMatches("/users/([^/]+)/posts/(\\d+)").reverse("ann b", 3) // "/users/ann%20b/posts/3"
   */
  reverse(...args: unknown[]): string {
    if (this.reversePieces === null) throw new TypeError(`Cannot reverse url regex ${this.pattern}`);
    if (args.length !== this.groupCount) {
      throw new TypeError(`${this.pattern} takes ${this.groupCount} argument(s), got ${args.length}`);
    }
    let out = this.reversePieces[0]!;
    for (let i = 0; i < args.length; i++) {
      out += urlEscape(String(args[i]), { plus: false }) + this.reversePieces[i + 1]!;
    }
    return out;
  }
}

// Splits a pattern into the literal text around its top-level groups, or returns null when the
// pattern has regex syntax outside groups, or nested groups (as Tornado's _find_groups).
function reversePieces(source: string, groupCount: number): string[] | null {
  const pieces: string[] = [""];
  let groups = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === "\\") {
      const next = source[i + 1];
      if (next === undefined || /[A-Za-z0-9]/.test(next)) return null;
      pieces[pieces.length - 1] += next;
      i++;
    } else if (c === "(") {
      let depth = 1;
      let j = i + 1;
      for (; j < source.length && depth > 0; j++) {
        if (source[j] === "\\") j++;
        else if (source[j] === "(") return null;
        else if (source[j] === ")") depth--;
      }
      if (depth !== 0 || source.startsWith("(?:", i) || source.startsWith("(?=", i) || source.startsWith("(?!", i)) return null;
      groups++;
      pieces.push("");
      i = j - 1;
    } else if (REGEX_SPECIAL.test(c)) {
      return null;
    } else {
      pieces[pieces.length - 1] += c;
    }
  }
  return groups === groupCount ? pieces : null;
}


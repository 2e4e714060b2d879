/** `urlConcat`: add query arguments to a URL that may already have some (Tornado's `url_concat`). */

/**
 * A query argument's value: numbers and booleans are written as `String()` gives them.
 *
 * @example
 * const page: QueryValue = 2; // "page=2"
 */
export type QueryValue = string | number | boolean;

/**
 * The arguments `urlConcat` adds: an object or a `Map` (one value per name), an array of
 * `[name, value]` pairs or a `URLSearchParams` (a name may repeat).
 *
 * @example
 * const args: QueryArgs = [["tag", "a"], ["tag", "b"]];
 */
export type QueryArgs =
  | Readonly<Record<string, QueryValue>>
  | ReadonlyMap<string, QueryValue>
  | ReadonlyArray<readonly [string, QueryValue]>
  | URLSearchParams;

/**
 * Appends `args` to the query of `url`, keeping the arguments it already has and its fragment,
 * as Tornado's `url_concat`.
 *
 * The whole query is re-encoded as a form would be (`+` for a space, every other character
 * outside `A-Z a-z 0-9 _ . - ~` percent-encoded as UTF-8), so an argument written without `=`
 * comes back as `name=`. `null` or `undefined` gives `url` back unchanged; any other kind of
 * `args` (a string, a number…) is a `TypeError`, as in Tornado.
 *
 * @example
 * urlConcat("http://example.com/foo", { c: "d" });                 // "http://example.com/foo?c=d"
 * urlConcat("/search?q=tornado#top", [["page", 2], ["tag", "a b"]]); // "/search?q=tornado&page=2&tag=a+b#top"
 */
export function urlConcat(url: string, args: QueryArgs | null | undefined): string {
  if (args === null || args === undefined) return url;
  const added = argumentPairs(args);
  const hashAt = url.indexOf("#");
  const fragment = hashAt === -1 ? "" : url.slice(hashAt + 1);
  const beforeFragment = hashAt === -1 ? url : url.slice(0, hashAt);
  const queryAt = beforeFragment.indexOf("?");
  const base = queryAt === -1 ? beforeFragment : beforeFragment.slice(0, queryAt);
  const existing = queryAt === -1 ? "" : beforeFragment.slice(queryAt + 1);
  // URLSearchParams parses as Python's parse_qsl(keep_blank_values=True) does: split on "&",
  // skip empty pieces, "+" is a space, a bare name has an empty value.
  const pairs: Array<readonly [string, string]> = [...new URLSearchParams(existing)];
  for (const [name, value] of added) pairs.push([name, String(value)]);
  const query = pairs.map(([name, value]) => `${quotePlus(name)}=${quotePlus(value)}`).join("&");
  // As urlunparse: an empty query or fragment leaves its "?" or "#" out.
  return base + (query ? `?${query}` : "") + (fragment ? `#${fragment}` : "");
}

function argumentPairs(args: unknown): Array<readonly [string, QueryValue]> {
  if (Array.isArray(args)) {
    return args.map((pair, index) => {
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw new TypeError(`urlConcat: args[${index}] should be a [name, value] pair`);
      }
      return pair as unknown as readonly [string, QueryValue];
    });
  }
  if (args instanceof Map || args instanceof URLSearchParams) return [...(args as Map<string, QueryValue>)];
  if (typeof args === "object" && args !== null) return Object.entries(args as Record<string, QueryValue>);
  throw new TypeError(`urlConcat: args should be an object, a Map or an array of [name, value] pairs, not ${typeof args}`);
}

/** Python's `quote_plus`: what `urlencode` writes for each name and value. */
function quotePlus(text: string): string {
  // encodeURIComponent leaves A-Z a-z 0-9 - _ . ! ~ * ' ( ) alone; quote_plus only the first seven.
  return encodeURIComponent(text)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, "+");
}

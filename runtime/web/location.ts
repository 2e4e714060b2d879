/** The `Location` of a redirect: a URL that can go in a header as it is. */

const NON_ASCII = /[^\x00-\x7f]+/g;

/**
 * Percent-encodes every character beyond ASCII in `url` as its UTF-8 bytes (RFC 3986 §2.1),
 * leaving the rest as it is (`%` escapes already there included): a header carries bytes, and
 * a browser reads `/caf%C3%A9` as the `/café` that was meant. Control characters stay, for the
 * header check to refuse.
 *
 * @example
 * encodeLocation("/café?q=ü") // "/caf%C3%A9?q=%C3%BC"
 * encodeLocation("/a%20b")     // "/a%20b"
 */
export function encodeLocation(url: string): string {
  return url.replace(NON_ASCII, (run) => {
    let encoded = "";
    for (const byte of Buffer.from(run, "utf8")) encoded += "%" + byte.toString(16).toUpperCase().padStart(2, "0");
    return encoded;
  });
}

/** `linkify`: plain text to HTML with its URLs as links (Tornado's `tornado.escape.linkify`). */

/**
 * How `linkify` makes links.
 *
 * @example
 * const options: LinkifyOptions = { shorten: true, extraParams: 'rel="nofollow"' };
 */
export interface LinkifyOptions {
  /** Show a long URL (over 30 characters) shortened, the whole of it in a `title`. Default false. */
  shorten?: boolean;
  /**
   * Attributes added to each `<a>` as they are (raw HTML: escape what you put in), or a function
   * of the link's `href` that returns them.
   */
  extraParams?: string | ((href: string) => string);
  /** Link only URLs that have a protocol (`http://…`), not a bare `www.example.com`. Default false. */
  requireProtocol?: boolean;
  /**
   * The protocols that are linked, compared as written; default `["http", "https"]`.
   * `javascript`, `vbscript` and `data` are refused: such a link runs script when clicked.
   */
  permittedProtocols?: readonly string[] | ReadonlySet<string>;
}

const DEFAULT_PROTOCOLS: ReadonlySet<string> = new Set(["http", "https"]);
// Beyond Tornado, which leaves this to the caller ("it is very unsafe to include javascript").
const SCRIPT_PROTOCOLS = new Set(["javascript", "vbscript", "data"]);

// Tornado's _URL_RE, read on the HTML-escaped text (so "&amp;" and "&quot;" may be inside a URL,
// no other entity). Python's \w and \b are Unicode-aware; JavaScript's are not, so a word
// character is spelled [\p{L}\p{N}_] and \b as lookarounds on it. Beyond Tornado, a protocol name
// has at most 64 characters: unbounded, a long run like "p-p-p-…" makes the scan quadratic
// (11 s for 77 kB), a server stalled by one comment.
/** @internal Exported for the ReDoS check of its test. */
export const URL_PATTERN =
  /(?:(?<![\p{L}\p{N}_])(?=[\p{L}\p{N}_])|(?<=[\p{L}\p{N}_])(?![\p{L}\p{N}_]))((?:([\p{L}\p{N}_-]{1,64}):(\/{1,3})|www[.])(?:(?:(?:[^\s&()]|&amp;|&quot;)*(?:[^!"#$%&'()*+,.:;<=>?@\[\]^`{|}~\s]))|(?:\((?:[^\s&()]|&amp;|&quot;)*\)))+)/gu;

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

// linkify runs on escaped text, as xhtmlEscape writes it; that one is not imported because
// runtime/escape.ts re-exports this file (an import circle).
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

// Display lengths count characters (code points), as Python's len() does.
const MAX_LEN = 30;

/**
 * Turns plain text into HTML with links: the text is HTML-escaped, then each URL in it becomes
 * an `<a href>`, as Tornado's `linkify`.
 *
 * A URL is a protocol followed by one to three slashes (`http://`, `rdar:/1234`), or starts with
 * `www.` (linked as `http://www.…` unless `requireProtocol`). A trailing `.`, `,`, `!`, `)`… is
 * left outside the link, and parentheses inside are kept only when they pair
 * (`…/Foo_(bar)`). Protocols outside `permittedProtocols` stay plain text, so a
 * `javascript:` link is never made. The result is HTML: in a template, insert it unescaped
 * (`{{{…}}}` or a `SafeHtml`).
 *
 * @example
 * linkify("Hello http://tornadoweb.org!");
 * // 'Hello <a href="http://tornadoweb.org">http://tornadoweb.org</a>!'
 * linkify("see www.example.com <3", { extraParams: 'rel="nofollow"' });
 * // 'see <a href="http://www.example.com" rel="nofollow">www.example.com</a> &lt;3'
 */
export function linkify(text: string, options: LinkifyOptions = {}): string {
  const { shorten = false, requireProtocol = false } = options;
  const permitted = options.permittedProtocols === undefined ? DEFAULT_PROTOCOLS : new Set(options.permittedProtocols);
  for (const protocol of permitted) {
    if (SCRIPT_PROTOCOLS.has(protocol.toLowerCase())) {
      throw new TypeError(`linkify: "${protocol}" cannot be a permitted protocol: such a link runs script when clicked`);
    }
  }
  const { extraParams = "" } = options;
  const fixedParams = typeof extraParams === "string" && extraParams ? ` ${extraParams.trim()}` : "";

  const makeLink = (url: string, protocol: string | undefined, slashes: string | undefined): string => {
    if (requireProtocol && !protocol) return url;
    if (protocol && !permitted.has(protocol)) return url;
    const href = protocol ? url : `http://${url}`;
    let params = typeof extraParams === "function" ? ` ${extraParams(href).trim()}` : fixedParams;
    let shown = url;
    if (shorten) {
      const clipped = shortened(url, protocol ? protocol.length + 1 + (slashes ?? "").length : 0);
      if (clipped !== url) {
        shown = clipped;
        // The whole URL on mouse-over, for browsers without a status bar.
        params += ` title="${href}"`;
      }
    }
    return `<a href="${href}"${params}>${shown}</a>`;
  };

  return escapeHtml(text).replace(URL_PATTERN, (_match, url: string, protocol?: string, slashes?: string) => makeLink(url, protocol, slashes));
}

/** Tornado's clipping: host plus the start of the path, else the first 30 characters, then "…". */
function shortened(url: string, protocolLength: number): string {
  const chars = Array.from(url);
  if (chars.length <= MAX_LEN) return url;
  let clipped = chars;
  const parts = chars.slice(protocolLength).join("").split("/");
  if (parts.length > 1) {
    // The host and the first few characters of the path: the rest of a slug says little.
    const pathStart = Array.from(parts[1]!).slice(0, 8).join("").split("?")[0]!.split(".")[0]!;
    clipped = Array.from(chars.slice(0, protocolLength).join("") + parts[0] + "/" + pathStart);
  }
  if (clipped.length > MAX_LEN * 1.5) clipped = clipped.slice(0, MAX_LEN);
  if (clipped.join("") === url) return url;
  // Do not cut an entity (&amp;) in two.
  const amp = clipped.lastIndexOf("&");
  if (amp > MAX_LEN - 5) clipped = clipped.slice(0, amp);
  const result = clipped.join("") + "...";
  return Array.from(result).length >= chars.length ? url : result;
}

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { check } from "recheck";
import { afterEach, describe, expect, it } from "vitest";
import { Application, RequestHandler, TemplateLoader, createTestServer, linkify, type LinkifyOptions, type TestServer } from "../../runtime/index.js";
import { linkify as fromEscape } from "../../runtime/escape.js";
import { URL_PATTERN } from "../../runtime/escape/linkify.js";

// Tornado's own cases (tornado/test/escape_test.py), a quote escaped as xhtmlEscape writes it.
const TORNADO_CASES: Array<[string, LinkifyOptions, string]> = [
  ["hello http://world.com/!", {}, 'hello <a href="http://world.com/">http://world.com/</a>!'],
  [
    "hello http://world.com/with?param=true&stuff=yes",
    {},
    'hello <a href="http://world.com/with?param=true&amp;stuff=yes">http://world.com/with?param=true&amp;stuff=yes</a>',
  ],
  // an open parenthesis followed by many characters, and many dots, stalled Gruber's regex
  [
    "http://url.com/w(aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    {},
    '<a href="http://url.com/w">http://url.com/w</a>(aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  ],
  [
    "http://url.com/withmany.......................................",
    {},
    '<a href="http://url.com/withmany">http://url.com/withmany</a>.......................................',
  ],
  [
    "http://url.com/withmany((((((((((((((((((((((((((((((((((a)",
    {},
    '<a href="http://url.com/withmany">http://url.com/withmany</a>((((((((((((((((((((((((((((((((((a)',
  ],
  ["http://foo.com/blah_blah", {}, '<a href="http://foo.com/blah_blah">http://foo.com/blah_blah</a>'],
  ["http://foo.com/blah_blah/", {}, '<a href="http://foo.com/blah_blah/">http://foo.com/blah_blah/</a>'],
  ["(Something like http://foo.com/blah_blah)", {}, '(Something like <a href="http://foo.com/blah_blah">http://foo.com/blah_blah</a>)'],
  ["http://foo.com/blah_blah_(wikipedia)", {}, '<a href="http://foo.com/blah_blah_(wikipedia)">http://foo.com/blah_blah_(wikipedia)</a>'],
  [
    "http://foo.com/blah_(blah)_(wikipedia)_blah",
    {},
    '<a href="http://foo.com/blah_(blah)_(wikipedia)_blah">http://foo.com/blah_(blah)_(wikipedia)_blah</a>',
  ],
  [
    "(Something like http://foo.com/blah_blah_(wikipedia))",
    {},
    '(Something like <a href="http://foo.com/blah_blah_(wikipedia)">http://foo.com/blah_blah_(wikipedia)</a>)',
  ],
  ["http://foo.com/blah_blah.", {}, '<a href="http://foo.com/blah_blah">http://foo.com/blah_blah</a>.'],
  ["http://foo.com/blah_blah/.", {}, '<a href="http://foo.com/blah_blah/">http://foo.com/blah_blah/</a>.'],
  ["<http://foo.com/blah_blah>", {}, '&lt;<a href="http://foo.com/blah_blah">http://foo.com/blah_blah</a>&gt;'],
  ["<http://foo.com/blah_blah/>", {}, '&lt;<a href="http://foo.com/blah_blah/">http://foo.com/blah_blah/</a>&gt;'],
  ["http://foo.com/blah_blah,", {}, '<a href="http://foo.com/blah_blah">http://foo.com/blah_blah</a>,'],
  ["http://www.example.com/wpstyle/?p=364.", {}, '<a href="http://www.example.com/wpstyle/?p=364">http://www.example.com/wpstyle/?p=364</a>.'],
  ["rdar://1234", { permittedProtocols: ["http", "rdar"] }, '<a href="rdar://1234">rdar://1234</a>'],
  ["rdar:/1234", { permittedProtocols: ["rdar"] }, '<a href="rdar:/1234">rdar:/1234</a>'],
  [
    "http://userid:password@example.com:8080",
    {},
    '<a href="http://userid:password@example.com:8080">http://userid:password@example.com:8080</a>',
  ],
  ["http://userid@example.com", {}, '<a href="http://userid@example.com">http://userid@example.com</a>'],
  ["http://userid@example.com:8080", {}, '<a href="http://userid@example.com:8080">http://userid@example.com:8080</a>'],
  ["http://userid:password@example.com", {}, '<a href="http://userid:password@example.com">http://userid:password@example.com</a>'],
  [
    "message://%3c330e7f8409726r6a4ba78dkf1fd71420c1bf6ff@mail.gmail.com%3e",
    { permittedProtocols: ["http", "message"] },
    '<a href="message://%3c330e7f8409726r6a4ba78dkf1fd71420c1bf6ff@mail.gmail.com%3e">' +
      "message://%3c330e7f8409726r6a4ba78dkf1fd71420c1bf6ff@mail.gmail.com%3e</a>",
  ],
  ["http://\u27a1.ws/\u4a39", {}, '<a href="http://\u27a1.ws/\u4a39">http://\u27a1.ws/\u4a39</a>'],
  ["<tag>http://example.com</tag>", {}, '&lt;tag&gt;<a href="http://example.com">http://example.com</a>&lt;/tag&gt;'],
  ["Just a www.example.com link.", {}, 'Just a <a href="http://www.example.com">www.example.com</a> link.'],
  ["Just a www.example.com link.", { requireProtocol: true }, "Just a www.example.com link."],
  [
    "A http://reallylong.com/link/that/exceedsthelenglimit.html",
    { requireProtocol: true, shorten: true },
    'A <a href="http://reallylong.com/link/that/exceedsthelenglimit.html"' +
      ' title="http://reallylong.com/link/that/exceedsthelenglimit.html">http://reallylong.com/link...</a>',
  ],
  [
    "A http://reallylongdomainnamethatwillbetoolong.com/hi!",
    { shorten: true },
    'A <a href="http://reallylongdomainnamethatwillbetoolong.com/hi"' +
      ' title="http://reallylongdomainnamethatwillbetoolong.com/hi">http://reallylongdomainnametha...</a>!',
  ],
  ["A file:///passwords.txt and http://web.com link", {}, 'A file:///passwords.txt and <a href="http://web.com">http://web.com</a> link'],
  [
    "A file:///passwords.txt and http://web.com link",
    { permittedProtocols: ["file"] },
    'A <a href="file:///passwords.txt">file:///passwords.txt</a> and http://web.com link',
  ],
  [
    "www.external-link.com",
    { extraParams: 'rel="nofollow" class="external"' },
    '<a href="http://www.external-link.com" rel="nofollow" class="external">www.external-link.com</a>',
  ],
  [
    "www.external-link.com and www.internal-link.com/blogs extra",
    {
      extraParams: (href) => (href.startsWith("http://www.internal-link.com") ? 'class="internal"' : 'rel="nofollow" class="external"'),
    },
    '<a href="http://www.external-link.com" rel="nofollow" class="external">www.external-link.com</a>' +
      ' and <a href="http://www.internal-link.com/blogs" class="internal">www.internal-link.com/blogs</a> extra',
  ],
  [
    "www.external-link.com",
    { extraParams: () => '    rel="nofollow" class="external"  ' },
    '<a href="http://www.external-link.com" rel="nofollow" class="external">www.external-link.com</a>',
  ],
];

describe("linkify(text, options)", () => {
  it("is exported from tornado/escape and from tornado", () => {
    expect(fromEscape).toBe(linkify);
  });

  it.each(TORNADO_CASES)("links %j as Tornado does", (text, options, html) => {
    expect(linkify(text, options)).toBe(html);
  });

  it("escapes the text around and inside links, so a quote cannot leave the href", () => {
    expect(linkify(`<script>alert(1)</script> 'http://a.com/?q="x"&r=1'`)).toBe(
      '&lt;script&gt;alert(1)&lt;/script&gt; &#39;<a href="http://a.com/?q=&quot;x&quot;&amp;r=1">http://a.com/?q=&quot;x&quot;&amp;r=1</a>&#39;',
    );
    expect(linkify('http://a.com/" onmouseover="alert(1)')).toBe(
      '<a href="http://a.com/">http://a.com/</a>&quot; onmouseover=&quot;alert(1)',
    );
  });

  it("never makes a javascript: link: such protocols stay text, and cannot be permitted", () => {
    expect(linkify("javascript://%0Aalert(1) and JavaScript://x")).toBe("javascript://%0Aalert(1) and JavaScript://x");
    expect(() => linkify("x", { permittedProtocols: ["http", "javascript"] })).toThrow(
      new TypeError('linkify: "javascript" cannot be a permitted protocol: such a link runs script when clicked'),
    );
    expect(() => linkify("x", { permittedProtocols: new Set(["JavaScript"]) })).toThrow(TypeError);
    expect(() => linkify("x", { permittedProtocols: ["vbscript"] })).toThrow(TypeError);
    expect(() => linkify("x", { permittedProtocols: ["data"] })).toThrow(TypeError);
  });

  it("compares protocols as written: HTTP:// is not http://", () => {
    expect(linkify("HTTP://A.COM")).toBe("HTTP://A.COM");
    expect(linkify("HTTP://A.COM", { permittedProtocols: ["HTTP"] })).toBe('<a href="HTTP://A.COM">HTTP://A.COM</a>');
  });

  it("counts characters, not UTF-16 units, when shortening", () => {
    const url = `http://x/${"\u{1F600}".repeat(47)}`;
    expect(linkify(url, { shorten: true })).toBe(`<a href="${url}" title="${url}">http://x/${"\u{1F600}".repeat(8)}...</a>`);
  });

  it("leaves a URL of 30 characters or fewer whole when shortening, and adds no title", () => {
    expect(linkify("http://example.com/abc/defghij", { shorten: true })).toBe(
      '<a href="http://example.com/abc/defghij">http://example.com/abc/defghij</a>',
    );
  });

  it("returns text without URLs escaped and otherwise unchanged", () => {
    expect(linkify("Tom & Jerry <3 www")).toBe("Tom &amp; Jerry &lt;3 www");
    expect(linkify("")).toBe("");
  });

  it("scans in linear time (its URL pattern passes a ReDoS check)", async () => {
    // Tornado's pattern with an unbounded protocol name is quadratic on "p-p-p-…&"; ours bounds it.
    const result = await check(URL_PATTERN.source, URL_PATTERN.flags, { randomSeed: 1, timeout: 60_000 });
    expect(result.status).toBe("safe");
    const long = `${"p-".repeat(20_000)}& http://example.com/x`;
    expect(linkify(long)).toBe(`${"p-".repeat(20_000)}&amp; <a href="http://example.com/x">http://example.com/x</a>`);
  }, 90_000);
});

describe("{{linkify}} in templates", () => {
  let server: TestServer | undefined;
  let root: string | undefined;
  afterEach(async () => {
    await server?.close();
    if (root) rmSync(root, { recursive: true, force: true });
    server = root = undefined;
  });

  it("links a comment's URLs, escaping the rest, with options as hash arguments", async () => {
    root = mkdtempSync(join(tmpdir(), "tornado-linkify-"));
    writeFileSync(join(root, "comment.hbs"), "<p>{{linkify text}}</p>\n<p>{{linkify text shorten=true extraParams='rel=\"nofollow\"'}}</p>\n<p>{{linkify text requireProtocol=true}}|{{linkify missing}}</p>\n");
    class CommentHandler extends RequestHandler {
      async get() {
        await this.render("comment.hbs", { text: this.getArgument("text") });
      }
    }
    server = await createTestServer(new Application([["/comment", CommentHandler]], { templatePath: root }));
    const text = "<b>see</b> www.example.com/a/very/long/path/to/somewhere and javascript://x";
    const res = await server.fetch(`/comment?text=${encodeURIComponent(text)}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(
      [
        '<p>&lt;b&gt;see&lt;/b&gt; <a href="http://www.example.com/a/very/long/path/to/somewhere">www.example.com/a/very/long/path/to/somewhere</a> and javascript://x</p>',
        '<p>&lt;b&gt;see&lt;/b&gt; <a href="http://www.example.com/a/very/long/path/to/somewhere" rel="nofollow" title="http://www.example.com/a/very/long/path/to/somewhere">www.example.com/a...</a> and javascript://x</p>',
        "<p>&lt;b&gt;see&lt;/b&gt; www.example.com/a/very/long/path/to/somewhere and javascript://x|</p>",
        "",
      ].join("\n"),
    );
  });

  it("is there for a TemplateLoader used on its own, with permittedProtocols as a list", async () => {
    root = mkdtempSync(join(tmpdir(), "tornado-linkify-"));
    writeFileSync(join(root, "mail.hbs"), '{{linkify body permittedProtocols="http, ftp"}}');
    const html = await new TemplateLoader(root).render("mail.hbs", { body: "get ftp://files.example/a.zip or https://x.example" });
    expect(html).toBe('get <a href="ftp://files.example/a.zip">ftp://files.example/a.zip</a> or https://x.example');
  });
});

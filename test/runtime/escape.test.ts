import { describe, expect, it } from "vitest";
import {
  decodeUtf8Strict,
  jsonDecode,
  jsonEncode,
  squeeze,
  urlEscape,
  urlUnescape,
  urlUnescapeToBuffer,
  xhtmlEscape,
  xhtmlUnescape,
} from "../../runtime/index.js";

describe("xhtmlEscape / xhtmlUnescape", () => {
  it("escapes the five XML specials", () => {
    expect(xhtmlEscape(`<a href="x">Tom & Jerry's</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
    expect(xhtmlEscape("plain")).toBe("plain");
    expect(xhtmlEscape(42)).toBe("42");
  });

  it("unescapes named and numeric entities and leaves unknown ones", () => {
    expect(xhtmlUnescape("&lt;b&gt; &#39;hi&#x27; &amp;amp; &bogus;")).toBe("<b> 'hi' &amp; &bogus;");
  });

  it("round-trips", () => {
    const text = `<p class="a">'x' & y</p>`;
    expect(xhtmlUnescape(xhtmlEscape(text))).toBe(text);
  });
});

describe("urlEscape / urlUnescape", () => {
  it("escapes like Python's quote_plus by default and quote with plus: false", () => {
    expect(urlEscape("a b/c?d=é")).toBe("a+b%2Fc%3Fd%3D%C3%A9");
    expect(urlEscape("a b/c", { plus: false })).toBe("a%20b/c");
    expect(urlEscape("safe-_.~AZ09")).toBe("safe-_.~AZ09");
  });

  it("unescapes '+' as a space unless plus: false", () => {
    expect(urlUnescape("caf%C3%A9+au+lait")).toBe("café au lait");
    expect(urlUnescape("a+b", { plus: false })).toBe("a+b");
  });

  it("keeps malformed escapes as they are", () => {
    expect(urlUnescape("100%zz%4")).toBe("100%zz%4");
    expect([...urlUnescapeToBuffer("%41%zz")]).toEqual([0x41, 0x25, 0x7a, 0x7a]);
  });

  it("throws on escapes that are not UTF-8", () => {
    expect(() => urlUnescape("%FF")).toThrow(TypeError);
    expect(() => decodeUtf8Strict(Buffer.from([0xc3]))).toThrow(TypeError);
  });

  it("decodes ASCII and UTF-8 alike, dropping a UTF-8 BOM, from a Buffer or a Uint8Array", () => {
    expect(decodeUtf8Strict(Buffer.from('{"a":1}'))).toBe('{"a":1}');
    expect(decodeUtf8Strict(new Uint8Array([0x68, 0x69]))).toBe("hi");
    expect(decodeUtf8Strict(Buffer.from("café ✓"))).toBe("café ✓");
    expect(decodeUtf8Strict(Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]))).toBe("{}");
    expect(decodeUtf8Strict(Buffer.from("abc").subarray(1))).toBe("bc");
    expect(() => decodeUtf8Strict(Buffer.from([0x41, 0xff]))).toThrow(TypeError);
  });
});

describe("jsonEncode / jsonDecode", () => {
  it("escapes '</' so JSON can sit inside a script tag", () => {
    expect(jsonEncode({ a: "</script>" })).toBe('{"a":"<\\/script>"}');
    expect(JSON.parse(jsonEncode({ a: "</script>" }))).toEqual({ a: "</script>" });
  });

  it("refuses values JSON cannot carry", () => {
    expect(() => jsonEncode(undefined)).toThrow(/cannot be encoded/);
  });

  it("decodes strings and UTF-8 bytes", () => {
    expect(jsonDecode('{"a":1}')).toEqual({ a: 1 });
    expect(jsonDecode(Buffer.from('{"é":true}'))).toEqual({ é: true });
  });
});

describe("squeeze", () => {
  it("collapses whitespace runs", () => {
    expect(squeeze("  a \n\t b ")).toBe("a b");
  });
});

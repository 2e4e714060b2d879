import { describe, expect, it } from "vitest";
import { urlConcat } from "../../runtime/index.js";
import { urlConcat as fromHttputil } from "../../runtime/httputil.js";

describe("urlConcat(url, args)", () => {
  it("is exported from tornado/httputil and from tornado", () => {
    expect(fromHttputil).toBe(urlConcat);
  });

  it("adds an object's arguments to a URL without a query", () => {
    expect(urlConcat("http://example.com/foo", { c: "d" })).toBe("http://example.com/foo?c=d");
  });

  it("keeps the query the URL already has", () => {
    expect(urlConcat("http://example.com/foo?a=b", { c: "d" })).toBe("http://example.com/foo?a=b&c=d");
    expect(urlConcat("https://localhost/path?r=1&r=2", [["y", "y"]])).toBe("https://localhost/path?r=1&r=2&y=y");
  });

  it("takes [name, value] pairs, a name repeating", () => {
    expect(urlConcat("http://example.com/foo?a=b", [["c", "d"], ["c", "d2"]])).toBe("http://example.com/foo?a=b&c=d&c=d2");
  });

  it("takes a Map and URLSearchParams", () => {
    expect(urlConcat("/p", new Map([["a", "1"], ["b", "2"]]))).toBe("/p?a=1&b=2");
    expect(urlConcat("/p", new URLSearchParams("t=x&t=y"))).toBe("/p?t=x&t=y");
  });

  it("writes numbers and booleans as strings", () => {
    expect(urlConcat("/items", { page: 2, all: true })).toBe("/items?page=2&all=true");
  });

  it("percent-encodes as a form does: + for a space, UTF-8, only A-Z a-z 0-9 _ . - ~ left as they are", () => {
    expect(urlConcat("https://localhost/path", [["y", "/y"], ["z", "z"]])).toBe("https://localhost/path?y=%2Fy&z=z");
    expect(urlConcat("/s", { q: "a b&c=d", e: "é", k: "~*!()'" })).toBe("/s?q=a+b%26c%3Dd&e=%C3%A9&k=~%2A%21%28%29%27");
    expect(urlConcat("/s", { "a b": "1" })).toBe("/s?a+b=1");
  });

  it("re-encodes the existing query: a bare name gets '=', empty pieces and a trailing '?' go", () => {
    expect(urlConcat("https://localhost/path?", [["y", "y"], ["z", "z"]])).toBe("https://localhost/path?y=y&z=z");
    expect(urlConcat("https://localhost/path?x", [["y", "y"]])).toBe("https://localhost/path?x=&y=y");
    expect(urlConcat("https://localhost/path?x&", [["y", "y"]])).toBe("https://localhost/path?x=&y=y");
    expect(urlConcat("/s?q=a+b&r=%2F", [])).toBe("/s?q=a+b&r=%2F");
    expect(urlConcat("/s?", [])).toBe("/s");
  });

  it("keeps the fragment after the new query", () => {
    expect(urlConcat("https://localhost/path#tab", [["y", "y"]])).toBe("https://localhost/path?y=y#tab");
    expect(urlConcat("/p?a=1#x?y", { b: "2" })).toBe("/p?a=1&b=2#x?y");
  });

  it("gives the URL back unchanged for null or undefined args, and an empty list keeps the query", () => {
    expect(urlConcat("https://localhost/path?r=1&t=2", null)).toBe("https://localhost/path?r=1&t=2");
    expect(urlConcat("https://localhost/path?r=1&t=2", undefined)).toBe("https://localhost/path?r=1&t=2");
    expect(urlConcat("https://localhost/path?r=1&t=2", [])).toBe("https://localhost/path?r=1&t=2");
  });

  it("treats names like __proto__ and constructor as plain names", () => {
    const args = JSON.parse('{"__proto__": "x", "constructor": "y"}') as Record<string, string>;
    expect(urlConcat("/p", args)).toBe("/p?__proto__=x&constructor=y");
  });

  it("refuses args that are not an object, a Map or a list of pairs with a TypeError, as Tornado", () => {
    expect(() => urlConcat("/p", "a=b" as never)).toThrow(new TypeError("urlConcat: args should be an object, a Map or an array of [name, value] pairs, not string"));
    expect(() => urlConcat("/p", 5 as never)).toThrow(TypeError);
    expect(() => urlConcat("/p", [["a", "1"], ["b"]] as never)).toThrow(/args\[1\] should be a \[name, value\] pair/);
    expect(() => urlConcat("/p", ["ab"] as never)).toThrow(TypeError);
  });
});

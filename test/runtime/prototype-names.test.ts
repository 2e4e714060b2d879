/**
 * Names from outside (entity names, duration units, host names) never find Object.prototype's
 * properties in the runtime's lookup tables.
 */

import { describe, expect, it } from "vitest";
import { xhtmlUnescape } from "../../runtime/escape.js";
import { AsyncHTTPClient } from "../../runtime/httpclient.js";
import { parseDuration } from "../../runtime/options/values.js";

const PROTOTYPE_NAMES = ["constructor", "prototype", "toString", "hasOwnProperty", "__proto__", "valueOf"];

describe("xhtmlUnescape(value)", () => {
  it("leaves an entity named like an Object.prototype property as it is", () => {
    for (const name of PROTOTYPE_NAMES) expect(xhtmlUnescape(`a &${name}; b`)).toBe(`a &${name}; b`);
    expect(xhtmlUnescape("&lt;&amp;")).toBe("<&");
  });
});

describe("parseDuration(text)", () => {
  it("refuses a unit named like an Object.prototype property", () => {
    for (const name of PROTOTYPE_NAMES) expect(() => parseDuration(`5${name}`)).toThrow(/is not a duration/);
    expect(parseDuration("2m")).toBe(120_000);
  });
});

describe("AsyncHTTPClient({ hostnameMapping })", () => {
  it("looks up a host named like an Object.prototype property in DNS, not in the mapping's prototype", async () => {
    const client = new AsyncHTTPClient({ hostnameMapping: { "api.example.test": "127.0.0.1" } });
    for (const host of ["constructor", "__proto__"]) {
      const error = await client.fetch(`http://${host}:9/`, { requestTimeout: 5000 }).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(error).not.toBeNull();
      // A DNS failure for an unknown host, not a TypeError from calling dns.lookup on a function.
      expect(String(error?.message)).not.toMatch(/must be of type string|Received function|Received an instance of Object/);
    }
    client.close();
  });
});

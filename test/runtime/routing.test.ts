import { afterEach, describe, expect, it } from "vitest";
import {
  Application,
  PathMatches,
  RequestHandler,
  Router,
  URLSpec,
  createTestServer,
  expandPathParameters,
  expectLog,
  url,
  type TestServer,
} from "../../runtime/index.js";

class Echo extends RequestHandler {
  get(...args: (string | null)[]) {
    this.write({ handler: (this.constructor as { name: string }).name, args });
  }
}
class Other extends Echo {}

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("PathMatches(pattern)", () => {
  it("matches the whole path: anchored at both ends", () => {
    const m = new PathMatches("/a/(\\d+)");
    expect(m.match("/a/12")).toEqual({ pathArgs: ["12"], pathKwargs: {} });
    expect(m.match("/a/12/x")).toBeNull();
    expect(m.match("/x/a/12")).toBeNull();
  });

  it("accepts patterns that already carry ^ and $", () => {
    const m = new PathMatches("^/a/(\\d+)$");
    expect(m.match("/a/1")?.pathArgs).toEqual(["1"]);
    expect(m.match("/a/1/")).toBeNull();
  });

  it("keeps alternation inside the anchors", () => {
    const m = new PathMatches("/(a|b)");
    expect(m.match("/a")?.pathArgs).toEqual(["a"]);
    expect(m.match("/ab")).toBeNull();
  });

  it("refuses a pattern that mixes named and positional groups", () => {
    expect(() => new PathMatches("/(?<id>\\d+)/(\\w+)")).toThrow(/all named or all positional/);
  });

  it("reverses simple patterns, percent-encoding values and keeping '/'", () => {
    expect(new PathMatches("/users/([^/]+)/posts/(\\d+)").reverse("ann b", 3)).toBe("/users/ann%20b/posts/3");
    expect(new PathMatches("/files/(.*)").reverse("a/b c.txt")).toBe("/files/a/b%20c.txt");
    expect(new PathMatches("/static\\.files/(.+)").reverse("x")).toBe("/static.files/x");
    expect(new PathMatches("/").reverse()).toBe("/");
    expect(new PathMatches("/users/:id").reverse(5)).toBe("/users/5");
  });

  it("refuses to reverse patterns too complex to invert, or with the wrong argument count", () => {
    expect(() => new PathMatches("/a+/(\\d+)").reverse(1)).toThrow(/Cannot reverse/);
    expect(() => new PathMatches("/((a)|b)").reverse("a")).toThrow(/Cannot reverse/);
    expect(() => new PathMatches("/(\\d+)").reverse()).toThrow(/takes 1 argument/);
  });

  it("accepts RegExp objects", () => {
    expect(new PathMatches(/\/r\/(\d+)/).match("/r/9")?.pathArgs).toEqual(["9"]);
  });
});

describe("expandPathParameters(pattern)", () => {
  it("turns :name segments into named groups and leaves regex syntax alone", () => {
    expect(expandPathParameters("/users/:id/posts/:postId")).toBe("/users/(?<id>[^/]+)/posts/(?<postId>[^/]+)");
    expect(expandPathParameters("/(?:a|b)/(\\d+)")).toBe("/(?:a|b)/(\\d+)");
  });
});

describe("Router", () => {
  it("finds the first rule that matches, in order", () => {
    const router = new Router([["/x/(\\w+)", Echo], ["/x/special", Other]]);
    expect(router.find("/x/special")?.rule.handlerClass).toBe(Echo);
    expect(router.find("/y")).toBeNull();
  });

  it("refuses two routes with the same name", () => {
    expect(() => new Router([url("/a", Echo, { name: "n" }), url("/b", Echo, { name: "n" })])).toThrow(/Multiple handlers named n/);
  });

  it("says what a route must look like when given something else", () => {
    expect(() => new Router([["/a"] as never])).toThrow(/url\(pattern, Handler, options\)/);
    expect(() => new URLSpec("/a", "Echo" as never)).toThrow(/must be a RequestHandler class/);
  });

  it("throws for an unknown name in reverseUrl", () => {
    expect(() => new Router([]).reverseUrl("nope")).toThrow(/nope not found/);
  });
});

describe("routing through real requests", () => {
  it("dispatches each path to its rule and 404s the rest", async () => {
    server = await createTestServer(
      new Application([
        ["/", Echo],
        url("/users/:id", Other, { name: "user" }),
        ["/files/(.*)", Echo],
      ]),
    );
    expect(await (await server.fetch("/")).json()).toEqual({ handler: "Echo", args: [] });
    expect(await (await server.fetch("/users/a%20b")).json()).toEqual({ handler: "Other", args: ["a b"] });
    expect(await (await server.fetch("/files/x/y.txt?v=1")).json()).toEqual({ handler: "Echo", args: ["x/y.txt"] });
    const res = await expectLog("tornado.access", /404/, () => server!.fetch("/users/"));
    expect(res.status).toBe(404);
  });

  it("routes absolute-form request targets by their path", async () => {
    server = await createTestServer(new Application([["/abs", Echo]]));
    const { request } = await import("node:http");
    const body = await new Promise<string>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port: server!.port, path: "http://example.com/abs?x=1" }, (res) => {
        let text = "";
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve(text));
      });
      req.on("error", reject);
      req.end();
    });
    expect(JSON.parse(body)).toEqual({ handler: "Echo", args: [] });
  });
});

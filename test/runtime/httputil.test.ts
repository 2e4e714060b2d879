import { request as httpRequest } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import {
  Application,
  HTTPHeaders,
  HTTPInputError,
  HTTPServerRequest,
  RequestHandler,
  createTestServer,
  emptyArguments,
  formatTimestamp,
  parseBodyArguments,
  parseHeaderParams,
  parseQsBytes,
  responses,
  splitHostAndPort,
  type HTTPFile,
  type TestServer,
} from "../../runtime/index.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("HTTPHeaders", () => {
  it("looks names up without regard to case and keeps repeated values", () => {
    const h = new HTTPHeaders({ "Content-Type": "text/html" });
    h.add("Set-Cookie", "A=B");
    h.add("set-cookie", "C=D");
    expect(h.get("content-type")).toBe("text/html");
    expect(h.getList("SET-COOKIE")).toEqual(["A=B", "C=D"]);
    expect(h.get("Set-Cookie")).toBe("A=B,C=D");
    expect(h.has("CONTENT-TYPE")).toBe(true);
    expect(h.get("missing")).toBeUndefined();
    expect(h.size).toBe(3);
  });

  it("set() replaces every value, delete() removes them", () => {
    const h = new HTTPHeaders([
      ["X-A", "1"],
      ["x-a", "2"],
      ["X-B", "3"],
    ]);
    h.set("X-a", "9");
    expect([...h]).toEqual([
      ["X-a", "9"],
      ["X-B", "3"],
    ]);
    expect(h.delete("x-b")).toBe(true);
    expect(h.delete("x-b")).toBe(false);
    expect(h.toJSON()).toEqual({ "X-a": "9" });
  });

  it("refuses header injection and invalid names", () => {
    const h = new HTTPHeaders();
    expect(() => h.set("X", "a\r\nInjected: 1")).toThrow(/Unsafe header value/);
    expect(() => h.add("X", "a\nb")).toThrow(TypeError);
    expect(() => h.set("Bad Name", "v")).toThrow(/Invalid header name/);
    expect(h.size).toBe(0);
  });

  it("parses a header block, joining folded lines", () => {
    const h = HTTPHeaders.parse("Content-Type: text/html\r\nX-Long: a\r\n  b\r\nContent-Length: 42\r\n\r\n");
    expect(h.get("content-length")).toBe("42");
    expect(h.get("x-long")).toBe("a b");
    expect(() => HTTPHeaders.parse("no colon here")).toThrow(/no colon/);
  });

  it("copies a borrowed list before changing it", () => {
    const raw = ["Host", "a", "Accept", "*/*"];
    const h = HTTPHeaders.fromFlat(raw);
    h.set("Host", "b");
    expect(raw).toEqual(["Host", "a", "Accept", "*/*"]);
    expect(h.get("host")).toBe("b");
    expect(h.copy().get("accept")).toBe("*/*");
  });
});

describe("parseQsBytes", () => {
  it("keeps blank values, repeats and '+' as space", () => {
    const args = parseQsBytes("a=1&a=2&b=&c&d=x+y%21");
    expect(Object.fromEntries(Object.entries(args).map(([k, v]) => [k, v.map(String)]))).toEqual({
      a: ["1", "2"],
      b: [""],
      c: [""],
      d: ["x y!"],
    });
  });

  it("treats __proto__ as an ordinary name", () => {
    const args = parseQsBytes("__proto__=x");
    expect(args["__proto__"]!.map(String)).toEqual(["x"]);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});

describe("parseBodyArguments", () => {
  const multipart = (boundary: string, parts: string[]) =>
    Buffer.from(parts.map((p) => `--${boundary}\r\n${p}\r\n`).join("") + `--${boundary}--\r\n`);

  it("parses urlencoded forms and ignores other content types", () => {
    const args = emptyArguments();
    const files: Record<string, HTTPFile[]> = {};
    parseBodyArguments("application/x-www-form-urlencoded; charset=UTF-8", Buffer.from("a=1&b=%C3%A9"), args, files);
    expect(args.b![0]!.toString()).toBe("é");
    parseBodyArguments("application/json", Buffer.from("a=2"), args, files);
    expect(args.a!.map(String)).toEqual(["1"]);
  });

  it("parses multipart fields and files, with quoted boundaries and RFC 5987 filenames", () => {
    const args = emptyArguments();
    const files: Record<string, HTTPFile[]> = {};
    const body = multipart("b0und", [
      'Content-Disposition: form-data; name="title"\r\n\r\nHello',
      "Content-Disposition: form-data; name=\"f\"; filename*=UTF-8''%E2%82%AC.txt\r\nContent-Type: text/plain\r\n\r\nfile body",
      'Content-Disposition: form-data; name="g"; filename="a;b.bin"\r\n\r\n\x00\x01',
    ]);
    parseBodyArguments('multipart/form-data; boundary="b0und"', body, args, files);
    expect(args.title!.map(String)).toEqual(["Hello"]);
    expect(files.f).toEqual([{ filename: "€.txt", contentType: "text/plain", body: Buffer.from("file body") }]);
    expect(files.g![0]!.filename).toBe("a;b.bin");
    expect(files.g![0]!.contentType).toBe("application/unknown");
  });

  it("throws HTTPInputError for malformed multipart bodies", () => {
    const parse = (type: string, body: Buffer) => () => parseBodyArguments(type, body, emptyArguments(), {});
    expect(parse("multipart/form-data", Buffer.from("x"))).toThrow(/boundary not found/);
    expect(parse("multipart/form-dataxyz; boundary=a", Buffer.from("x"))).toThrow(/Invalid content type/);
    expect(parse("multipart/form-data; boundary=a", Buffer.from("--a\r\nno end"))).toThrow(/no final boundary/);
    expect(parse("multipart/form-data; boundary=a", multipart("a", ["no headers"]))).toThrow(/missing headers/);
    expect(parse("multipart/form-data; boundary=a", multipart("a", ["Content-Disposition: form-data\r\n\r\nv"]))).toThrow(/missing name/);
    expect(parse("multipart/form-data; boundary=a", multipart("a", ["Content-Disposition: attachment; name=x\r\n\r\nv"]))).toThrow(HTTPInputError);
  });

  it("refuses a form body that is still content-encoded", () => {
    const headers = new HTTPHeaders({ "Content-Encoding": "gzip" });
    expect(() => parseBodyArguments("application/x-www-form-urlencoded", Buffer.from("a"), emptyArguments(), {}, headers)).toThrow(
      /Unsupported Content-Encoding: gzip/,
    );
  });
});

describe("parseHeaderParams", () => {
  it("splits a header into its value and parameters", () => {
    expect(parseHeaderParams('form-data; name="a\\"b"; filename=plain.txt')).toEqual(["form-data", { name: 'a"b', filename: "plain.txt" }]);
  });
});

describe("HTTPServerRequest", () => {
  class Describe extends RequestHandler {
    post() {
      const r = this.request;
      this.write({
        method: r.method,
        uri: r.uri,
        path: r.path,
        query: r.query,
        version: r.version,
        host: r.host,
        hostName: r.hostName,
        remoteIp: r.remoteIp,
        protocol: r.protocol,
        fullUrl: r.fullUrl(),
        body: r.body.toString(),
        accept: r.headers.getList("X-Multi"),
        summary: String(r),
        time: r.requestTime() >= 0,
      });
    }
  }

  it("describes the request as it arrived over the wire", async () => {
    server = await createTestServer(new Application([["/describe", Describe]]));
    const body = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(
        {
          host: "127.0.0.1",
          port: server!.port,
          method: "POST",
          path: "/describe?x=1&y=2",
          headers: { Host: `LocalHost:${server!.port}`, "X-Multi": ["a", "b"] },
        },
        (res) => {
          let text = "";
          res.on("data", (d) => (text += d));
          res.on("end", () => resolve(text));
        },
      );
      req.on("error", reject);
      req.end("payload");
    });
    const port = server.port;
    expect(JSON.parse(body)).toEqual({
      method: "POST",
      uri: "/describe?x=1&y=2",
      path: "/describe",
      query: "x=1&y=2",
      version: "HTTP/1.1",
      host: `LocalHost:${port}`,
      hostName: "localhost",
      remoteIp: "127.0.0.1",
      protocol: "http",
      fullUrl: `http://LocalHost:${port}/describe?x=1&y=2`,
      body: "payload",
      accept: ["a", "b"],
      summary: "POST /describe?x=1&y=2 (127.0.0.1)",
      time: true,
    });
  });

  it("can be built by hand for unit tests", () => {
    const r = new HTTPServerRequest({ method: "GET", uri: "/a?b=c", headers: { Host: "example.com:8080" } });
    expect([r.path, r.query, r.hostName, r.queryArguments.b![0]!.toString()]).toEqual(["/a", "b=c", "example.com", "c"]);
  });
});

describe("small helpers", () => {
  it("formatTimestamp formats seconds and dates as HTTP dates", () => {
    expect(formatTimestamp(1359312200)).toBe("Sun, 27 Jan 2013 18:43:20 GMT");
    expect(formatTimestamp(new Date(0))).toBe("Thu, 01 Jan 1970 00:00:00 GMT");
  });

  it("splitHostAndPort handles names, IPv4 and IPv6", () => {
    expect(splitHostAndPort("example.com:8080")).toEqual(["example.com", 8080]);
    expect(splitHostAndPort("example.com")).toEqual(["example.com", null]);
    expect(splitHostAndPort("[::1]:80")).toEqual(["[::1]", 80]);
    expect(splitHostAndPort("::1")).toEqual(["::1", null]);
  });

  it("responses maps codes to reason phrases", () => {
    expect(responses[404]).toBe("Not Found");
    expect(responses[599]).toBeUndefined();
  });
});

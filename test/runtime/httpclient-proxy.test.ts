/** AsyncHTTPClient through a real forward proxy (node:http on an ephemeral port, counting what passes). */

import { execFile } from "node:child_process";
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import { connect, type Socket } from "node:net";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AsyncHTTPClient, HTTPClientError } from "../../runtime/index.js";
import { makePki, opensslAvailable, type Pki } from "../helpers/pki.js";

const run = promisify(execFile);

interface Seen {
  method: string;
  target: string;
  auth: string | undefined;
}

/** A forward proxy: absolute-form requests relayed, CONNECT tunnels opened; optional Basic auth. */
class ForwardProxy {
  readonly seen: Seen[] = [];
  tunnelledBytes = 0;
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly credentials?: string) {
    this.server = http.createServer((req, res) => {
      if (!this.admit(req)) {
        res.writeHead(407, { "Proxy-Authenticate": 'Basic realm="test"' });
        res.end("proxy says no");
        return;
      }
      const target = new URL(req.url!);
      const headers = { ...req.headers };
      delete headers["proxy-authorization"];
      const upstream = http.request({ host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers }, (up) => {
        res.writeHead(up.statusCode!, { ...up.headers, via: "1.1 test-proxy" });
        up.pipe(res);
      });
      upstream.on("error", () => res.destroy());
      req.pipe(upstream);
    });
    this.server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
    this.server.on("connect", (req: IncomingMessage, socket: Socket, head: Buffer) => {
      if (!this.admit(req)) {
        socket.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      const [host, port] = [req.url!.slice(0, req.url!.lastIndexOf(":")), Number(req.url!.slice(req.url!.lastIndexOf(":") + 1))];
      const upstream = connect(port, host, () => {
        socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        if (head.length > 0) upstream.write(head);
        socket.on("data", (chunk: Buffer) => (this.tunnelledBytes += chunk.length));
        upstream.on("data", (chunk: Buffer) => (this.tunnelledBytes += chunk.length));
        socket.pipe(upstream).pipe(socket);
      });
      this.sockets.add(upstream);
      upstream.on("error", () => socket.destroy());
      socket.on("error", () => upstream.destroy());
    });
  }

  private admit(req: IncomingMessage): boolean {
    const auth = req.headers["proxy-authorization"];
    this.seen.push({ method: req.method!, target: req.url!, auth });
    return this.credentials === undefined || auth === "Basic " + Buffer.from(this.credentials).toString("base64");
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** What the server behind the proxy saw. */
interface Echo {
  method: string;
  url: string;
  host: string;
  proxyAuthorization: string | null;
  body: string;
}

function echo(req: IncomingMessage, res: http.ServerResponse) {
  let body = "";
  req.setEncoding("utf8");
  req.on("data", (chunk: string) => (body += chunk));
  req.on("end", () => {
    const seen: Echo = { method: req.method!, url: req.url!, host: req.headers.host!, proxyAuthorization: req.headers["proxy-authorization"] ?? null, body };
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify(seen));
  });
}

const proxies: ForwardProxy[] = [];
const clients: AsyncHTTPClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(proxies.splice(0).map((p) => p.stop()));
});
async function proxy(credentials?: string): Promise<ForwardProxy> {
  const started = await new ForwardProxy(credentials).start();
  proxies.push(started);
  return started;
}
function newClient(options?: ConstructorParameters<typeof AsyncHTTPClient>[0]): AsyncHTTPClient {
  const client = new AsyncHTTPClient(options);
  clients.push(client);
  return client;
}

describe("AsyncHTTPClient through an HTTP proxy: http:// URLs", () => {
  let target: http.Server;
  let base: string;
  beforeAll(async () => {
    target = http.createServer(echo);
    await new Promise<void>((resolve) => target.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(target.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    target.closeAllConnections();
    await new Promise((resolve) => target.close(resolve));
  });

  it("sends absolute-form requests to the proxy with Proxy-Authorization, which the server never sees", async () => {
    const p = await proxy("ann:s3cret");
    const client = newClient();
    const response = await client.fetch(`${base}/items?x=1`, { method: "POST", body: "name=x", proxyHost: "127.0.0.1", proxyPort: p.port, proxyUsername: "ann", proxyPassword: "s3cret" });
    expect(response.code).toBe(200);
    expect(response.headers.get("Via")).toBe("1.1 test-proxy");
    expect(response.json()).toEqual({ method: "POST", url: "/items?x=1", host: base.slice(7), proxyAuthorization: null, body: "name=x" });
    expect(p.seen).toEqual([{ method: "POST", target: `${base}/items?x=1`, auth: "Basic " + Buffer.from("ann:s3cret").toString("base64") }]);
  });

  it("goes through the proxy for every request when the client's defaults say so", async () => {
    const p = await proxy();
    const client = newClient({ defaults: { proxyHost: "127.0.0.1", proxyPort: p.port } });
    for (const path of ["/a", "/b"]) expect((await client.fetch(base + path)).json()).toMatchObject({ url: path, proxyAuthorization: null });
    expect(p.seen.map((s) => [s.method, s.target, s.auth])).toEqual([
      ["GET", `${base}/a`, undefined],
      ["GET", `${base}/b`, undefined],
    ]);
  });

  it("surfaces the proxy's 407 as an HTTPClientError 407 (or the response with raiseError: false)", async () => {
    const p = await proxy("ann:s3cret");
    const client = newClient();
    const options = { proxyHost: "127.0.0.1", proxyPort: p.port, proxyUsername: "ann", proxyPassword: "wrong" };
    const error = await client.fetch(`${base}/`, options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HTTPClientError);
    expect(error).toMatchObject({ code: 407, message: "HTTP 407: Proxy Authentication Required" });
    const response = await client.fetch(`${base}/`, { ...options, raiseError: false });
    expect([response.code, response.headers.get("Proxy-Authenticate"), response.body.toString()]).toEqual([407, 'Basic realm="test"', "proxy says no"]);
    expect(p.seen).toHaveLength(2);
  });

  it("works from the blocking HTTPClient too (in a child process: it blocks its thread)", async () => {
    const p = await proxy("ann:s3cret");
    const script = [
      `import { HTTPClient } from ${JSON.stringify(new URL("../../runtime/index.ts", import.meta.url).pathname)};`,
      "const client = new HTTPClient();",
      "try { console.log(client.fetch(process.argv[1], JSON.parse(process.argv[2])).body.toString()); } finally { client.close(); }",
    ].join("\n");
    const options = { proxyHost: "127.0.0.1", proxyPort: p.port, proxyUsername: "ann", proxyPassword: "s3cret" };
    const { stdout } = await run(process.execPath, ["--import", import.meta.resolve("tsx"), "--input-type=module", "-e", script, `${base}/blocking`, JSON.stringify(options)]);
    expect(JSON.parse(stdout)).toMatchObject({ url: "/blocking", proxyAuthorization: null });
    expect(p.seen).toEqual([{ method: "GET", target: `${base}/blocking`, auth: "Basic " + Buffer.from("ann:s3cret").toString("base64") }]);
  });

  it("fails with 599 when the proxy is down, and refuses proxy options it cannot use", async () => {
    const p = await proxy();
    const port = p.port;
    await p.stop();
    proxies.length = 0;
    const client = newClient();
    expect(await client.fetch(`${base}/`, { proxyHost: "127.0.0.1", proxyPort: port }).catch((e: unknown) => e)).toMatchObject({
      code: 599,
      message: expect.stringMatching(/ECONNREFUSED/),
    });
    await expect(client.fetch(`${base}/`, { proxyHost: "127.0.0.1", proxyPort: 3128, proxyAuthMode: "digest" as "basic" })).rejects.toThrow(
      'Unsupported proxyAuthMode "digest": only "basic" is supported',
    );
    await expect(client.fetch(`${base}/`, { proxyPort: 3128 })).rejects.toThrow("proxyPort and proxyUsername need proxyHost");
    await expect(client.fetch(`${base}/`, { proxyHost: "127.0.0.1", proxyPort: 70000 })).rejects.toThrow("proxyPort must be a port number");
  });
});

describe.skipIf(!opensslAvailable())("AsyncHTTPClient through an HTTP proxy: https:// URLs (CONNECT)", () => {
  let pki: Pki;
  let target: https.Server;
  let base: string;
  beforeAll(async () => {
    pki = makePki();
    target = https.createServer({ key: pki.read("server.key"), cert: pki.read("server.crt"), ca: pki.read("ca.crt"), requestCert: true, rejectUnauthorized: false }, (req, res) => {
      res.setHeader("X-Client-Cert", (req.socket as import("node:tls").TLSSocket).getPeerCertificate().subject?.CN ?? "none");
      echo(req, res);
    });
    await new Promise<void>((resolve) => target.listen(0, "127.0.0.1", resolve));
    base = `https://localhost:${(target.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    target.closeAllConnections();
    await new Promise((resolve) => target.close(resolve));
    pki.remove();
  });

  it("tunnels with CONNECT, credentials to the proxy only, TLS (and a client certificate) end to end", async () => {
    const p = await proxy("ann:s3cret");
    const client = newClient(); // the proxy, not the client, resolves "localhost"
    const options = { caCerts: pki.path("ca.crt"), clientCert: pki.path("client.crt"), clientKey: pki.path("client.key"), proxyHost: "127.0.0.1", proxyPort: p.port, proxyUsername: "ann", proxyPassword: "s3cret" };
    const response = await client.fetch(`${base}/secure?q=1`, { ...options, method: "PUT", body: "data" });
    expect(response.json()).toEqual({ method: "PUT", url: "/secure?q=1", host: base.slice(8), proxyAuthorization: null, body: "data" });
    expect(response.headers.get("X-Client-Cert")).toBe("test-client");
    expect(p.seen).toEqual([{ method: "CONNECT", target: base.slice(8), auth: "Basic " + Buffer.from("ann:s3cret").toString("base64") }]);
    // The proxy relayed bytes it could not read: the TLS handshake and records, not our text.
    expect(p.tunnelledBytes).toBeGreaterThan(1000);
    const second = await client.fetch(`${base}/again`, options);
    expect(second.json()).toMatchObject({ url: "/again" });
    expect(p.seen.map((s) => s.method)).toEqual(["CONNECT", "CONNECT"]);
  });

  it("checks the server's certificate through the tunnel", async () => {
    const p = await proxy();
    const client = newClient(); // the proxy, not the client, resolves "localhost"
    const error = await client.fetch(`${base}/`, { proxyHost: "127.0.0.1", proxyPort: p.port }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 599, message: expect.stringMatching(/certificate/) });
    expect(p.seen.map((s) => s.method)).toEqual(["CONNECT"]);
  });

  it("says clearly when the proxy refuses the tunnel with 407", async () => {
    const p = await proxy("ann:s3cret");
    const client = newClient(); // the proxy, not the client, resolves "localhost"
    const proxyAddress = `127.0.0.1:${p.port}`;
    const without = await client.fetch(`${base}/`, { caCerts: pki.path("ca.crt"), proxyHost: "127.0.0.1", proxyPort: p.port }).catch((e: unknown) => e);
    expect(without).toBeInstanceOf(HTTPClientError);
    expect(without).toMatchObject({
      code: 407,
      message: `HTTP 407: Proxy Authentication Required (the proxy ${proxyAddress} refused to tunnel to ${base.slice(8)}: set proxyUsername and proxyPassword)`,
    });
    const wrong = await client.fetch(`${base}/`, { caCerts: pki.path("ca.crt"), proxyHost: "127.0.0.1", proxyPort: p.port, proxyUsername: "ann", proxyPassword: "nope" }).catch((e: unknown) => e);
    expect(wrong).toMatchObject({ code: 407, message: expect.stringContaining("check proxyUsername and proxyPassword") });
    // The client still works afterwards.
    const ok = await client.fetch(`${base}/fine`, { caCerts: pki.path("ca.crt"), proxyHost: "127.0.0.1", proxyPort: p.port, proxyUsername: "ann", proxyPassword: "s3cret" });
    expect(ok.json()).toMatchObject({ url: "/fine" });
  });

  it("times out a tunnel that never opens with the connect timeout", async () => {
    // A "proxy" that takes the CONNECT and never answers; it sees the client give up.
    const silent = http.createServer();
    let clientLeft!: () => void;
    const left = new Promise<void>((resolve) => (clientLeft = resolve));
    silent.on("connect", (_req: IncomingMessage, socket: Socket) => {
      socket.resume();
      socket.once("end", () => {
        socket.destroy();
        clientLeft();
      });
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const client = newClient(); // the proxy, not the client, resolves "localhost"
      const error = await client
        .fetch(`${base}/`, { proxyHost: "127.0.0.1", proxyPort: (silent.address() as { port: number }).port, connectTimeout: 300 })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 599, message: "Timeout while connecting" });
      await left;
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

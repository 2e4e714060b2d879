import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { connect, createServer, type Server as NetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Application, HTTPServer, RequestHandler } from "../../runtime/index.js";
import { reusePortUnsupported } from "../../runtime/httpserver/listen.js";
import { leaveStaleSocket } from "../helpers/stale-socket.js";

const servers: HTTPServer[] = [];
const netServers: NetServer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close({ timeout: 2000 })));
  await Promise.all(netServers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function app(name: string): Application {
  class WhoHandler extends RequestHandler {
    get() {
      this.write(name);
    }
  }
  return new Application([["/who", WhoHandler]]);
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "tornado-listen-"));
  dirs.push(dir);
  return dir;
}

/** GET `path` on a fresh connection (no keep-alive), over TCP or a Unix socket. */
function get(target: { port: number } | { socketPath: string }, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ ...target, host: "127.0.0.1", path, agent: false, headers: { Connection: "close", ...headers } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("HTTPServer.listen(port, host, { reusePort })", () => {
  const unsupported = reusePortUnsupported();

  it(`lets two servers share a port, the kernel spreading connections (${unsupported ?? `Node ${process.versions.node}`})`, async () => {
    const first = new HTTPServer(app("first"));
    servers.push(first);
    if (unsupported !== null) {
      // This Node line would ignore the option: a clear refusal instead of a baffling "in use".
      await expect(first.listen(0, "127.0.0.1", { reusePort: true })).rejects.toMatchObject({
        code: "ERR_REUSE_PORT_UNSUPPORTED",
        message: expect.stringMatching(/^reusePort needs Node 22\.12 or later \(this is Node \d+\.\d+\.\d+\): listen without it/),
      });
      return;
    }
    await first.listen(0, "127.0.0.1", { reusePort: true });
    const second = await app("second").listen(first.port, "127.0.0.1", { reusePort: true });
    servers.push(second);
    expect(second.port).toBe(first.port);
    const answers = new Set<string>();
    for (let i = 0; i < 40 && answers.size < 2; i++) answers.add((await get({ port: first.port }, "/who")).body);
    // Each new connection goes to either; 40 all to one would be 1 in 2^39.
    expect([...answers].sort()).toEqual(["first", "second"]);
  });

  it("still refuses a port taken by a server that did not ask for reusePort", async () => {
    const plain = new HTTPServer(app("plain"));
    servers.push(plain);
    await plain.listen(0, "127.0.0.1");
    const other = new HTTPServer(app("other"));
    servers.push(other);
    const error = await other.listen(plain.port, "127.0.0.1", { reusePort: true }).catch((e: unknown) => e);
    expect(error).toMatchObject(
      unsupported === null
        ? { code: "EADDRINUSE", message: `Port ${plain.port} is already in use on 127.0.0.1: stop the other server or choose another port` }
        : { code: "ERR_REUSE_PORT_UNSUPPORTED" },
    );
    expect((await get({ port: plain.port }, "/who")).body).toBe("plain");
  });

  it("knows which Node lines have the option", () => {
    expect(reusePortUnsupported("20.19.1")).toBe("reusePort needs Node 22.12 or later (this is Node 20.19.1)");
    expect(reusePortUnsupported("22.11.0")).toBe("reusePort needs Node 22.12 or later (this is Node 22.11.0)");
    expect(reusePortUnsupported("22.12.0")).toBeNull();
    expect(reusePortUnsupported("23.1.0")).toBeNull();
    expect(reusePortUnsupported("24.0.0")).toBeNull();
    expect(reusePortUnsupported("26.12.1")).toBeNull();
  });
});

describe("HTTPServer.listenUnix(path, { mode })", () => {
  it("serves on a Unix socket only its owner may use, and close() removes the file", async () => {
    const path = join(tempDir(), "http.sock");
    const server = await new HTTPServer(app("unix")).listenUnix(path);
    servers.push(server);
    expect(statSync(path).isSocket()).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(await get({ socketPath: path }, "/who")).toEqual({ status: 200, body: "unix" });
    await server.close();
    expect(existsSync(path)).toBe(false);
  });

  it("gives a request over it the remote address 0.0.0.0, as Tornado, or the proxy's X-Real-Ip with xheaders", async () => {
    class IpHandler extends RequestHandler {
      get() {
        this.write(this.request.remoteIp);
      }
    }
    const dir = tempDir();
    const direct = join(dir, "direct.sock");
    const proxied = join(dir, "proxied.sock");
    servers.push(await new HTTPServer(new Application([["/ip", IpHandler]])).listenUnix(direct));
    servers.push(await new HTTPServer(new Application([["/ip", IpHandler]]), { xheaders: true }).listenUnix(proxied));
    expect((await get({ socketPath: direct }, "/ip")).body).toBe("0.0.0.0");
    expect((await get({ socketPath: proxied }, "/ip", { "X-Real-Ip": "203.0.113.7" })).body).toBe("203.0.113.7");
  });

  it("gives the socket the mode asked for", async () => {
    const path = join(tempDir(), "group.sock");
    servers.push(await new HTTPServer(app("group")).listenUnix(path, { mode: 0o660 }));
    expect(statSync(path).mode & 0o777).toBe(0o660);
  });

  it("removes a socket file a dead server left behind", async () => {
    const path = join(tempDir(), "stale.sock");
    // A process that listens and is killed leaves its socket file, with nobody behind it.
    await leaveStaleSocket(path);
    expect(statSync(path).isSocket()).toBe(true);

    servers.push(await new HTTPServer(app("fresh")).listenUnix(path));
    expect((await get({ socketPath: path }, "/who")).body).toBe("fresh");
  });

  it("refuses a path a live server answers on, and leaves that server serving", async () => {
    const path = join(tempDir(), "live.sock");
    // Answers once spoken to, as an HTTP server does.
    const live = createServer((socket) => socket.once("data", () => socket.end("still here")));
    netServers.push(live);
    await new Promise<void>((resolve) => live.listen(path, resolve));
    await expect(new HTTPServer(app("late")).listenUnix(path)).rejects.toMatchObject({
      code: "EADDRINUSE",
      message: `${path} is in use by another server: stop it or choose another path`,
    });
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(path);
      let text = "";
      socket.on("data", (chunk) => (text += chunk));
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
      socket.write("ping");
    });
    expect(reply).toBe("still here");
  });

  it("refuses a path that is not a socket, and leaves the file alone", async () => {
    const path = join(tempDir(), "notes.txt");
    writeFileSync(path, "keep me");
    await expect(new HTTPServer(app("x")).listenUnix(path)).rejects.toMatchObject({
      code: "ERR_NOT_A_SOCKET",
      message: `${path} exists and is not a socket: remove it or choose another path`,
    });
    expect(readFileSync(path, "utf8")).toBe("keep me");
    const folder = tempDir();
    await expect(new HTTPServer(app("x")).listenUnix(folder)).rejects.toMatchObject({ code: "ERR_NOT_A_SOCKET" });
  });
});

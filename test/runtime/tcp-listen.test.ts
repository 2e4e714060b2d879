import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { IOStream, TCPServer, expectLog } from "../../runtime/index.js";
import { reusePortUnsupported } from "../../runtime/httpserver/listen.js";
import { leaveStaleSocket } from "../helpers/stale-socket.js";

const servers: TCPServer[] = [];
const sockets: Socket[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await expectLog("tornado.general", "still open after 0ms", () => Promise.all(servers.splice(0).map((s) => s.close({ timeout: 0 }))), {
    required: false,
  });
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Answers each connection with its name and the address it was given, then closes. */
class NameServer extends TCPServer {
  constructor(readonly name: string) {
    super();
    servers.push(this);
  }
  override async handleStream(stream: IOStream, address: AddressInfo) {
    await stream.write(`${this.name} ${JSON.stringify(address.address)}\n`);
    stream.close();
  }
}

function ask(target: { port: number; host: string } | string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = typeof target === "string" ? connect(target) : connect(target.port, target.host);
    sockets.push(socket);
    let text = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => (text += chunk));
    socket.on("end", () => resolve(text));
    socket.on("error", reject);
  });
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "tcp-listen-"));
  dirs.push(dir);
  return dir;
}

describe("TCPServer.listen(port, host, { reusePort })", () => {
  const unsupported = reusePortUnsupported();

  it(`lets two servers share a port, the kernel spreading connections (${unsupported ?? `Node ${process.versions.node}`})`, async () => {
    const first = new NameServer("first");
    if (unsupported !== null) {
      await expect(first.listen(0, "127.0.0.1", { reusePort: true })).rejects.toMatchObject({
        code: "ERR_REUSE_PORT_UNSUPPORTED",
        message: expect.stringMatching(/^reusePort needs Node 22\.12 or later/),
      });
      return;
    }
    const port = await first.listen(0, "127.0.0.1", { reusePort: true });
    const second = await new NameServer("second").listen(port, "127.0.0.1", { reusePort: true });
    expect(second).toBe(port);
    const seen = new Set<string>();
    for (let i = 0; i < 60 && seen.size < 2; i++) seen.add((await ask({ port, host: "127.0.0.1" })).split(" ")[0]!);
    expect([...seen].sort()).toEqual(["first", "second"]);
  });

  it("still refuses a port taken without reusePort, with a message saying so", async () => {
    const plain = await new NameServer("plain").listen(0, "127.0.0.1");
    const error = await new NameServer("other").listen(plain, "127.0.0.1", { reusePort: unsupported === null }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "EADDRINUSE", message: `Port ${plain} is already in use on 127.0.0.1: stop the other server or choose another port` });
    expect(await ask({ port: plain, host: "127.0.0.1" })).toBe('plain "127.0.0.1"\n');
  });
});

describe("TCPServer.listenUnix(path, { mode })", () => {
  it("serves on a Unix socket only its owner may use, with an empty client address, and close() removes the file", async () => {
    const path = join(tempDir(), "echo.sock");
    const server = new NameServer("unix");
    await server.listenUnix(path);
    expect(statSync(path).isSocket()).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(await ask(path)).toBe('unix ""\n');
    expect(await ask(path)).toBe('unix ""\n');
    await server.close();
    expect(existsSync(path)).toBe(false);
  });

  it("gives the socket the mode asked for", async () => {
    const path = join(tempDir(), "group.sock");
    await new NameServer("group").listenUnix(path, { mode: 0o660 });
    expect(statSync(path).mode & 0o777).toBe(0o660);
  });

  it("listens on a port and a Unix socket at once", async () => {
    const path = join(tempDir(), "both.sock");
    const server = new NameServer("both");
    const port = await server.listen(0, "127.0.0.1");
    await server.listenUnix(path);
    expect(await ask(path)).toBe('both ""\n');
    expect(await ask({ port, host: "127.0.0.1" })).toBe('both "127.0.0.1"\n');
  });

  it("removes a socket file a dead server left behind", async () => {
    const path = join(tempDir(), "stale.sock");
    // A process that listens and is killed leaves its socket file, with nobody behind it.
    await leaveStaleSocket(path);
    expect(statSync(path).isSocket()).toBe(true);
    await new NameServer("fresh").listenUnix(path);
    expect(await ask(path)).toBe('fresh ""\n');
  });

  it("refuses a path a live server answers on, and that server keeps serving", async () => {
    const path = join(tempDir(), "live.sock");
    await new NameServer("live").listenUnix(path);
    await expect(new NameServer("late").listenUnix(path)).rejects.toMatchObject({
      code: "EADDRINUSE",
      message: `${path} is in use by another server: stop it or choose another path`,
    });
    expect(await ask(path)).toBe('live ""\n');
  });

  it("refuses a path that is not a socket, and leaves the file alone", async () => {
    const path = join(tempDir(), "notes.txt");
    writeFileSync(path, "keep me");
    await expect(new NameServer("no").listenUnix(path)).rejects.toMatchObject({
      code: "ERR_NOT_A_SOCKET",
      message: `${path} exists and is not a socket: remove it or choose another path`,
    });
    expect(statSync(path).isFile()).toBe(true);
  });
});

import { execFile, execFileSync, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  ConnectTimeoutError,
  IOStream,
  StreamClosedError,
  TCPClient,
  TCPServer,
  bindUnusedPort,
  expectLog,
  interceptLogs,
  type LogRecord,
  type TCPServerOptions,
} from "../../runtime/index.js";
import { deferred } from "../helpers/deferred.js";

// ---------------------------------------------------------------------------------------------
// Harness: servers and client streams a test opens are closed in afterEach.

const servers: TCPServer[] = [];
const streams: IOStream[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const stream of streams.splice(0)) stream.close();
  // Cutting whatever a test left open is the point here: keep the warning saying so off the output.
  await expectLog("tornado.general", "still open after 0ms", () => Promise.all(servers.splice(0).map((server) => server.close({ timeout: 0 }))), {
    required: false,
  });
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** Echoes each line back until the client leaves. */
class EchoServer extends TCPServer {
  override async handleStream(stream: IOStream) {
    for (;;) await stream.write(await stream.readUntil("\n", { maxBytes: 64 * 1024 }));
  }
}

async function start<T extends TCPServer>(server: T): Promise<{ server: T; port: number }> {
  servers.push(server);
  return { server, port: await server.listen(0, "127.0.0.1") };
}

async function dial(port: number, options?: Parameters<TCPClient["connect"]>[2], host = "127.0.0.1"): Promise<IOStream> {
  const stream = await new TCPClient().connect(host, port, options);
  streams.push(stream);
  return stream;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (e: unknown) => e,
  );
}

/** A port nothing listens on (bound, then released). */
async function refusingPort(): Promise<number> {
  const { port, socket } = await bindUnusedPort();
  await new Promise((resolve) => socket.close(resolve));
  return port;
}

/**
 * A port whose listener accepts nothing: it listens with a backlog of 1 in a worker thread whose
 * event loop is then blocked, and the accept queue is filled, so that the kernel drops further
 * connection attempts (SYNs) and they hang, as with a host that does not answer.
 */
async function unresponsivePort(): Promise<number> {
  const lock = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const { parentPort, workerData } = require("node:worker_threads");
     const server = require("node:net").createServer();
     server.listen(0, "127.0.0.1", 1, () => {
       parentPort.postMessage(server.address().port);
       Atomics.wait(workerData, 0, 0); // accept nothing until the test is done
     });`,
    { eval: true, workerData: lock },
  );
  const [port] = (await once(worker, "message")) as [number];
  const fillers: Socket[] = [];
  cleanups.push(async () => {
    for (const socket of fillers) socket.destroy();
    Atomics.store(lock, 0, 1);
    Atomics.notify(lock, 0);
    await worker.terminate();
  });
  for (let i = 0; i < 64; i++) {
    const socket = connect(port, "127.0.0.1").on("error", () => {});
    fillers.push(socket);
    const timer = new Promise<boolean>((resolve) => setTimeout(resolve, 1000, false));
    if (!(await Promise.race([once(socket, "connect").then(() => true), timer]))) return port;
  }
  throw new Error("the accept queue never filled up");
}

// ---------------------------------------------------------------------------------------------

describe("TCPServer.handleStream(stream, address)", () => {
  it("serves an echo server to many clients at once, each getting its own lines back", async () => {
    const { port } = await start(new EchoServer());
    const clients = await Promise.all(Array.from({ length: 50 }, () => dial(port)));
    // Every client writes all its lines before any reads, so the server interleaves them.
    await Promise.all(clients.map((c, i) => Promise.all([1, 2, 3].map((n) => c.write(`client ${i} line ${n}\n`)))));
    const echoed = await Promise.all(
      clients.map(async (c) => [String(await c.readUntil("\n")), String(await c.readUntil("\n")), String(await c.readUntil("\n"))]),
    );
    echoed.forEach((lines, i) => expect(lines).toEqual([1, 2, 3].map((n) => `client ${i} line ${n}\n`)));
  });

  it("is given the client's address and port", async () => {
    const seen = deferred<AddressInfo>();
    class AddressServer extends TCPServer {
      override handleStream(stream: IOStream, address: AddressInfo) {
        seen.resolve(address);
        stream.close();
      }
    }
    const { port } = await start(new AddressServer());
    const client = await dial(port);
    expect(await seen.promise).toEqual({ address: "127.0.0.1", port: client.socket.localPort, family: "IPv4" });
  });

  it("logs an error the handler throws on tornado.application and closes the connection", async () => {
    class Failing extends TCPServer {
      override handleStream() {
        throw new Error("sync boom");
      }
    }
    const { port } = await start(new Failing());
    await expectLog("tornado.application", "Error in connection callback", async () => {
      const client = await dial(port);
      expect((await client.readUntilClose()).length).toBe(0);
    });
  });

  it("logs an async handler's rejection and closes the connection", async () => {
    class Failing extends TCPServer {
      override async handleStream(stream: IOStream) {
        await stream.readUntil("\n");
        throw new Error("async boom");
      }
    }
    const { port } = await start(new Failing());
    await expectLog("tornado.application", "Error in connection callback", async () => {
      const client = await dial(port);
      await client.write("go\n");
      await client.readUntilClose();
    });
  });

  it("does not log a StreamClosedError (the client left)", async () => {
    const ended = deferred<unknown>();
    class Reader extends TCPServer {
      override async handleStream(stream: IOStream) {
        try {
          await stream.readUntil("\n");
        } catch (e) {
          ended.resolve(e);
          throw e;
        }
      }
    }
    const { port } = await start(new Reader());
    const records: LogRecord[] = [];
    const stop = interceptLogs((record) => record.logger === "tornado.application" && records.push(record) > 0);
    try {
      (await dial(port)).close();
      expect(await ended.promise).toBeInstanceOf(StreamClosedError);
      await new Promise((resolve) => setImmediate(resolve));
      expect(records).toEqual([]);
    } finally {
      stop();
    }
  });

  it("logs that handleStream was not overridden", async () => {
    const { port } = await start(new TCPServer());
    await expectLog("tornado.application", "Error in connection callback", async () => {
      await (await dial(port)).readUntilClose();
    });
  });
});

describe("TCPServer.listen(port, host), addSocket, stop()", () => {
  it("resolves with the ephemeral port bound for port 0", async () => {
    const { port } = await start(new EchoServer());
    expect(port).toBeGreaterThan(0);
    const client = await dial(port);
    await client.write("ping\n");
    expect(String(await client.readUntil("\n"))).toBe("ping\n");
  });

  it("rejects with a message saying the port is in use", async () => {
    const { port } = await start(new EchoServer());
    const second = new EchoServer();
    servers.push(second);
    const error = await rejection(second.listen(port, "127.0.0.1"));
    expect((error as Error).message).toMatch(`Port ${port} is already in use on 127.0.0.1`);
  });

  it("serves on a socket already listening (addSocket)", async () => {
    const { port, socket } = await bindUnusedPort();
    const server = new EchoServer();
    servers.push(server);
    expect(await server.addSockets([socket])).toEqual([port]);
    const client = await dial(port);
    await client.write("via addSocket\n");
    expect(String(await client.readUntil("\n"))).toBe("via addSocket\n");
  });

  it("stop() refuses new connections and lets open ones carry on", async () => {
    const { server, port } = await start(new EchoServer());
    const client = await dial(port);
    server.stop();
    const error = await rejection(dial(port));
    expect(error).toBeInstanceOf(StreamClosedError);
    await client.write("still here\n");
    expect(String(await client.readUntil("\n"))).toBe("still here\n");
  });
});

describe("TCPServer.close({ timeout })", () => {
  it("waits for a connection to end by itself within the timeout", async () => {
    const started = deferred();
    const release = deferred();
    class Slow extends TCPServer {
      override async handleStream(stream: IOStream) {
        started.resolve();
        await release.promise;
        await stream.write("done\n");
        stream.close();
      }
    }
    const { server, port } = await start(new Slow());
    const client = await dial(port);
    await started.promise;
    let closed = false;
    const closing = server.close({ timeout: 10_000 }).then(() => (closed = true));
    expect(server.closing).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closed).toBe(false);
    release.resolve();
    expect(String(await client.readUntilClose())).toBe("done\n");
    await closing;
  });

  it("closes connections still open after the timeout, with a warning", async () => {
    const handlerEnded = deferred<unknown>();
    class Idle extends TCPServer {
      override async handleStream(stream: IOStream) {
        await stream.readUntil("\n").catch((e: unknown) => handlerEnded.resolve(e));
      }
    }
    const { server, port } = await start(new Idle());
    const client = await dial(port);
    await client.write("no newline yet");
    await expectLog("tornado.general", "Closing 1 TCP connection(s) still open after 100ms", () => server.close({ timeout: 100 }));
    expect(await handlerEnded.promise).toBeInstanceOf(StreamClosedError);
    expect((await client.readUntilClose()).length).toBe(0);
  });

  it("resolves at once when no connection is open", async () => {
    const { server } = await start(new EchoServer());
    await server.close({ timeout: 60_000 });
  });
});

describe("TCPClient.connect(host, port, options)", () => {
  it("rejects a refused connection with StreamClosedError whose realError is ECONNREFUSED", async () => {
    const port = await refusingPort();
    const error = await rejection(new TCPClient().connect("127.0.0.1", port));
    expect(error).toBeInstanceOf(StreamClosedError);
    expect(((error as StreamClosedError).realError as NodeJS.ErrnoException).code).toBe("ECONNREFUSED");
  });

  it("rejects with ConnectTimeoutError (code ERR_TIMEOUT) when the peer does not answer within timeout", async () => {
    const port = await unresponsivePort();
    const startedAt = Date.now();
    const error = await rejection(new TCPClient().connect("127.0.0.1", port, { timeout: 200 }));
    expect(error).toBeInstanceOf(ConnectTimeoutError);
    expect((error as ConnectTimeoutError).code).toBe("ERR_TIMEOUT");
    expect((error as Error).message).toBe(`Timed out connecting to 127.0.0.1:${port} after 200ms`);
    // Failing fast: well before the kernel's own connect timeout (minutes).
    expect(Date.now() - startedAt).toBeLessThan(10_000);
  });

  it("rejects with the lookup error for a host that does not resolve", async () => {
    const error = await rejection(new TCPClient().connect("no-such-host.invalid", 80, { timeout: 10_000 }));
    expect(["ENOTFOUND", "EAI_AGAIN"]).toContain((error as NodeJS.ErrnoException).code);
  });

  it("connects by host name, and from sourceIp and sourcePort", async () => {
    const seen = deferred<AddressInfo>();
    class AddressServer extends TCPServer {
      override handleStream(stream: IOStream, address: AddressInfo) {
        seen.resolve(address);
        stream.close();
      }
    }
    const { port } = await start(new AddressServer());
    const sourcePort = await refusingPort();
    await dial(port, { sourceIp: "127.0.0.1", sourcePort }, "localhost");
    expect(await seen.promise).toMatchObject({ address: "127.0.0.1", port: sourcePort });
  });

  it("passes maxBufferSize to the stream", async () => {
    const { port } = await start(new EchoServer());
    const client = await dial(port, { maxBufferSize: 1234 });
    expect(client.maxBufferSize).toBe(1234);
  });
});

const opensslAvailable = spawnSync("openssl", ["version"]).status === 0;
if (!opensslAvailable && !process.env.CI) {
  console.warn("Skipping the TLS tests of tcp.test.ts: the openssl CLI was not found on PATH");
}

// Without openssl these are skipped locally, but fail on CI (beforeAll cannot make the cert).
describe.skipIf(!opensslAvailable && !process.env.CI)("TCPServer and TCPClient over TLS (ssl)", () => {
  let dir: string;
  let ssl: TCPServerOptions["ssl"];
  let cert: Buffer;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "tornado-tls-"));
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "k.pem", "-out", "c.pem", "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
      { cwd: dir, stdio: "pipe" },
    );
    cert = readFileSync(join(dir, "c.pem"));
    ssl = { key: readFileSync(join(dir, "k.pem")), cert };
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("echoes over TLS, the client checking the server's certificate", async () => {
    const { port } = await start(new EchoServer({ ssl }));
    const client = await dial(port, { ssl: { ca: cert }, timeout: 10_000 }, "localhost");
    expect(client.socket.constructor.name).toBe("TLSSocket");
    await client.write("secret\n");
    expect(String(await client.readUntil("\n"))).toBe("secret\n");
  });

  it("rejects with the TLS error itself when the certificate is not trusted", async () => {
    const { port } = await start(new EchoServer({ ssl }));
    const error = await expectLog("tornado.general", "TLS handshake error", () => rejection(dial(port, { ssl: true }, "localhost")), {
      required: false,
    });
    expect(error).not.toBeInstanceOf(StreamClosedError);
    expect((error as NodeJS.ErrnoException).code).toBe("DEPTH_ZERO_SELF_SIGNED_CERT");
  });

  it("refuses a bad key or certificate when the server is made", () => {
    expect(() => new TCPServer({ ssl: { key: "not a key", cert: "not a cert" } })).toThrow();
  });
});

describe("README: the TCP streams example", () => {
  it("runs, and the client reads its line back", async () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("### TCP streams"));
    const code = /```ts\n([\s\S]*?)```/.exec(section)![1]!;
    const runtime = fileURLToPath(new URL("../../runtime/", import.meta.url));
    // The example imports the package as an app does; here "tornado/x" is runtime/x.ts.
    const source = code.replace(/from "tornado\/(\w+)"/g, (_, module: string) => `from "${pathToFileURL(join(runtime, `${module}.ts`)).href}"`);
    const dir = mkdtempSync(join(tmpdir(), "tornado-readme-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "echo.mts"), source);
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ["--import", import.meta.resolve("tsx"), join(dir, "echo.mts")],
        { env: { ...process.env, PORT: "0" }, timeout: 15_000 },
        (error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out)),
      );
    });
    expect(stdout).toBe("hello\n\n");
  });
});

import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  IOStream,
  StreamBufferFullError,
  StreamClosedError,
  UnsatisfiableReadError,
  expectLog,
  interceptLogs,
  type IOStreamOptions,
  type LogRecord,
} from "../../runtime/index.js";
import { deferred } from "../helpers/deferred.js";

// ---------------------------------------------------------------------------------------------
// Harness: a real TCP connection on an ephemeral port of 127.0.0.1. The stream under test wraps
// the accepting side; the test drives the other side as a raw socket (`peer`). Everything opened
// is destroyed in afterEach.

const MiB = 1024 * 1024;
const opened: { servers: Server[]; sockets: Socket[] } = { servers: [], sockets: [] };

afterEach(() => {
  for (const socket of opened.sockets.splice(0)) socket.destroy();
  for (const server of opened.servers.splice(0)) server.close();
});

async function socketPair(): Promise<{ accepted: Socket; peer: Socket }> {
  const server = createServer();
  opened.servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as { port: number }).port;
  const peer = connect(port, "127.0.0.1");
  const [accepted] = (await once(server, "connection")) as [Socket];
  await once(peer, "connect");
  opened.sockets.push(peer, accepted);
  peer.setNoDelay(true);
  return { accepted, peer };
}

/** The stream under test on one end, a raw socket on the other. */
async function streamAndPeer(options?: IOStreamOptions): Promise<{ stream: IOStream; peer: Socket }> {
  const { accepted, peer } = await socketPair();
  return { stream: new IOStream(accepted, options), peer };
}

/** Two streams connected to each other. */
async function streamPair(options?: IOStreamOptions): Promise<{ a: IOStream; b: IOStream }> {
  const { accepted, peer } = await socketPair();
  return { a: new IOStream(accepted, options), b: new IOStream(peer, options) };
}

/** Sends `data` one byte per packet: each byte is written once the previous one has arrived. */
async function trickle(peer: Socket, stream: IOStream, data: string | Buffer): Promise<void> {
  for (const byte of Buffer.from(data)) {
    const arrived = once(stream.socket, "data");
    peer.write(Buffer.of(byte));
    await arrived;
  }
}

/** Settles after `ms`; used only to give something the chance to happen, never to wait for it. */
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Records every log line of `logger` at `level` while the test runs. */
function recordLogs(logger: string): { records: LogRecord[]; stop(): void } {
  const records: LogRecord[] = [];
  const stop = interceptLogs((record) => {
    if (record.logger !== logger) return false;
    records.push(record);
    return true;
  });
  return { records, stop };
}

async function closedError(promise: Promise<unknown>): Promise<StreamClosedError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StreamClosedError);
  return error as StreamClosedError;
}

// ---------------------------------------------------------------------------------------------

describe("IOStream.readUntil(delimiter, { maxBytes })", () => {
  it("resolves with the bytes up to and including the delimiter, keeping the rest for the next read", async () => {
    const { stream, peer } = await streamAndPeer();
    peer.write("one\ntwo\nthree");
    expect(String(await stream.readUntil("\n"))).toBe("one\n");
    expect(String(await stream.readUntil(Buffer.from("\n")))).toBe("two\n");
    expect(String(await stream.readBytes(5))).toBe("three");
  });

  it("finds a delimiter split across packets sent one byte at a time", async () => {
    const { stream, peer } = await streamAndPeer();
    const line = stream.readUntil("\r\n\r\n");
    await trickle(peer, stream, "GET / HTTP/1.0\r\n\r\nafter");
    expect(String(await line)).toBe("GET / HTTP/1.0\r\n\r\n");
    expect(String(await stream.readBytes(5))).toBe("after");
  });

  it("encodes a string delimiter as UTF-8", async () => {
    const { stream, peer } = await streamAndPeer();
    const read = stream.readUntil("→");
    await trickle(peer, stream, "a→b");
    expect((await read).toString("utf8")).toBe("a→");
  });

  it("resolves when the delimiter ends exactly at maxBytes", async () => {
    const { stream, peer } = await streamAndPeer();
    peer.write("abcdef");
    expect(String(await stream.readUntil("def", { maxBytes: 6 }))).toBe("abcdef");
  });

  it("closes the stream when no delimiter ends within maxBytes: the read rejects with StreamClosedError, realError UnsatisfiableReadError", async () => {
    const { stream, peer } = await streamAndPeer();
    const closed = deferred();
    stream.setCloseCallback(closed.resolve);
    const error = await expectLog(
      "tornado.general",
      /Unsatisfiable read, closing connection: delimiter "def" not found within 5 bytes/,
      async () => {
        const read = stream.readUntil("def", { maxBytes: 5 });
        await trickle(peer, stream, "123456");
        return closedError(read);
      },
      { level: "info" },
    );
    expect(error.realError).toBeInstanceOf(UnsatisfiableReadError);
    expect(stream.error).toBe(error.realError);
    expect(stream.closed).toBe(true);
    await closed.promise;
  });

  it("refuses a delimiter that arrives in the same packet but ends past maxBytes", async () => {
    const { stream, peer } = await streamAndPeer();
    peer.write("abcdef");
    await once(stream.socket, "data");
    const error = await expectLog("tornado.general", "Unsatisfiable read", () => closedError(stream.readUntil("def", { maxBytes: 5 })));
    expect(error.realError).toBeInstanceOf(UnsatisfiableReadError);
  });

  it("rejects with StreamClosedError (not UnsatisfiableReadError) when the peer closes before the delimiter", async () => {
    const { stream, peer } = await streamAndPeer();
    const read = stream.readUntil("done");
    peer.end("x".repeat(2048) + "foo");
    const error = await closedError(read);
    expect(error.realError).toBeUndefined();
    expect(stream.error).toBeNull();
  });
});

describe("IOStream.readUntilRegex(regex, { maxBytes })", () => {
  it("resolves with the bytes up to the end of the first match, across packets", async () => {
    const { stream, peer } = await streamAndPeer();
    const head = stream.readUntilRegex(/\r?\n\r?\n/g);
    await trickle(peer, stream, "Host: a\n\nbody");
    expect(String(await head)).toBe("Host: a\n\n");
    expect(String(await stream.readBytes(4))).toBe("body");
  });

  it("matches bytes, one character per byte", async () => {
    const { stream, peer } = await streamAndPeer();
    peer.write(Buffer.from([0x01, 0xff, 0x00, 0x02]));
    expect([...(await stream.readUntilRegex(/\xff\x00/))]).toEqual([0x01, 0xff, 0x00]);
  });

  it("closes the stream when the match does not end within maxBytes", async () => {
    const { stream, peer } = await streamAndPeer();
    const error = await expectLog("tornado.general", /regex \/def\/ not found within 5 bytes/, async () => {
      const read = stream.readUntilRegex("def", { maxBytes: 5 });
      peer.write("123456");
      return closedError(read);
    });
    expect(error.realError).toBeInstanceOf(UnsatisfiableReadError);
  });
});

describe("IOStream.readBytes(size, { partial })", () => {
  it("resolves with exactly size bytes once they have all arrived", async () => {
    const { stream, peer } = await streamAndPeer();
    const read = stream.readBytes(6);
    await trickle(peer, stream, "abcdefgh");
    expect(String(await read)).toBe("abcdef");
    expect(String(await stream.readBytes(2))).toBe("gh");
  });

  it("with partial, resolves with what has arrived, never more than size", async () => {
    const { stream, peer } = await streamAndPeer();
    const first = stream.readBytes(100, { partial: true });
    peer.write("abc");
    expect(String(await first)).toBe("abc");
    peer.write("defgh");
    await once(stream.socket, "data");
    expect(String(await stream.readBytes(2, { partial: true }))).toBe("de");
    expect(String(await stream.readBytes(100, { partial: true }))).toBe("fgh");
  });

  it("resolves readBytes(0) at once with no bytes", async () => {
    const { stream } = await streamAndPeer();
    expect((await stream.readBytes(0)).length).toBe(0);
  });

  it("throws a RangeError for a size that is not a non-negative integer", async () => {
    const { stream } = await streamAndPeer();
    expect(() => stream.readBytes(-1)).toThrow(RangeError);
    expect(() => stream.readBytes(1.5)).toThrow(RangeError);
  });
});

describe("IOStream.readInto(target, { partial })", () => {
  it("fills the target and resolves with the count; with partial, with what has arrived", async () => {
    const { stream, peer } = await streamAndPeer();
    const target = new Uint8Array(4);
    const read = stream.readInto(target);
    await trickle(peer, stream, "wxyz!");
    expect(await read).toBe(4);
    expect(Buffer.from(target).toString()).toBe("wxyz");
    const rest = new Uint8Array(10);
    expect(await stream.readInto(rest, { partial: true })).toBe(1);
    expect(rest[0]).toBe("!".charCodeAt(0));
  });
});

describe("IOStream.readUntilClose()", () => {
  it("resolves with everything the peer sent once it closes", async () => {
    const { stream, peer } = await streamAndPeer();
    const all = stream.readUntilClose();
    peer.write("part one, ");
    peer.end("part two");
    expect(String(await all)).toBe("part one, part two");
    expect(stream.closed).toBe(true);
  });

  it("on a stream already closed by the peer, resolves with what is still buffered", async () => {
    const { stream, peer } = await streamAndPeer();
    peer.write("1234");
    expect(String(await stream.readBytes(1))).toBe("1");
    const closed = deferred();
    stream.setCloseCallback(closed.resolve);
    peer.end();
    await closed.promise;
    expect(String(await stream.readUntilClose())).toBe("234");
  });
});

describe("IOStream: one read at a time", () => {
  it("throws when a read starts while another is pending; the first still completes", async () => {
    const { stream, peer } = await streamAndPeer();
    const first = stream.readUntil("\n");
    expect(stream.reading).toBe(true);
    expect(() => stream.readBytes(1)).toThrow(/Already reading/);
    expect(() => stream.readUntilClose()).toThrow(expect.objectContaining({ code: "ERR_ALREADY_READING" }));
    peer.write("line\n");
    expect(String(await first)).toBe("line\n");
    expect(stream.reading).toBe(false);
  });
});

describe("IOStream after close", () => {
  it("rejects reads and writes with StreamClosedError once close() was called, and runs the close callback once", async () => {
    const { stream } = await streamAndPeer();
    let calls = 0;
    const closed = deferred();
    stream.setCloseCallback(() => {
      calls++;
      closed.resolve();
    });
    const pending = stream.readBytes(1);
    stream.close();
    stream.close();
    await closedError(pending);
    await closedError(stream.readBytes(1));
    await closedError(stream.readUntil("\n"));
    await closedError(stream.write("late"));
    await closed.promise;
    await pause(10);
    expect(calls).toBe(1);
    expect(stream.error).toBeNull();
  });

  it("still serves reads from bytes buffered before the peer closed, then rejects", async () => {
    const { stream, peer } = await streamAndPeer();
    peer.end("abc\ndef");
    const closed = deferred();
    stream.setCloseCallback(closed.resolve);
    await closed.promise;
    expect(String(await stream.readUntil("\n"))).toBe("abc\n");
    await closedError(stream.readBytes(4));
    expect(String(await stream.readBytes(3))).toBe("def");
  });

  it("runs a close callback set after the stream closed", async () => {
    const { stream } = await streamAndPeer();
    stream.close();
    const called = deferred();
    stream.setCloseCallback(called.resolve);
    await called.promise;
  });

  it("rejects writes still unflushed when the stream closes", async () => {
    const { a } = await streamPair();
    // More than the kernel's socket buffers hold while nobody reads on the other side.
    const write = a.write(Buffer.alloc(64 * MiB));
    await pause(20);
    expect(a.writing).toBe(true);
    a.close();
    await closedError(write);
  });
});

describe("IOStream when the peer resets the connection", () => {
  it("rejects a pending read with StreamClosedError whose realError is ECONNRESET, without logging a warning", async () => {
    const { stream, peer } = await streamAndPeer();
    const logs = recordLogs("tornado.general");
    try {
      const read = stream.readUntil("\n");
      peer.write("partial");
      await once(stream.socket, "data");
      peer.resetAndDestroy();
      const error = await closedError(read);
      expect((error.realError as NodeJS.ErrnoException).code).toBe("ECONNRESET");
      expect(stream.error).toBe(error.realError);
      expect(logs.records.filter((r) => r.level !== "debug" && r.level !== "info")).toEqual([]);
    } finally {
      logs.stop();
    }
  });
});

describe("IOStream.write(data): back-pressure", () => {
  it("resolves only once the peer has read enough for the bytes to leave", async () => {
    const { a, b } = await streamPair();
    const size = 64 * MiB;
    let flushed = false;
    const write = a.write(Buffer.alloc(size, 7)).then(() => (flushed = true));
    await pause(100);
    expect(flushed).toBe(false);
    expect(a.writing).toBe(true);
    const received = await b.readBytes(size);
    expect(received.length).toBe(size);
    await write;
    expect(a.writing).toBe(false);
  });

  it("rejects with StreamBufferFullError, leaving the stream open, past maxWriteBufferSize", async () => {
    const { a } = await streamPair({ maxWriteBufferSize: MiB });
    // Nobody reads on the other side: once the kernel's buffers are full, writes queue here.
    let error: unknown;
    for (let i = 0; i < 400 && !(error instanceof Error); i++) {
      const write = a.write(Buffer.alloc(256 * 1024));
      error = await Promise.race([write.then(() => "flushed", (e: unknown) => e), new Promise((r) => setImmediate(r, "queued"))]);
    }
    expect(error).toBeInstanceOf(StreamBufferFullError);
    expect(a.closed).toBe(false);
  });
});

describe("IOStream: back-pressure on reads and maxBufferSize", () => {
  it("pauses the socket while no read is pending, so a fast peer's writes wait", async () => {
    const { stream, peer } = await streamAndPeer();
    let peerFlushed = false;
    peer.write(Buffer.alloc(64 * MiB, 1), () => (peerFlushed = true));
    await pause(100);
    expect(stream.socket.isPaused()).toBe(true);
    expect(peerFlushed).toBe(false);
    expect((await stream.readBytes(64 * MiB)).length).toBe(64 * MiB);
  });

  it("serves many small reads from more data than maxBufferSize, buffering only what reads need", async () => {
    const { stream, peer } = await streamAndPeer({ maxBufferSize: 10 * 1024 });
    peer.write(Buffer.alloc(100 * 1024, "a"));
    for (let i = 0; i < 100; i++) expect((await stream.readBytes(1024)).length).toBe(1024);
    peer.write(("b".repeat(1023) + "\n").repeat(100));
    for (let i = 0; i < 100; i++) expect((await stream.readUntil("\n", { maxBytes: 4096 })).length).toBe(1024);
  });

  it("reads 10 MiB in 1 MiB reads with maxBufferSize 5 MiB (flow control)", async () => {
    const { stream, peer } = await streamAndPeer({ maxBufferSize: 5 * MiB });
    peer.write(Buffer.alloc(10 * MiB, "a"));
    for (let i = 0; i < 10; i++) expect((await stream.readBytes(MiB)).length).toBe(MiB);
  });

  it("closes the stream with StreamBufferFullError when a pending read needs more than maxBufferSize", async () => {
    const { stream, peer } = await streamAndPeer({ maxBufferSize: 64 * 1024 });
    const error = await expectLog(
      "tornado.general",
      "Reached maximum read buffer size",
      async () => {
        const read = stream.readUntil("\n");
        peer.write(Buffer.alloc(256 * 1024, "x"));
        return closedError(read);
      },
      { level: "error" },
    );
    expect(error.realError).toBeInstanceOf(StreamBufferFullError);
    expect(stream.error).toBeInstanceOf(StreamBufferFullError);
    expect(stream.closed).toBe(true);
  });
});

describe("IOStream between two streams", () => {
  it("writes strings as UTF-8 and Uint8Arrays as bytes, in order", async () => {
    const { a, b } = await streamPair();
    a.setNoDelay(true);
    await Promise.all([a.write("héllo "), a.write(new Uint8Array([0x77, 0x6f, 0x72, 0x6c, 0x64])), a.write("")]);
    expect((await b.readBytes(Buffer.byteLength("héllo world"))).toString("utf8")).toBe("héllo world");
  });

  it("never leaves an unhandled rejection for a read or write nobody awaits", async () => {
    const { a, b } = await streamPair();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      void a.readUntil("never");
      void a.write(Buffer.alloc(64 * MiB));
      b.close();
      const closed = deferred();
      a.setCloseCallback(closed.resolve);
      await closed.promise;
      await pause(20);
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});

/**
 * WebSocket resource limits, through real sockets: a ping flood gets one pong per batch of
 * pings read, not one per ping; a client that never reads what it is sent (echoes of its
 * messages, pongs behind them) is closed with 1008 once more than `websocketMaxOutgoingBuffer`
 * waits to be sent, instead of growing the server's memory; no
 * frame is read before an async `open()` resolves; a back-pressured handler
 * (`await this.writeMessage(m)`) holds a non-reading client back without closing it.
 */

import { randomBytes } from "node:crypto";
import { connect as netConnect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket as WsClient } from "ws";
import {
  Application,
  WebSocketClosedError,
  WebSocketHandler,
  createTestServer,
  expectLog,
  type ApplicationSettings,
  type RouteSpec,
  type TestServer,
  type WebSocketClientConnection,
} from "../../runtime/index.js";
import { deferred } from "../helpers/deferred.js";

const MiB = 1024 * 1024;
const OVERFLOW_LOG = /WebSocket closed with 1008: more than \d+ bytes were waiting to be sent .*websocketMaxOutgoingBuffer/;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `predicate()` holds (polling), or fails after `timeout` ms. */
async function until(predicate: () => boolean, timeout = 10_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeout}ms: ${predicate}`);
    await sleep(10);
  }
}

/** Resolves once `value()` has not changed for `quiet` ms (the traffic has settled). */
async function settled(value: () => number, quiet = 400, timeout = 20_000): Promise<number> {
  const deadline = Date.now() + timeout;
  let last = value();
  let since = Date.now();
  while (Date.now() - since < quiet) {
    if (Date.now() > deadline) throw new Error(`still changing after ${timeout}ms (now ${last})`);
    await sleep(50);
    const now = value();
    if (now !== last) {
      last = now;
      since = Date.now();
    }
  }
  return last;
}

const servers: TestServer[] = [];
const sockets: { destroy(): void }[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((t) => t.close()));
});

async function serve(routes: RouteSpec[], settings: ApplicationSettings = {}): Promise<TestServer> {
  const t = await createTestServer(new Application(routes, settings));
  servers.push(t);
  return t;
}

function wsConnect(t: TestServer, path: string): Promise<WsClient> {
  const ws = new WsClient(`ws://127.0.0.1:${t.port}${path}`);
  sockets.push({ destroy: () => ws.terminate() });
  ws.on("error", () => {});
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

/** A frame as the server sent it (unmasked). */
interface Frame {
  opcode: number;
  payload: Buffer;
}

/**
 * A WebSocket client written by hand: raw frames out, and a frame parser on what comes back,
 * so that a test can ping without reading, then read everything the server sent.
 */
class RawWebSocket {
  readonly frames: Frame[] = [];
  /** The payload of the last pong received. */
  lastPong: Buffer | undefined;
  closed = false;
  private parts: Buffer[] = [];
  private partsSize = 0;
  private needed = 0;
  private upgraded = false;

  private constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("error", () => {});
    socket.on("close", () => (this.closed = true));
  }

  static async open(t: TestServer, path: string): Promise<RawWebSocket> {
    const socket = netConnect(t.port, "127.0.0.1");
    sockets.push(socket);
    const raw = new RawWebSocket(socket);
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${t.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    await until(() => raw.upgraded || raw.closed);
    if (!raw.upgraded) throw new Error("handshake failed");
    return raw;
  }

  /** A client frame: FIN set, masked (with a zero key, so the payload goes as is). */
  static frame(opcode: number, payload: Buffer): Buffer {
    if (payload.length > 125) throw new Error("control-sized frames only");
    return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
  }

  /** The close frame the server sent, if any: its code and reason. */
  get closeFrame(): { code: number; reason: string } | undefined {
    const frame = this.frames.find((f) => f.opcode === 0x8);
    return frame && { code: frame.payload.readUInt16BE(0), reason: frame.payload.subarray(2).toString() };
  }

  private receive(chunk: Buffer): void {
    // Chunks wait in `parts` until the frame they belong to is whole: a 16 MiB frame is joined
    // once, not copied again on every chunk.
    this.parts.push(chunk);
    this.partsSize += chunk.length;
    if (this.partsSize < this.needed) return;
    let pending = Buffer.concat(this.parts);
    const wait = (needed: number) => {
      this.parts = [pending];
      this.partsSize = pending.length;
      this.needed = needed;
    };
    if (!this.upgraded) {
      const end = pending.indexOf("\r\n\r\n");
      if (end < 0) return wait(0);
      if (!pending.subarray(0, 12).toString().startsWith("HTTP/1.1 101")) throw new Error(pending.toString());
      this.upgraded = true;
      pending = pending.subarray(end + 4);
    }
    for (;;) {
      if (pending.length < 10) {
        const extended = pending.length >= 2 ? pending[1]! & 0x7f : 0;
        if (pending.length < 2 || (extended === 126 && pending.length < 4) || extended === 127) return wait(0);
      }
      let length = pending[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        length = pending.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        length = Number(pending.readBigUInt64BE(2));
        offset = 10;
      }
      if (pending.length < offset + length) return wait(offset + length);
      // Pongs are counted and the last one kept, not all 200,000 of a flood.
      const opcode = pending[0]! & 0x0f;
      const payload = Buffer.from(pending.subarray(offset, offset + length));
      if (opcode === 0xa) this.lastPong = payload;
      this.frames.push({ opcode, payload: opcode === 0xa ? Buffer.alloc(0) : payload });
      pending = pending.subarray(offset + length);
    }
  }
}

class EchoSocket extends WebSocketHandler {
  override onMessage(message: string | Buffer): void {
    void this.writeMessage(message);
  }
}

describe("WebSocket pings from a client that never reads the pongs", () => {
  it("answers pings read together with one pong, for the most recent (RFC 6455 §5.5.3): a ping flood queues no pong per ping", async () => {
    let pings = 0;
    class Counting extends EchoSocket {
      override onPing() {
        pings++;
      }
    }
    const t = await serve([["/ws", Counting], ["/echo", EchoSocket]]);
    const flooder = await RawWebSocket.open(t, "/ws");
    const other = await wsConnect(t, "/echo");
    flooder.socket.pause();
    // 200,000 pings of 125 bytes (26 MB), the last one marked. Today's server queued a pong for
    // each (25 MB here; a client going on for minutes exhausted the heap).
    const ping = RawWebSocket.frame(0x9, Buffer.alloc(125, 0x61));
    const sent = 200_000;
    flooder.socket.write(Buffer.concat([...Array.from({ length: sent - 1 }, () => ping), RawWebSocket.frame(0x9, Buffer.alloc(125, 0x7a))]));
    await until(() => pings === sent, 30_000);

    // Another client is served meanwhile.
    other.send("still here");
    expect(String((await new Promise((resolve) => other.once("message", resolve))) as Buffer)).toBe("still here");

    flooder.socket.resume();
    const pongs = await settled(() => flooder.frames.length);
    expect(flooder.frames.every((f) => f.opcode === 0xa)).toBe(true);
    expect(pongs).toBeGreaterThan(0);
    expect(pongs).toBeLessThan(sent / 10);
    expect(flooder.lastPong).toEqual(Buffer.alloc(125, 0x7a));
    expect(flooder.closed).toBe(false);
  });

  it("closes a client that pings while more than websocketMaxOutgoingBuffer waits for it, with 1008", async () => {
    class Filler extends WebSocketHandler {
      // One message bigger than the limit goes (nothing was waiting); the client does not read it.
      override onMessage(): void {
        void this.writeMessage(Buffer.alloc(16 * MiB, 5));
      }
    }
    const t = await serve([["/ws", Filler]], { websocketMaxOutgoingBuffer: MiB });
    const client = await RawWebSocket.open(t, "/ws");
    client.socket.pause();
    await expectLog("tornado.general", OVERFLOW_LOG, async () => {
      client.socket.write(RawWebSocket.frame(0x2, Buffer.from("fill")));
      await sleep(300);
      // Today's server queued the pong behind the 16 MiB, whatever was waiting.
      client.socket.write(RawWebSocket.frame(0x9, Buffer.from("ping")));
      client.socket.resume();
      await until(() => client.closeFrame !== undefined);
    });
    expect(client.closeFrame).toEqual({ code: 1008, reason: "too much data waiting to be sent" });
    expect(client.frames.filter((f) => f.opcode === 0x2).map((f) => f.payload.length)).toEqual([16 * MiB]);
    expect(client.frames.some((f) => f.opcode === 0xa)).toBe(false);
  });

  it("answers each ping of a client that reads its pongs, at a 1 KiB limit", async () => {
    const t = await serve([["/ws", EchoSocket]], { websocketMaxOutgoingBuffer: 1024 });
    const client = await RawWebSocket.open(t, "/ws");
    for (let round = 1; round <= 20; round++) {
      client.socket.write(RawWebSocket.frame(0x9, Buffer.from(`ping ${round}`)));
      await until(() => client.frames.length === round);
      expect(client.lastPong?.toString()).toBe(`ping ${round}`);
    }
    expect(client.closed).toBe(false);
  });
});

describe("websocketMaxOutgoingBuffer: the echo handler with a client that never reads", () => {
  it("closes the non-awaiting echo with 1008 at the default limit (4 MiB), and stops reading from it", async () => {
    let received = 0;
    class Echo extends EchoSocket {
      override onMessage(message: string | Buffer): void {
        received++;
        super.onMessage(message);
      }
    }
    const t = await serve([["/ws", Echo]]);
    const ws = await wsConnect(t, "/ws");
    const closed = new Promise<[number, string]>((resolve) => ws.once("close", (code: number, reason: Buffer) => resolve([code, String(reason)])));
    await expectLog("tornado.general", OVERFLOW_LOG, async () => {
      ws.pause();
      const frame = Buffer.alloc(MiB, 1);
      const sent = 48;
      for (let i = 0; i < sent; i++) ws.send(frame);
      const echoed = await settled(() => received);
      // Today's code echoed all 48 MiB into its own memory.
      expect(echoed).toBeLessThan(sent);
      ws.resume();
      expect(await closed).toEqual([1008, "too much data waiting to be sent"]);
    });
  });

  it("holds back a non-reading client without closing it when onMessage awaits writeMessage", async () => {
    let received = 0;
    class BackPressured extends WebSocketHandler {
      override async onMessage(message: string | Buffer): Promise<void> {
        received++;
        await this.writeMessage(message);
      }
    }
    const t = await serve([["/ws", BackPressured]]);
    const ws = await wsConnect(t, "/ws");
    ws.pause();
    const frame = Buffer.alloc(MiB, 2);
    const sent = 48;
    for (let i = 0; i < sent; i++) ws.send(frame);
    expect(await settled(() => received)).toBeLessThan(sent);
    const echoes: Buffer[] = [];
    ws.on("message", (data: Buffer) => echoes.push(data));
    ws.resume();
    await until(() => echoes.length === sent, 30_000);
    expect(echoes.every((echo) => echo.length === MiB)).toBe(true);
    expect(ws.readyState).toBe(WsClient.OPEN);
  });

  it("sends one message bigger than the limit when nothing is waiting", async () => {
    class Big extends WebSocketHandler {
      override async onMessage(): Promise<void> {
        await this.writeMessage(Buffer.alloc(MiB, 3));
      }
    }
    const t = await serve([["/ws", Big]], { websocketMaxOutgoingBuffer: 1024 });
    const client = await t.websocket("/ws");
    sockets.push({ destroy: () => void client.close() });
    for (let i = 0; i < 3; i++) {
      await client.writeMessage("again");
      expect(((await client.readMessage()) as Buffer).length).toBe(MiB);
    }
  });

  it("refuses the write that finds the limit passed (its promise rejects), and those after it throw", async () => {
    const outcomes = deferred<unknown[]>();
    class Flood extends WebSocketHandler {
      override onMessage(): void {
        const chunk = Buffer.alloc(MiB);
        const writes = Array.from({ length: 16 }, () => {
          try {
            return this.writeMessage(chunk).then(
              () => "sent",
              (e: unknown) => ["rejected", e],
            );
          } catch (e) {
            return ["thrown", e];
          }
        });
        void Promise.all(writes).then(outcomes.resolve);
      }
    }
    const t = await serve([["/ws", Flood]], { websocketMaxOutgoingBuffer: MiB });
    const ws = await wsConnect(t, "/ws");
    ws.pause();
    await expectLog("tornado.general", OVERFLOW_LOG, async () => {
      ws.send("go");
      ws.resume();
      const results = await outcomes.promise;
      expect(results[0]).toBe("sent");
      const refused = results.findIndex((r) => Array.isArray(r) && r[0] === "rejected" && r[1] instanceof WebSocketClosedError);
      expect(refused).toBeGreaterThan(0);
      for (const later of results.slice(refused + 1)) expect(later).toEqual(["thrown", expect.any(WebSocketClosedError)]);
    });
  });
});

describe("WebSocketHandler.open(): nothing is read before it resolves", () => {
  it("leaves what the client sends during an async open() in the client's buffers, then delivers it all", async () => {
    const opening = deferred();
    let received = 0;
    class SlowOpen extends WebSocketHandler {
      override async open() {
        await opening.promise;
      }
      override onMessage() {
        received++;
      }
    }
    const t = await serve([["/ws", SlowOpen]]);
    const ws = await wsConnect(t, "/ws");
    const frame = Buffer.alloc(MiB, 4);
    const sent = 40;
    for (let i = 0; i < sent; i++) ws.send(frame);
    // The kernel's buffers take a few MiB; the rest waits in the client. Today's server read
    // it all into its own queue.
    const waiting = await settled(() => ws.bufferedAmount);
    expect(waiting).toBeGreaterThan((sent / 2) * MiB);
    expect(received).toBe(0);
    opening.resolve();
    await until(() => received === sent, 30_000);
  });
});

describe("websocketConnect(url, { maxOutgoingBuffer })", () => {
  it("refuses client writes past the limit and closes with 1008", async () => {
    const opening = deferred();
    class NeverOpens extends WebSocketHandler {
      override async open() {
        await opening.promise;
      }
    }
    const t = await serve([["/ws", NeverOpens]]);
    const client: WebSocketClientConnection = await t.websocket("/ws", { maxOutgoingBuffer: MiB });
    sockets.push({ destroy: () => opening.resolve() });
    await expectLog("tornado.general", OVERFLOW_LOG, async () => {
      const chunk = Buffer.alloc(MiB);
      const results = await Promise.all(
        Array.from({ length: 64 }, () => {
          try {
            return client.writeMessage(chunk).then(() => "sent", (e: unknown) => e);
          } catch (e) {
            return e;
          }
        }),
      );
      expect(results.some((r) => r instanceof WebSocketClosedError)).toBe(true);
    });
    expect(() => client.writeMessage("more")).toThrow(WebSocketClosedError);
  });
});

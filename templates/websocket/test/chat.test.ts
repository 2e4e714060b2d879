import { createTestServer, expectLog, type TestServer } from "tornado/testing";
import type { WebSocketClientConnection } from "tornado/websocket";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeApp } from "../src/app.js";
import type { ServerMessage } from "../src/chat/protocol.js";

let t: TestServer;
beforeEach(async () => {
  t = await createTestServer(makeApp());
});
afterEach(() => t.close());

const send = (ws: WebSocketClientConnection, message: unknown) => ws.writeMessage(JSON.stringify(message));

async function next(ws: WebSocketClientConnection): Promise<ServerMessage> {
  const frame = await ws.readMessage();
  if (frame === null) throw new Error(`closed (${ws.closeCode})`);
  return JSON.parse(String(frame)) as ServerMessage;
}

async function joined(room: string, name: string, server: TestServer = t): Promise<WebSocketClientConnection> {
  const ws = await server.websocket("/chat");
  await send(ws, { type: "join", room, name });
  expect(await next(ws)).toMatchObject({ type: "joined", room, name });
  return ws;
}

describe("/chat", () => {
  it("delivers what one member says to everyone in the room, and only there", async () => {
    const ann = await joined("lobby", "ann");
    const bob = await joined("lobby", "bob");
    expect(await next(ann)).toEqual({ type: "joined", room: "lobby", name: "bob", presence: 2 });
    const eve = await joined("kitchen", "eve");

    await send(bob, { type: "say", room: "lobby", text: "hello" });
    for (const ws of [ann, bob])
      expect(await next(ws)).toMatchObject({ type: "message", room: "lobby", name: "bob", text: "hello" });

    await send(eve, { type: "say", room: "kitchen", text: "anyone?" });
    expect(await next(eve)).toMatchObject({ type: "message", text: "anyone?" });
    await send(ann, { type: "say", room: "lobby", text: "second" });
    expect(await next(bob)).toMatchObject({ text: "second" }); // nothing from the kitchen in between
  });

  it("tells the room who leaves, and how many are left", async () => {
    const ann = await joined("lobby", "ann");
    const bob = await joined("lobby", "bob");
    await next(ann); // bob joined
    await send(bob, { type: "leave", room: "lobby" });
    expect(await next(ann)).toEqual({ type: "left", room: "lobby", name: "bob", presence: 1 });
    const carl = await joined("lobby", "carl");
    await next(ann); // carl joined
    await carl.close();
    expect(await next(ann)).toEqual({ type: "left", room: "lobby", name: "carl", presence: 1 });
  });

  it("answers a bad message with an error frame and keeps the connection", async () => {
    const ws = await t.websocket("/chat");
    const cases: [unknown, RegExp][] = [
      ["{oops", /must be JSON/],
      [[1, 2], /JSON object/],
      [{ type: "shout" }, /unknown message type "shout"/],
      [{ type: "join", room: "no spaces", name: "ann" }, /"room" must be/],
      [{ type: "say", room: "lobby", text: "hi" }, /join lobby before/],
      [{ type: "say", room: "lobby", text: "x".repeat(2001) }, /longer than 2000/],
      [{ type: "join", room: "lobby", name: "a\u0007b" }, /control characters/],
    ];
    for (const [message, error] of cases) {
      await ws.writeMessage(typeof message === "string" ? message : JSON.stringify(message));
      const reply = await next(ws);
      expect(reply.type).toBe("error");
      expect((reply as { error: string }).error).toMatch(error);
    }
    await send(ws, { type: "join", room: "lobby", name: "ann" });
    expect(await next(ws)).toMatchObject({ type: "joined" });
  });

  it("names the field a message got wrong in its error frame (each message type is a schema)", async () => {
    const ws = await t.websocket("/chat");
    const cases: [unknown, ServerMessage][] = [
      [
        { type: "say", room: "lobby", text: "   " },
        { type: "error", error: '"text" is empty', field: "text" },
      ],
      [
        { type: "say", room: "lobby", text: 7 },
        { type: "error", error: '"text" must be a string', field: "text" },
      ],
      [
        { type: "join", room: "lobby" },
        { type: "error", error: '"name" must be a string', field: "name" },
      ],
      [
        { type: "join", room: "lobby", name: "x".repeat(33) },
        { type: "error", error: '"name" must be 1 to 32 characters', field: "name" },
      ],
      [
        { type: "leave", room: "" },
        { type: "error", error: '"room" must be 1 to 32 letters, digits, "-" or "_"', field: "room" },
      ],
      [
        { room: "lobby" },
        { type: "error", error: "unknown message type (none): use join, say or leave", field: "type" },
      ],
      ["[]", { type: "error", error: "a message must be a JSON object" }],
    ];
    for (const [message, reply] of cases) {
      await ws.writeMessage(typeof message === "string" ? message : JSON.stringify(message));
      expect(await next(ws)).toEqual(reply);
    }
    // At the limits: a 32-character name (trimmed) and a 2000-character text pass.
    await send(ws, { type: "join", room: "lobby", name: ` ${"n".repeat(32)} ` });
    expect(await next(ws)).toMatchObject({ type: "joined", name: "n".repeat(32) });
    await send(ws, { type: "say", room: "lobby", text: "x".repeat(2000) });
    expect(await next(ws)).toMatchObject({ type: "message", text: "x".repeat(2000) });
  });

  it("closes a connection that sends a message over the size limit with 1009", async () => {
    const ws = await t.websocket("/chat");
    await ws.writeMessage("x".repeat(17 * 1024)).catch(() => {});
    expect(await ws.readMessage()).toBeNull();
    expect(ws.closeCode).toBe(1009);
    // The server goes on serving.
    await joined("lobby", "ann");
  });

  it("keeps each name to one member per room (whatever its case)", async () => {
    const ann = await joined("lobby", "ann");
    const impostor = await t.websocket("/chat");
    await send(impostor, { type: "join", room: "lobby", name: "Ann" });
    expect(await next(impostor)).toEqual({ type: "error", error: 'the name "Ann" is taken in lobby' });
    // Another room is another namespace; and a name is free again once its member leaves.
    await send(impostor, { type: "join", room: "kitchen", name: "ann" });
    expect(await next(impostor)).toMatchObject({ type: "joined", room: "kitchen", name: "ann" });
    await send(ann, { type: "leave", room: "lobby" });
    await send(impostor, { type: "join", room: "lobby", name: "ann" });
    expect(await next(impostor)).toMatchObject({ type: "joined", room: "lobby", name: "ann" });
  });
});

describe("/chat limits", () => {
  it("answers messages over chatMaxMessagesPerSecond (default 10) with an error frame naming it", async () => {
    const ws = await t.websocket("/chat");
    const sent = 20;
    await Promise.all(Array.from({ length: sent }, () => send(ws, { type: "leave", room: "lobby" })));
    const replies: string[] = [];
    for (let i = 0; i < sent; i++) replies.push(((await next(ws)) as { error: string }).error);
    // The first ten always pass (a full bucket); some of the rest come faster than 10 a second.
    expect(replies.slice(0, 10)).toEqual(Array(10).fill("not in lobby"));
    const limited = replies.filter((error) => error !== "not in lobby");
    expect(limited.length).toBeGreaterThan(0);
    for (const error of limited)
      expect(error).toBe("rate limit: at most 10 messages a second (chatMaxMessagesPerSecond); this one was dropped");
  });

  it("takes a connection into at most chatMaxRoomsPerSocket rooms (default 10)", async () => {
    const fast = await createTestServer(makeApp({ chatMaxMessagesPerSecond: 1000 }));
    try {
      const ws = await fast.websocket("/chat");
      for (let i = 0; i < 10; i++) {
        await send(ws, { type: "join", room: `room${i}`, name: "ann" });
        expect(await next(ws)).toMatchObject({ type: "joined", room: `room${i}` });
      }
      await send(ws, { type: "join", room: "room10", name: "ann" });
      expect(await next(ws)).toEqual({
        type: "error",
        error: "room limit: at most 10 rooms per connection (chatMaxRoomsPerSocket); leave one first",
      });
      await send(ws, { type: "leave", room: "room0" });
      await send(ws, { type: "join", room: "room10", name: "ann" });
      expect(await next(ws)).toMatchObject({ type: "joined", room: "room10" });
      await ws.close();
    } finally {
      await fast.close();
    }
  });

  it("closes a member that does not read what its room says, instead of buffering for it", async () => {
    const fast = await createTestServer(makeApp({ chatMaxMessagesPerSecond: 1_000_000 }));
    try {
      // Never reads: the client stops reading its socket after a few unread messages.
      await joined("lobby", "slow", fast);
      let slowLeft = false;
      const flooder = await fast.websocket("/chat", {
        onMessage: (frame) => {
          if (frame !== null && String(frame).includes('"type":"left"') && String(frame).includes('"name":"slow"'))
            slowLeft = true;
        },
      });
      await send(flooder, { type: "join", room: "lobby", name: "flood" });
      const text = "x".repeat(2000);
      let said = 0;
      // 40 MB said at most; the 256 KiB websocketMaxOutgoingBuffer (and the kernel's buffers)
      // are passed long before, and the slow member is closed (its "left" reaches the room).
      await expectLog(
        "tornado.general",
        /WebSocket closed with 1008: more than 262144 bytes were waiting/,
        async () => {
          while (!slowLeft && said < 20_000) {
            await send(flooder, { type: "say", room: "lobby", text });
            said++;
            if (said % 100 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
          }
        },
      );
      // The member is closed at once, but its "left" comes once the close handshake ends: a
      // client that does not read never answers it, so that takes the 5 s close grace.
      await expect.poll(() => slowLeft, { timeout: 15_000 }).toBe(true);
      await flooder.close();
    } finally {
      await fast.close();
    }
  }, 60_000);
});

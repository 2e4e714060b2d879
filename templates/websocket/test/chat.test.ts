import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestServer, type TestServer } from "tornado/testing";
import type { WebSocketClientConnection } from "tornado/websocket";
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

async function joined(room: string, name: string): Promise<WebSocketClientConnection> {
  const ws = await t.websocket("/chat");
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
    for (const ws of [ann, bob]) expect(await next(ws)).toMatchObject({ type: "message", room: "lobby", name: "bob", text: "hello" });

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

  it("closes a connection that sends a message over the size limit with 1009", async () => {
    const ws = await t.websocket("/chat");
    await ws.writeMessage("x".repeat(17 * 1024)).catch(() => {});
    expect(await ws.readMessage()).toBeNull();
    expect(ws.closeCode).toBe(1009);
    // The server goes on serving.
    await joined("lobby", "ann");
  });
});

/**
 * The chat's messages, as JSON text frames. A client sends:
 *   {"type": "join", "room": "lobby", "name": "ann"}
 *   {"type": "say", "room": "lobby", "text": "hello"}
 *   {"type": "leave", "room": "lobby"}
 * and receives "joined", "left" and "message" events for its rooms, or an "error" for a
 * message it got wrong (the connection stays open).
 */

/** A message from a client, once checked. */
export type ClientMessage =
  | { type: "join"; room: string; name: string }
  | { type: "say"; room: string; text: string }
  | { type: "leave"; room: string };

/** What the server sends. */
export type ServerMessage =
  | { type: "joined"; room: string; name: string; presence: number }
  | { type: "left"; room: string; name: string; presence: number }
  | { type: "message"; room: string; name: string; text: string; at: string }
  | { type: "error"; error: string };

/** A message that breaks the protocol: the client gets `{"type": "error", "error": message}`. */
export class ProtocolError extends Error {}

export const MAX_TEXT_LENGTH = 2000;
const ROOM = /^[A-Za-z0-9_-]{1,32}$/;

function field(message: Record<string, unknown>, key: string): string {
  const value = message[key];
  if (typeof value !== "string") throw new ProtocolError(`"${key}" must be a string`);
  return value;
}

function room(message: Record<string, unknown>): string {
  const value = field(message, "room");
  if (!ROOM.test(value)) throw new ProtocolError(`"room" must be 1 to 32 letters, digits, "-" or "_"`);
  return value;
}

/** Checks one frame from a client; throws `ProtocolError` saying what is wrong. */
export function parseClientMessage(frame: string | Buffer): ClientMessage {
  if (typeof frame !== "string") throw new ProtocolError("send JSON text frames, not binary ones");
  let parsed: unknown;
  try {
    parsed = JSON.parse(frame);
  } catch {
    throw new ProtocolError("a message must be JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new ProtocolError("a message must be a JSON object");
  const message = parsed as Record<string, unknown>;
  switch (message.type) {
    case "join": {
      const name = field(message, "name").trim();
      // eslint-disable-next-line no-control-regex
      if (name.length < 1 || name.length > 32 || /[\u0000-\u001f]/.test(name)) throw new ProtocolError(`"name" must be 1 to 32 characters`);
      return { type: "join", room: room(message), name };
    }
    case "say": {
      const text = field(message, "text");
      if (text.trim().length === 0) throw new ProtocolError(`"text" is empty`);
      if (text.length > MAX_TEXT_LENGTH) throw new ProtocolError(`"text" is longer than ${MAX_TEXT_LENGTH} characters`);
      return { type: "say", room: room(message), text };
    }
    case "leave":
      return { type: "leave", room: room(message) };
    default:
      throw new ProtocolError(`unknown message type ${JSON.stringify(message.type)}: use join, say or leave`);
  }
}

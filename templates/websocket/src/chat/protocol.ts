/**
 * The chat's messages, as JSON text frames. A client sends:
 *   {"type": "join", "room": "lobby", "name": "ann"}
 *   {"type": "say", "room": "lobby", "text": "hello"}
 *   {"type": "leave", "room": "lobby"}
 * and receives "joined", "left" and "message" events for its rooms, or an "error" for a
 * message it got wrong (the connection stays open): `{"type": "error", "error": "…", "field": "text"}`,
 * `field` naming the part of the message that was wrong when there is one.
 *
 * Each message a client may send is a zod schema below; `ClientMessage` is their union on
 * `type`. Add a message type by adding a schema to it (and a case to `ChatSocket.onMessage`).
 */

import { z } from "zod";

export const MAX_TEXT_LENGTH = 2000;
const ROOM = /^[A-Za-z0-9_-]{1,32}$/;
// No control characters (Unicode's Cc: C0, DEL and C1), which could garble other members' screens.
const NO_CONTROL_CHARACTERS = /^\P{Cc}*$/u;

const text = (key: string) => z.string({ error: `"${key}" must be a string` });

/** A room's name: 1 to 32 letters, digits, "-" or "_". */
const Room = text("room").regex(ROOM, `"room" must be 1 to 32 letters, digits, "-" or "_"`);

/** `{"type": "join", "room", "name"}`: the name (trimmed) is the member's in that room. */
export const JoinMessage = z.object({
  type: z.literal("join"),
  room: Room,
  name: text("name")
    .trim()
    .min(1, `"name" must be 1 to 32 characters`)
    .max(32, `"name" must be 1 to 32 characters`)
    .regex(NO_CONTROL_CHARACTERS, `"name" must not hold control characters`),
});

/** `{"type": "say", "room", "text"}`: said to everyone in a room this client joined. */
export const SayMessage = z.object({
  type: z.literal("say"),
  room: Room,
  text: text("text")
    .refine((value) => value.trim().length > 0, `"text" is empty`)
    .max(MAX_TEXT_LENGTH, `"text" is longer than ${MAX_TEXT_LENGTH} characters`),
});

/** `{"type": "leave", "room"}`. */
export const LeaveMessage = z.object({ type: z.literal("leave"), room: Room });

/** Every message a client may send: one schema per `type`. */
export const ClientMessage = z.discriminatedUnion("type", [JoinMessage, SayMessage, LeaveMessage], {
  error: (issue) =>
    issue.code === "invalid_union"
      ? `unknown message type ${JSON.stringify((issue.input as { type?: unknown } | undefined)?.type) ?? "(none)"}: use join, say or leave`
      : undefined,
});

/** A message from a client, once checked. */
export type ClientMessage = z.infer<typeof ClientMessage>;

/** What the server sends. */
export type ServerMessage =
  | { type: "joined"; room: string; name: string; presence: number }
  | { type: "left"; room: string; name: string; presence: number }
  | { type: "message"; room: string; name: string; text: string; at: string }
  | { type: "error"; error: string; field?: string };

/**
 * A message that breaks the protocol: the client gets `{"type": "error", "error": message}`,
 * with `"field"` when `field` names the part of the message that was wrong.
 */
export class ProtocolError extends Error {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** Checks one frame from a client; throws `ProtocolError` saying what is wrong, and where. */
export function parseClientMessage(frame: string | Buffer): ClientMessage {
  if (typeof frame !== "string") throw new ProtocolError("send JSON text frames, not binary ones");
  let parsed: unknown;
  try {
    parsed = JSON.parse(frame);
  } catch {
    throw new ProtocolError("a message must be JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new ProtocolError("a message must be a JSON object");
  const result = ClientMessage.safeParse(parsed);
  if (result.success) return result.data;
  // The first issue is the one reported (the client fixes it and sends again).
  const [issue] = result.error.issues;
  if (issue === undefined) throw new ProtocolError("the message is not valid");
  const field = issue.path.map(String).join(".");
  throw new ProtocolError(issue.message, field === "" ? undefined : field);
}

import { randomUUID } from "node:crypto";
import type { Subscription } from "tornado/broadcast";
import { WebSocketClosedError, WebSocketHandler } from "tornado/websocket";
import type { AppSettings } from "../app.js";
import { DEFAULT_MAX_MESSAGES_PER_SECOND, DEFAULT_MAX_ROOMS_PER_SOCKET, RateLimit } from "../chat/limits.js";
import { type ClientMessage, ProtocolError, parseClientMessage, type ServerMessage } from "../chat/protocol.js";

const topic = (room: string) => `chat:${room}`;
// A name is claimed in a room by being present on this topic (names differing only in case
// are the same name). Presence is counted by the broadcast, so with Redis a name is taken
// across every process of the app.
const nameTopic = (room: string, name: string) => `chat-name:${room}:${name.toLowerCase()}`;

/** This socket's place in one room: its subscription and the name it goes by there. */
interface Membership {
  name: string;
  subscription: Subscription;
}

/**
 * /chat: one WebSocket per browser tab, in any number of rooms (up to `chatMaxRoomsPerSocket`).
 * Everything said in a room goes through the broadcast, so it reaches members connected to any
 * process of the app. A client sending more than `chatMaxMessagesPerSecond` gets an error frame
 * for each message over; a client that does not read what the room says is closed by the
 * runtime (1008) once `websocketMaxOutgoingBuffer` bytes wait for it.
 */
export class ChatSocket extends WebSocketHandler {
  private readonly rooms = new Map<string, Membership>();
  // Who this socket is to the presence counts behind name claims.
  private readonly member = randomUUID();
  private rateLimit: RateLimit | undefined;

  override get settings(): AppSettings {
    return super.settings;
  }

  private get broadcast() {
    const broadcast = this.settings.broadcast;
    if (!broadcast) throw new Error("the broadcast setting is missing");
    return broadcast;
  }

  private get maxRooms(): number {
    return this.settings.chatMaxRoomsPerSocket ?? DEFAULT_MAX_ROOMS_PER_SOCKET;
  }

  private send(message: ServerMessage): void {
    // The client may have gone while a message was on its way, or the runtime closed it for
    // not reading (websocketMaxOutgoingBuffer): nothing to do then.
    try {
      this.writeMessage(message).catch(() => {});
    } catch (error) {
      if (!(error instanceof WebSocketClosedError)) throw error;
    }
  }

  override async onMessage(frame: string | Buffer): Promise<void> {
    const perSecond = this.settings.chatMaxMessagesPerSecond ?? DEFAULT_MAX_MESSAGES_PER_SECOND;
    this.rateLimit ??= new RateLimit(perSecond);
    if (!this.rateLimit.take()) {
      return this.send({
        type: "error",
        error: `rate limit: at most ${perSecond} messages a second (chatMaxMessagesPerSecond); this one was dropped`,
      });
    }
    let message: ClientMessage;
    try {
      message = parseClientMessage(frame);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.send(
        error.field === undefined
          ? { type: "error", error: error.message }
          : { type: "error", error: error.message, field: error.field },
      );
      return;
    }
    if (message.type === "join") await this.join(message.room, message.name);
    else if (message.type === "leave") await this.leave(message.room);
    else {
      const membership = this.rooms.get(message.room);
      if (!membership) this.send({ type: "error", error: `join ${message.room} before saying anything there` });
      else
        await this.broadcast.publish(topic(message.room), {
          type: "message",
          room: message.room,
          name: membership.name,
          text: message.text,
          at: new Date().toISOString(),
        });
    }
  }

  private async join(room: string, name: string): Promise<void> {
    if (this.rooms.has(room)) return this.send({ type: "error", error: `already in ${room}` });
    if (this.rooms.size >= this.maxRooms) {
      return this.send({
        type: "error",
        error: `room limit: at most ${this.maxRooms} rooms per connection (chatMaxRoomsPerSocket); leave one first`,
      });
    }
    if (!(await this.claimName(room, name)))
      return this.send({ type: "error", error: `the name "${name}" is taken in ${room}` });
    const subscription = await this.broadcast.subscribe(topic(room), (event) => this.send(event as ServerMessage));
    this.rooms.set(room, { name, subscription });
    const presence = await this.broadcast.presence(topic(room));
    await this.broadcast.publish(topic(room), { type: "joined", room, name, presence });
  }

  // Present on the name's topic, then counted: two sockets asking at once may both be refused
  // (they can ask again), never both accepted.
  private async claimName(room: string, name: string): Promise<boolean> {
    const claim = nameTopic(room, name);
    await this.broadcast.backend.join(claim, this.member);
    if ((await this.broadcast.presence(claim)) === 1) return true;
    await this.broadcast.backend.leave(claim, this.member);
    return false;
  }

  private async leave(room: string): Promise<void> {
    const membership = this.rooms.get(room);
    if (!membership) return this.send({ type: "error", error: `not in ${room}` });
    this.rooms.delete(room);
    await membership.subscription.unsubscribe();
    await this.broadcast.backend.leave(nameTopic(room, membership.name), this.member);
    const presence = await this.broadcast.presence(topic(room));
    await this.broadcast.publish(topic(room), { type: "left", room, name: membership.name, presence });
  }

  override async onClose(): Promise<void> {
    for (const room of [...this.rooms.keys()]) await this.leave(room);
  }
}

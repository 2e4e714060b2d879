import type { Subscription } from "tornado";
import { WebSocketClosedError, WebSocketHandler } from "tornado/websocket";
import type { AppSettings } from "../app.js";
import { parseClientMessage, ProtocolError, type ClientMessage, type ServerMessage } from "../chat/protocol.js";

const topic = (room: string) => `chat:${room}`;

/**
 * /chat: one WebSocket per browser tab, in any number of rooms. Everything said in a room goes
 * through the broadcast, so it reaches members connected to any process of the app.
 */
export class ChatSocket extends WebSocketHandler {
  private name: string | undefined;
  private readonly rooms = new Map<string, Subscription>();

  override get settings(): AppSettings {
    return super.settings;
  }

  private get broadcast() {
    const broadcast = this.settings.broadcast;
    if (!broadcast) throw new Error("the broadcast setting is missing");
    return broadcast;
  }

  private send(message: ServerMessage): void {
    // The client may have gone while a message was on its way: nothing to do then.
    try {
      this.writeMessage(message).catch(() => {});
    } catch (error) {
      if (!(error instanceof WebSocketClosedError)) throw error;
    }
  }

  override async onMessage(frame: string | Buffer): Promise<void> {
    let message: ClientMessage;
    try {
      message = parseClientMessage(frame);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.send({ type: "error", error: error.message });
      return;
    }
    if (message.type === "join") await this.join(message.room, message.name);
    else if (message.type === "leave") await this.leave(message.room);
    else if (!this.rooms.has(message.room)) this.send({ type: "error", error: `join ${message.room} before saying anything there` });
    else await this.broadcast.publish(topic(message.room), { type: "message", room: message.room, name: this.name!, text: message.text, at: new Date().toISOString() });
  }

  private async join(room: string, name: string): Promise<void> {
    if (this.rooms.has(room)) return this.send({ type: "error", error: `already in ${room}` });
    this.name = name;
    this.rooms.set(room, await this.broadcast.subscribe(topic(room), (event) => this.send(event as ServerMessage)));
    const presence = await this.broadcast.presence(topic(room));
    await this.broadcast.publish(topic(room), { type: "joined", room, name, presence });
  }

  private async leave(room: string): Promise<void> {
    const subscription = this.rooms.get(room);
    if (!subscription) return this.send({ type: "error", error: `not in ${room}` });
    this.rooms.delete(room);
    await subscription.unsubscribe();
    const presence = await this.broadcast.presence(topic(room));
    await this.broadcast.publish(topic(room), { type: "left", room, name: this.name!, presence });
  }

  override async onClose(): Promise<void> {
    for (const room of [...this.rooms.keys()]) await this.leave(room);
  }
}

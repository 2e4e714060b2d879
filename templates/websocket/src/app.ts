import { Broadcast } from "tornado/broadcast";
import { ReadinessHandler } from "tornado/handlers";
import { Application, type ApplicationSettings, url } from "tornado/web";
import { ChatSocket } from "./handlers/chat.js";
import { HealthHandler } from "./handlers/health.js";
import { PageHandler } from "./handlers/page.js";

/** Settings this app's handlers read, on top of the runtime's own. */
export interface AppSettings extends ApplicationSettings {
  /**
   * Where chat messages travel: this process by default, Redis when REDIS_URL is set (then
   * every process of the app, on any machine, sees every message).
   */
  broadcast?: Broadcast;
  /** Messages a connection may send: a burst of this many, then this many a second. Default 10. */
  chatMaxMessagesPerSecond?: number;
  /** Rooms one connection may be in at once. Default 10. */
  chatMaxRoomsPerSocket?: number;
}

/** Builds the application: its routes, and settings (tests pass their own). */
export function makeApp(settings: AppSettings = {}): Application {
  return new Application(
    [
      url("/", PageHandler, { name: "page" }),
      url("/health", HealthHandler, { name: "health" }),
      url("/ready", ReadinessHandler, { name: "ready" }),
      url("/chat", ChatSocket, { name: "chat" }),
    ],
    {
      // A ping every 20 s keeps proxies from closing idle connections; a client that does not
      // answer within 10 s is gone and its connection is closed.
      websocketPingInterval: 20_000,
      websocketPingTimeout: 10_000,
      // Chat messages are small: anything bigger is closed with 1009 (Message Too Big).
      websocketMaxMessageSize: 16 * 1024,
      // A member that does not read what its rooms say (a stalled tab, a client that never
      // reads) is closed with 1008 once this much waits for it, instead of growing the
      // server's memory: a hundred or so full-length chat messages.
      websocketMaxOutgoingBuffer: 256 * 1024,
      ...settings,
      broadcast: settings.broadcast ?? Broadcast.fromEnv(),
    },
  );
}

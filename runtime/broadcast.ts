/**
 * Broadcast: topics (chat rooms, live feeds) that any number of listeners subscribe to, with a
 * presence count. In one process by default; with `REDIS_URL` set, through Redis pub/sub, so
 * that every process of an app (`tornado start --workers`, or several machines behind a load
 * balancer) delivers every message to every subscriber.
 *
 * Not a Tornado module: Tornado leaves fan-out to the application; this is the piece every
 * WebSocket app ends up writing.
 */

import { randomUUID } from "node:crypto";
import { appLog } from "./log.js";

/**
 * Called with each message published on a topic (already decoded from JSON).
 *
 * @example
 * const listener: BroadcastListener = (message, topic) => console.log(topic, message);
 */
export type BroadcastListener = (message: unknown, topic: string) => void;

/**
 * One listener's subscription to a topic; `unsubscribe()` ends it (and its presence).
 *
 * @example
 * const sub = await broadcast.subscribe("room:lobby", (m) => ws.writeMessage(m));
 * await sub.unsubscribe();
 */
export interface Subscription {
  readonly topic: string;
  unsubscribe(): Promise<void>;
}

/**
 * Where messages travel and presence is counted: `MemoryBackend` in one process,
 * `RedisBackend` across processes. A backend carries encoded payloads; `Broadcast` does the
 * listeners.
 *
 * @example
 * const broadcast = new Broadcast(new RedisBackend("redis://127.0.0.1:6379"));
 */
export interface BroadcastBackend {
  /** Starts delivering the topic's payloads to `deliver` (called once per topic). */
  listen(topic: string, deliver: (payload: string) => void): Promise<void>;
  /** Stops delivering the topic's payloads. */
  unlisten(topic: string): Promise<void>;
  /** Sends a payload to every process listening on the topic, this one included. */
  publish(topic: string, payload: string): Promise<void>;
  /** Counts `member` as present on the topic until `leave` (or until its process dies). */
  join(topic: string, member: string): Promise<void>;
  leave(topic: string, member: string): Promise<void>;
  /** Members present on the topic, across every process sharing the backend. */
  count(topic: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * The in-process backend: delivery and presence within this process only.
 *
 * @example
 * const broadcast = new Broadcast(new MemoryBackend());
 */
export class MemoryBackend implements BroadcastBackend {
  private readonly listeners = new Map<string, (payload: string) => void>();
  private readonly members = new Map<string, Set<string>>();

  async listen(topic: string, deliver: (payload: string) => void): Promise<void> {
    this.listeners.set(topic, deliver);
  }

  async unlisten(topic: string): Promise<void> {
    this.listeners.delete(topic);
  }

  async publish(topic: string, payload: string): Promise<void> {
    this.listeners.get(topic)?.(payload);
  }

  async join(topic: string, member: string): Promise<void> {
    let set = this.members.get(topic);
    if (set === undefined) this.members.set(topic, (set = new Set()));
    set.add(member);
  }

  async leave(topic: string, member: string): Promise<void> {
    const set = this.members.get(topic);
    set?.delete(member);
    if (set?.size === 0) this.members.delete(topic);
  }

  async count(topic: string): Promise<number> {
    return this.members.get(topic)?.size ?? 0;
  }

  async close(): Promise<void> {
    this.listeners.clear();
    this.members.clear();
  }
}

/**
 * Options for `RedisBackend`.
 *
 * @example
 * new RedisBackend(process.env.REDIS_URL!, { prefix: "chat:", presenceTtl: 30_000 });
 */
export interface RedisBackendOptions {
  /** Prefix of every Redis key and channel (default `tornado:`), to share one Redis between apps. */
  prefix?: string;
  /**
   * How long (ms) a member stays counted after its process stops refreshing it (default 30 s):
   * a process that crashes drops out of presence counts after this long.
   */
  presenceTtl?: number;
}

interface RedisClient {
  publish(channel: string, message: string): Promise<number>;
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  zadd(key: string, score: number, member: string): Promise<unknown>;
  zrem(key: string, member: string): Promise<unknown>;
  zremrangebyscore(key: string, min: string | number, max: string | number): Promise<unknown>;
  zcard(key: string): Promise<number>;
  pexpire(key: string, ms: number): Promise<unknown>;
  on(event: "message", listener: (channel: string, message: string) => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
  connect(): Promise<void>;
  quit(): Promise<unknown>;
  disconnect(): void;
}

/**
 * The Redis backend: messages through Redis pub/sub, presence in a sorted set per topic whose
 * entries each process refreshes (so a crashed process's members expire). Uses two
 * connections, as Redis requires for a subscriber.
 *
 * @example
 * const backend = new RedisBackend("redis://127.0.0.1:6379");
 * await backend.connect();
 */
export class RedisBackend implements BroadcastBackend {
  readonly url: string;
  private readonly prefix: string;
  private readonly presenceTtl: number;
  private commands: RedisClient | undefined;
  private subscriber: RedisClient | undefined;
  private connecting: Promise<void> | undefined;
  private readonly delivery = new Map<string, (payload: string) => void>();
  private readonly joined = new Map<string, Set<string>>();
  private refreshTimer: NodeJS.Timeout | undefined;

  constructor(url: string, { prefix = "tornado:", presenceTtl = 30_000 }: RedisBackendOptions = {}) {
    this.url = url;
    this.prefix = prefix;
    this.presenceTtl = presenceTtl;
  }

  /**
   * Opens both connections; rejects with a clear error if Redis cannot be reached. Every other
   * method connects on first use.
   *
   * @example
   * await new RedisBackend(process.env.REDIS_URL!).connect();
   */
  connect(): Promise<void> {
    this.connecting ??= this.open();
    return this.connecting;
  }

  private async open(): Promise<void> {
    // ioredis is loaded only by apps that use Redis.
    const { Redis } = await import("ioredis").catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "ERR_MODULE_NOT_FOUND") throw error;
      throw new Error("REDIS_URL needs ioredis, which this app does not install: run `npm install ioredis`", { cause: error });
    });
    const make = () =>
      new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 3, connectionName: "tornado-broadcast" }) as unknown as RedisClient;
    const commands = make();
    const subscriber = make();
    // Reconnection is ioredis's job; an error event must not crash the app meanwhile. The
    // first one is kept: it says why a connect failed ("Connection is closed" does not).
    let firstError: Error | undefined;
    for (const client of [commands, subscriber]) client.on("error", (error) => (firstError ??= error));
    try {
      await Promise.all([commands.connect(), subscriber.connect()]);
    } catch (error) {
      commands.disconnect();
      subscriber.disconnect();
      this.connecting = undefined;
      const cause = firstError ?? (error as Error);
      throw new Error(`broadcast: cannot reach Redis at ${this.url}: ${cause.message}`, { cause });
    }
    subscriber.on("message", (channel, message) => this.delivery.get(channel.slice(this.channelPrefix.length))?.(message));
    this.commands = commands;
    this.subscriber = subscriber;
  }

  private get channelPrefix(): string {
    return `${this.prefix}topic:`;
  }

  private presenceKey(topic: string): string {
    return `${this.prefix}presence:${topic}`;
  }

  private async client(): Promise<{ commands: RedisClient; subscriber: RedisClient }> {
    await this.connect();
    return { commands: this.commands!, subscriber: this.subscriber! };
  }

  async listen(topic: string, deliver: (payload: string) => void): Promise<void> {
    const { subscriber } = await this.client();
    this.delivery.set(topic, deliver);
    await subscriber.subscribe(this.channelPrefix + topic);
  }

  async unlisten(topic: string): Promise<void> {
    this.delivery.delete(topic);
    if (this.subscriber !== undefined) await this.subscriber.unsubscribe(this.channelPrefix + topic);
  }

  async publish(topic: string, payload: string): Promise<void> {
    const { commands } = await this.client();
    await commands.publish(this.channelPrefix + topic, payload);
  }

  async join(topic: string, member: string): Promise<void> {
    const { commands } = await this.client();
    let set = this.joined.get(topic);
    if (set === undefined) this.joined.set(topic, (set = new Set()));
    set.add(member);
    await this.touch(commands, topic, member);
    this.refreshTimer ??= setInterval(() => void this.refresh(), Math.max(10, this.presenceTtl / 3)).unref();
  }

  private async touch(commands: RedisClient, topic: string, member: string): Promise<void> {
    const key = this.presenceKey(topic);
    await commands.zadd(key, Date.now() + this.presenceTtl, member);
    // The key itself goes when every member has stopped refreshing.
    await commands.pexpire(key, this.presenceTtl * 2);
  }

  private async refresh(): Promise<void> {
    const commands = this.commands;
    if (commands === undefined) return;
    try {
      for (const [topic, members] of this.joined) for (const member of members) await this.touch(commands, topic, member);
    } catch {
      // Redis is away; ioredis reconnects and the next refresh tries again.
    }
  }

  async leave(topic: string, member: string): Promise<void> {
    const set = this.joined.get(topic);
    set?.delete(member);
    if (set?.size === 0) this.joined.delete(topic);
    if (this.joined.size === 0 && this.refreshTimer !== undefined) {
      clearInterval(this.refreshTimer);
      this.refreshTimer = undefined;
    }
    if (this.commands !== undefined) await this.commands.zrem(this.presenceKey(topic), member);
  }

  async count(topic: string): Promise<number> {
    const { commands } = await this.client();
    const key = this.presenceKey(topic);
    await commands.zremrangebyscore(key, "-inf", Date.now());
    return commands.zcard(key);
  }

  async close(): Promise<void> {
    for (const [topic, members] of [...this.joined]) for (const member of [...members]) await this.leave(topic, member).catch(() => {});
    clearInterval(this.refreshTimer);
    this.refreshTimer = undefined;
    this.delivery.clear();
    const clients = [this.commands, this.subscriber].filter((c) => c !== undefined);
    this.commands = this.subscriber = undefined;
    this.connecting = undefined;
    await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
  }
}

/**
 * Topics with subscribers and a presence count, over a backend: in-process by default, Redis
 * when built by `Broadcast.fromEnv()` with `REDIS_URL` set. Messages are any JSON value; each
 * subscriber of a topic gets each message published on it once, in publish order per
 * publisher.
 *
 * @example
 * const broadcast = Broadcast.fromEnv();
 * const sub = await broadcast.subscribe("room:lobby", (message) => console.log(message));
 * await broadcast.publish("room:lobby", { from: "ann", text: "hi" });
 * await broadcast.presence("room:lobby"); // 1
 * await sub.unsubscribe();
 */
export class Broadcast {
  readonly backend: BroadcastBackend;
  private readonly listeners = new Map<string, Map<string, BroadcastListener>>();
  private readonly processId = randomUUID();
  private nextId = 1;

  constructor(backend: BroadcastBackend = new MemoryBackend()) {
    this.backend = backend;
  }

  /**
   * A broadcast over Redis when `env.REDIS_URL` is set, in-process otherwise.
   *
   * @example
   * const broadcast = Broadcast.fromEnv(); // REDIS_URL=redis://127.0.0.1:6379 → Redis
   */
  static fromEnv(env: NodeJS.ProcessEnv = process.env, options: RedisBackendOptions = {}): Broadcast {
    const url = env.REDIS_URL;
    return new Broadcast(url ? new RedisBackend(url, options) : new MemoryBackend());
  }

  /** `redis` or `memory`, for logs. @example broadcast.kind // "memory" */
  get kind(): "redis" | "memory" {
    return this.backend instanceof RedisBackend ? "redis" : "memory";
  }

  /**
   * Subscribes `listener` to `topic`, counting it present there; resolves once messages
   * published from then on (from any process) will reach it.
   *
   * @example
   * const sub = await broadcast.subscribe("room:lobby", (message) => this.writeMessage(message));
   */
  async subscribe(topic: string, listener: BroadcastListener): Promise<Subscription> {
    const member = `${this.processId}:${this.nextId++}`;
    let local = this.listeners.get(topic);
    const first = local === undefined;
    if (local === undefined) this.listeners.set(topic, (local = new Map()));
    local.set(member, listener);
    if (first) await this.backend.listen(topic, (payload) => this.deliver(topic, payload));
    await this.backend.join(topic, member);
    let active = true;
    return {
      topic,
      unsubscribe: async () => {
        if (!active) return;
        active = false;
        const current = this.listeners.get(topic);
        current?.delete(member);
        if (current?.size === 0) {
          this.listeners.delete(topic);
          await this.backend.unlisten(topic);
        }
        await this.backend.leave(topic, member);
      },
    };
  }

  private deliver(topic: string, payload: string): void {
    let message: unknown;
    try {
      message = JSON.parse(payload);
    } catch {
      // Something else published on our channel (another app sharing the Redis and the
      // prefix?): reported, never thrown from Redis's event handler, which would crash the app.
      appLog.error(`broadcast: a message on ${topic} is not JSON, dropped: ${payload.slice(0, 80)}`);
      return;
    }
    for (const listener of [...(this.listeners.get(topic)?.values() ?? [])]) {
      try {
        listener(message, topic);
      } catch (error) {
        // One failing listener must not keep the message from the others, nor crash the app.
        appLog.error(`broadcast listener on ${topic} failed`, error);
      }
    }
  }

  /**
   * Sends `message` (any JSON value) to every subscriber of `topic`, in every process.
   *
   * @example
   * await broadcast.publish("room:lobby", { from: "ann", text: "hi" });
   */
  async publish(topic: string, message: unknown): Promise<void> {
    await this.backend.publish(topic, JSON.stringify(message));
  }

  /**
   * How many subscriptions `topic` has, across every process sharing the backend.
   *
   * @example
   * await broadcast.presence("room:lobby") // 3
   */
  presence(topic: string): Promise<number> {
    return this.backend.count(topic);
  }

  /**
   * Ends every subscription of this process and closes the backend's connections.
   *
   * @example
   * await broadcast.close();
   */
  async close(): Promise<void> {
    this.listeners.clear();
    await this.backend.close();
  }
}

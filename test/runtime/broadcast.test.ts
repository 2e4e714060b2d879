import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Broadcast, MemoryBackend, RedisBackend } from "../../runtime/broadcast.js";
import { expectLog } from "../../runtime/testing.js";
import { appLog } from "../../runtime/log.js";
import { repoRoot } from "../helpers/cli.js";
import { REDIS_URL, requireService } from "../helpers/services.js";

const redisUrl = new URL(REDIS_URL);
const redis = await requireService("Redis", redisUrl.hostname, Number(redisUrl.port || 6379));

const open: Broadcast[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((b) => b.close()));
});

function received(): { messages: unknown[]; next: (count?: number) => Promise<unknown[]>; listener: (m: unknown) => void } {
  const messages: unknown[] = [];
  let waiting: (() => void) | undefined;
  return {
    messages,
    listener: (m) => {
      messages.push(m);
      waiting?.();
    },
    next: (count = 1) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out with ${messages.length} of ${count} messages`)), 5000);
        const check = () => {
          if (messages.length >= count) {
            clearTimeout(timer);
            waiting = undefined;
            resolve(messages);
          }
        };
        waiting = check;
        check();
      }),
  };
}

const backends = {
  memory: () => new Broadcast(new MemoryBackend()),
  // A prefix of its own per test run keeps runs (and other apps on this Redis) apart.
  redis: (prefix: string, presenceTtl?: number) => new Broadcast(new RedisBackend(REDIS_URL, { prefix, presenceTtl })),
};

for (const kind of ["memory", "redis"] as const) {
  describe.skipIf(kind === "redis" && !redis)(`Broadcast (${kind})`, () => {
    const make = () => {
      const b = kind === "memory" ? backends.memory() : backends.redis(`test-${randomUUID()}:`);
      open.push(b);
      return b;
    };

    it("delivers a message to every subscriber of its topic, and only theirs", async () => {
      const broadcast = make();
      const a = received();
      const b = received();
      const other = received();
      await broadcast.subscribe("room:1", a.listener);
      await broadcast.subscribe("room:1", b.listener);
      await broadcast.subscribe("room:2", other.listener);
      await broadcast.publish("room:1", { text: "hi", n: 1 });
      expect(await a.next()).toEqual([{ text: "hi", n: 1 }]);
      expect(await b.next()).toEqual([{ text: "hi", n: 1 }]);
      await broadcast.publish("room:2", "second room");
      expect(await other.next()).toEqual(["second room"]);
      expect(a.messages).toHaveLength(1);
    });

    it("keeps a publisher's order", async () => {
      const broadcast = make();
      const r = received();
      await broadcast.subscribe("feed", r.listener);
      for (let i = 0; i < 50; i++) void broadcast.publish("feed", i);
      expect(await r.next(50)).toEqual([...Array(50).keys()]);
    });

    it("counts presence, and stops delivering after unsubscribe", async () => {
      const broadcast = make();
      const a = received();
      const b = received();
      const subA = await broadcast.subscribe("room", a.listener);
      await broadcast.subscribe("room", b.listener);
      expect(await broadcast.presence("room")).toBe(2);
      expect(await broadcast.presence("empty")).toBe(0);
      await subA.unsubscribe();
      await subA.unsubscribe(); // a second call is harmless
      expect(await broadcast.presence("room")).toBe(1);
      await broadcast.publish("room", "after");
      await b.next();
      expect(a.messages).toEqual([]);
    });

    it("logs a listener that throws and still delivers to the others", async () => {
      const broadcast = make();
      const r = received();
      await broadcast.subscribe("room", () => {
        throw new Error("listener bug");
      });
      await broadcast.subscribe("room", r.listener);
      await expectLog(appLog, /broadcast listener on room failed/, async () => {
        await broadcast.publish("room", "x");
        await r.next();
      });
    });
  });
}

describe.skipIf(!redis)("Broadcast over Redis, across processes", () => {
  it("delivers between two instances (two connections, as two processes have) and counts presence across them", async () => {
    const prefix = `test-${randomUUID()}:`;
    const one = backends.redis(prefix);
    const two = backends.redis(prefix);
    open.push(one, two);
    const r1 = received();
    const r2 = received();
    await one.subscribe("room", r1.listener);
    await two.subscribe("room", r2.listener);
    expect(await one.presence("room")).toBe(2);
    await one.publish("room", { from: "one" });
    await two.publish("room", { from: "two" });
    expect(await r1.next(2)).toEqual(expect.arrayContaining([{ from: "one" }, { from: "two" }]));
    expect(await r2.next(2)).toEqual(expect.arrayContaining([{ from: "one" }, { from: "two" }]));
    await two.close();
    expect(await one.presence("room")).toBe(1);
  });

  it("drops a killed process's members from presence once their time-to-live passes", async () => {
    const prefix = `test-${randomUUID()}:`;
    const here = backends.redis(prefix, 300);
    open.push(here);
    // A real second process that subscribes, says so, and is then killed without cleaning up.
    const script = `
      const { Broadcast, RedisBackend } = await import(${JSON.stringify(join(repoRoot, "dist/runtime/broadcast.js"))});
      const b = new Broadcast(new RedisBackend(${JSON.stringify(REDIS_URL)}, { prefix: ${JSON.stringify(prefix)}, presenceTtl: 300 }));
      await b.subscribe("room", () => {});
      console.log("subscribed");
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => d.toString().includes("subscribed") && resolve());
      child.once("exit", (code) => reject(new Error(`the subscriber exited (${code})`)));
    });
    await here.subscribe("room", () => {});
    // The other process keeps its member alive while it runs…
    await new Promise((r) => setTimeout(r, 700));
    expect(await here.presence("room")).toBe(2);
    child.kill("SIGKILL");
    // …and once it is gone, its member expires.
    await new Promise((r) => setTimeout(r, 700));
    expect(await here.presence("room")).toBe(1);
  });

  it("drops (and logs) a message on its channel that is not JSON, and keeps delivering", async () => {
    const prefix = `test-${randomUUID()}:`;
    const broadcast = backends.redis(prefix);
    open.push(broadcast);
    const r = received();
    await broadcast.subscribe("room", r.listener);
    const { Redis } = await import("ioredis");
    const stranger = new Redis(REDIS_URL);
    try {
      await expectLog(appLog, /broadcast: a message on room is not JSON, dropped: \{oops/, async () => {
        await stranger.publish(`${prefix}topic:room`, "{oops");
        await broadcast.publish("room", "after");
        expect(await r.next()).toEqual(["after"]);
      });
    } finally {
      stranger.disconnect();
    }
  });

  it("Broadcast.fromEnv picks Redis for REDIS_URL and memory without it", async () => {
    expect(Broadcast.fromEnv({}).kind).toBe("memory");
    const b = Broadcast.fromEnv({ REDIS_URL });
    open.push(b);
    expect(b.kind).toBe("redis");
  });

  it("a Redis that cannot be reached is a clear error", async () => {
    const backend = new RedisBackend("redis://127.0.0.1:1");
    await expect(backend.connect()).rejects.toThrow(/^broadcast: cannot reach Redis at redis:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/);
  });
});

describe("Broadcast with WebSockets", () => {
  it("1,000 clients connected at once all get a broadcast", async () => {
    const { Application } = await import("../../runtime/web.js");
    const { WebSocketHandler, websocketConnect } = await import("../../runtime/websocket.js");
    const { createTestServer } = await import("../../runtime/testing.js");
    const broadcast = backends.memory();
    open.push(broadcast);
    class Listener extends WebSocketHandler {
      override async open(): Promise<void> {
        const sub = await broadcast.subscribe("all", (message) => void this.writeMessage(message as object).catch(() => {}));
        this.onClose = () => void sub.unsubscribe();
        await this.writeMessage({ subscribed: true });
      }
    }
    const t = await createTestServer(new Application([["/listen", Listener]]));
    try {
      const clients = await Promise.all(Array.from({ length: 1000 }, () => websocketConnect(t.url("/listen").replace("http", "ws"))));
      await Promise.all(clients.map(async (c) => expect(JSON.parse(String(await c.readMessage()))).toEqual({ subscribed: true })));
      expect(await broadcast.presence("all")).toBe(1000);
      await broadcast.publish("all", { news: "for everyone" });
      const got = await Promise.all(clients.map(async (c) => JSON.parse(String(await c.readMessage()))));
      expect(got.filter((m) => m.news === "for everyone")).toHaveLength(1000);
      await Promise.all(clients.map((c) => c.close()));
    } finally {
      await t.close();
    }
  }, 60_000);
});

/**
 * `create-tornado-app --template websocket`: the chat app installs, type-checks and passes its
 * own tests; two processes of it sharing Redis deliver each other's messages; a real browser
 * (Debian's Chromium, headless) joins a room and sees a message from a second client;
 * `tornado dev` closes chats with 1012 on a restart; `tornado generate websocket` adds a
 * working handler; its OpenAPI document is valid and its operations answer as it says.
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { websocketConnect, type WebSocketClientConnection } from "../../runtime/websocket.js";
import { runCommand } from "../helpers/cli.js";
import { createBuiltApp, editFile, freePort, startTornado, stopAll, type CreatedApp, type Tornado } from "../helpers/dev.js";
import { checkDockerfile } from "../helpers/dockerfile.js";
import { environmentNames } from "../helpers/env-example.js";
import { ApiContract } from "../helpers/openapi.js";
import { runWorkflowJob } from "../helpers/workflow.js";
import { nginxAvailable, startNginx } from "../helpers/nginx.js";
import { WebSocket as WsClient } from "ws";
import { REDIS_URL, requireService } from "../helpers/services.js";

const redisUrl = new URL(REDIS_URL);
const redis = await requireService("Redis", redisUrl.hostname, Number(redisUrl.port || 6379));
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const chromium = existsSync(CHROMIUM);
if (!chromium) {
  if (process.env.CI === "true") throw new Error(`Chromium is not at ${CHROMIUM}, and CI=true: install it (apt-get install chromium; see .ci/run).`);
  console.warn(`skipping the browser test: no Chromium at ${CHROMIUM} (set CHROMIUM_PATH)`);
}

let created: CreatedApp | undefined;
let app: string;

beforeAll(async () => {
  created = await createBuiltApp("ws", "websocket");
  app = created.app;
}, 300_000);
afterEach(() => stopAll());
afterAll(() => created?.remove());

it("runs what its Dockerfile runs: a production install without the CLI's dependencies, the built app serving its page and /health as a non-root user, exit 0 on SIGTERM", async () => {
  const { body, installed, devCommand } = await checkDockerfile(app, { port: await freePort(), path: "/" });
  expect(devCommand).toEqual({
    status: 1,
    stderr: "error: tornado routes needs the app's development dependencies (tornado-tools), which a production install (npm ci --omit=dev) leaves out: run npm install.\n",
  });
  expect(body).toContain("<html");
  expect(installed).toEqual(expect.arrayContaining(["tornado", "ws", "ioredis", "zod"]));
  for (const devOnly of ["typescript", "tsx", "esbuild", "@esbuild", "chokidar", "prompts", "commander", "diff", "handlebars", "vitest", "tornado-tools"]) {
    expect(installed).not.toContain(devOnly);
  }
}, 300_000);

it("checks its environment at start: .env.example names every variable src/env.ts reads, and a bad value is one sentence and exit 1", async () => {
  const { listed, read } = await environmentNames(app);
  expect(listed).toEqual(read);
  expect(read).toEqual(expect.arrayContaining(["PORT", "REDIS_URL", "LOG_FORMAT"]));
  const bad = startTornado(app, ["start"], { port: await freePort(), env: { REDIS_URL: "http://127.0.0.1:6379" } });
  expect(await bad.waitForExit(30_000)).toEqual({ code: 1, signal: null });
  expect(bad.stderr()).toContain('REDIS_URL: must be a redis:// or rediss:// URL (got "http://127.0.0.1:6379").');
}, 60_000);

const nginx = nginxAvailable();

/**
 * A chat member through nginx that reconnects and joins again whenever its connection closes,
 * and keeps every message text it receives (the publisher's sequence numbers) and when it joined.
 */
class Member {
  ws: WsClient | undefined;
  readonly received: number[] = [];
  /** Index into `received` at the last join: what came after must be complete. */
  joinedAt = -1;
  joins = 0;
  readonly closeCodes: number[] = [];
  stopped = false;
  constructor(
    private readonly url: string,
    private readonly room: string,
    readonly name: string,
  ) {}

  connect(): void {
    const ws = (this.ws = new WsClient(this.url));
    ws.on("open", () => ws.send(JSON.stringify({ type: "join", room: this.room, name: this.name })));
    ws.on("message", (data) => {
      const event = JSON.parse(String(data)) as Event;
      if (event.type === "joined" && event.name === this.name) {
        this.joinedAt = this.received.length;
        this.joins++;
      } else if (event.type === "message" && event.name === "publisher") this.received.push(Number(event.text));
    });
    ws.on("error", () => {});
    ws.on("close", (code) => {
      this.closeCodes.push(code);
      this.joinedAt = -1;
      if (!this.stopped) setTimeout(() => this.connect(), 100);
    });
  }

  get joined(): boolean {
    return this.joinedAt >= 0 && this.ws?.readyState === WsClient.OPEN;
  }

  send(text: string): boolean {
    if (!this.joined) return false;
    this.ws!.send(JSON.stringify({ type: "say", room: this.room, text }));
    return true;
  }

  close(): void {
    this.stopped = true;
    this.ws?.close();
  }
}

it.skipIf(!redis || !nginx)(
  "behind nginx with three processes on Redis, a rolling restart: members of a stopped process get 1001, reconnect through nginx to another, and miss no message after they rejoin",
  async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    const env = { REDIS_URL };
    const start = async (port: number) => {
      const t = startTornado(app, ["start", "--drain-delay", "300"], { port, env });
      await t.waitFor(/Listening on http:\/\/localhost:\d+ \(broadcast: redis\)/);
      return t;
    };
    const processes = await Promise.all(ports.map(start));
    const lb = await startNginx(join(app, "deploy/nginx.conf"), await freePort(), ports);
    const url = `ws://127.0.0.1:${lb.port}/chat`;
    const room = `nginx-${randomUUID().slice(0, 8)}`;
    const members = Array.from({ length: 9 }, (_, i) => new Member(url, room, `member-${i}`));
    const publisher = new Member(url, room, "publisher");
    const everyone = [...members, publisher];
    const until = async (what: string, ok: () => boolean, timeout = 20_000) => {
      const deadline = Date.now() + timeout;
      while (!ok()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}\n${lb.errors()}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    let sent = 0;
    const publishing = setInterval(() => {
      if (publisher.send(String(sent + 1))) sent++;
    }, 150); // under the app's 10 messages a second per connection
    try {
      for (const m of everyone) m.connect();
      await until("everyone joined", () => everyone.every((m) => m.joined));
      await until("messages flow", () => sent >= 5);
      // The rolling restart: each process in turn gets SIGTERM and is replaced on its port.
      for (let i = 0; i < processes.length; i++) {
        const closesBefore = everyone.map((m) => m.closeCodes.length);
        expect(await processes[i]!.stop("SIGTERM", 30_000)).toEqual({ code: 0, signal: null });
        const moved = everyone.filter((m, j) => m.closeCodes.length > closesBefore[j]!);
        // nginx spreads connections, so the stopped process had some, and each was told 1001.
        expect(moved.length).toBeGreaterThan(0);
        for (const m of moved) expect(m.closeCodes.slice(closesBefore[everyone.indexOf(m)]!)).toContain(1001);
        processes[i] = await start(ports[i]!);
        await until("everyone rejoined", () => everyone.every((m) => m.joined));
        const mark = sent;
        await until("messages flow again", () => sent >= mark + 3);
      }
      const last = sent + 5;
      await until("the last messages are out", () => sent >= last);
      clearInterval(publishing);
      await until("every member has the last message", () => members.every((m) => m.received.includes(sent)));
      let reconnects = 0;
      for (const m of members) {
        // After its last join, a member got every message, in order, to the last one.
        const after = m.received.slice(m.joinedAt);
        expect(after.length).toBeGreaterThan(0);
        expect(after).toEqual(Array.from({ length: after.length }, (_, k) => after[0]! + k));
        expect(after.at(-1)).toBe(sent);
        reconnects += m.joins - 1;
      }
      console.log(`rolling restart behind nginx: ${sent} messages to ${members.length} members, ${reconnects} reconnects, none lost after a rejoin`);
      expect(reconnects).toBeGreaterThanOrEqual(3);
    } finally {
      clearInterval(publishing);
      for (const m of everyone) m.close();
      await lb.stop();
    }
  },
  180_000,
);

type Event = { type: string; room?: string; name?: string; text?: string; presence?: number; error?: string };

async function next(ws: WebSocketClientConnection): Promise<Event> {
  const frame = await ws.readMessage();
  if (frame === null) throw new Error(`closed (${ws.closeCode})`);
  return JSON.parse(String(frame)) as Event;
}

/** Reads until an event of `type` arrives (others, such as presence updates, are skipped). */
async function nextOfType(ws: WebSocketClientConnection, type: string): Promise<Event> {
  for (;;) {
    const event = await next(ws);
    if (event.type === type) return event;
  }
}

/** Reads until the message saying `text` arrives (a client also gets its own messages). */
async function said(ws: WebSocketClientConnection, text: string): Promise<Event> {
  for (;;) {
    const event = await nextOfType(ws, "message");
    if (event.text === text) return event;
  }
}

async function joinRoom(port: number, room: string, name: string): Promise<WebSocketClientConnection> {
  const ws = await websocketConnect(`ws://127.0.0.1:${port}/chat`);
  await ws.writeMessage(JSON.stringify({ type: "join", room, name }));
  expect(await nextOfType(ws, "joined")).toMatchObject({ room, name });
  return ws;
}

/** Starts the built app (`node dist/main.js`, as `tornado start` runs it) on a free port. */
async function startBuilt(env: NodeJS.ProcessEnv): Promise<Tornado> {
  const port = await freePort();
  const t = startTornado(app, ["start"], { port, env });
  await t.waitFor(/Listening on http:\/\/localhost:\d+ \(broadcast: (redis|memory)\)/);
  return t;
}

describe("the websocket template", () => {
  it("passes its own CI workflow's steps: npm ci, type check, lint, its tests", async () => {
    const steps = await runWorkflowJob(app, "test");
    expect(steps.map((s) => s.run)).toEqual(["npm ci", "npm run typecheck", "npm run lint", "npm test"]);
    for (const { run, result } of steps) expect(result.code, `${run}:\n${result.stdout}${result.stderr}`).toBe(0);
    const tests = steps.at(-1)!.result;
    expect(tests.stdout).toMatch(/✓ test\/chat\.test\.ts \(9 tests\)/);
    // The tests assert the warnings they expect (expectLog): none is printed.
    expect(tests.stdout + tests.stderr).not.toMatch(/\[[WE] \d{6} /);
  }, 120_000);

  it.skipIf(!redis)("two processes sharing Redis deliver a message from a client on one to a client on the other", async () => {
    const env = { REDIS_URL };
    const one = await startBuilt(env);
    const two = await startBuilt(env);
    expect(one.output()).toContain("(broadcast: redis)");
    const room = `room-${randomUUID().slice(0, 8)}`;
    const ann = await joinRoom(one.port, room, "ann");
    const bob = await joinRoom(two.port, room, "bob");
    expect(await nextOfType(ann, "joined")).toEqual({ type: "joined", room, name: "bob", presence: 2 });
    await bob.writeMessage(JSON.stringify({ type: "say", room, text: "hello from two" }));
    expect(await said(ann, "hello from two")).toMatchObject({ room, name: "bob" });
    await ann.writeMessage(JSON.stringify({ type: "say", room, text: "hello from one" }));
    expect(await said(bob, "hello from one")).toMatchObject({ room, name: "ann" });
    await Promise.all([ann.close(), bob.close()]);
  }, 60_000);

  it.skipIf(!chromium || !redis)("in a real browser: join a room and see a message from a second client on another process", async () => {
    const env = { REDIS_URL };
    const one = await startBuilt(env);
    const two = await startBuilt(env);
    const room = `room-${randomUUID().slice(0, 8)}`;
    const { default: puppeteer } = await import("puppeteer-core");
    const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${one.port}/`);
      // Page functions are written as strings: this file is compiled without the DOM's types.
      const shown = (text: string) => `[...document.querySelectorAll("#messages li")].some((li) => li.textContent.startsWith(${JSON.stringify(text)}))`;
      await page.waitForFunction(`document.getElementById("status").textContent === "connected"`);
      await page.type("#name", "ann");
      await page.evaluate(`document.getElementById("room").value = ${JSON.stringify(room)}`);
      await page.click("#join");
      await page.waitForFunction(shown("ann joined"));

      const bob = await joinRoom(two.port, room, "bob");
      await bob.writeMessage(JSON.stringify({ type: "say", room, text: "hi from the other process" }));
      await page.waitForFunction(shown("bob: hi from the other process"), { timeout: 10_000 });

      // And the other way: the page says something, the second client gets it.
      await page.type("#text", "hello bob");
      await page.click("#send");
      expect(await said(bob, "hello bob")).toMatchObject({ room, name: "ann" });
      await bob.close();
    } finally {
      await browser.close();
    }
  }, 90_000);

  it("tornado dev closes open chats with 1012 (Service Restart) on a restart, and serves the new code", async () => {
    const port = await freePort();
    const dev = startTornado(app, ["dev"], { port });
    await dev.waitFor(/started src\/main\.ts in \d+ ms/);
    const ws = await joinRoom(port, "lobby", "ann");
    const since = dev.mark();
    editFile(join(app, "src/handlers/health.ts"), (source) => source.replace('status: "ok"', 'status: "ok", restarted: true'));
    await dev.waitFor(/restarted/, { since, timeout: 30_000 });
    expect(await ws.readMessage()).toBeNull();
    expect(ws.closeCode).toBe(1012);
    const health = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { restarted?: boolean };
    expect(health.restarted).toBe(true);
    // A client reconnects to the new version.
    const again = await joinRoom(port, "lobby", "ann");
    await again.close();
  }, 60_000);

  it("tornado generate websocket adds a handler whose test passes", async () => {
    const result = await runCommand(join(app, "node_modules/.bin/tornado"), ["generate", "websocket", "LiveFeed"], app);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("websocket live-feed: class LiveFeedSocket; route /live-feed");
    const typecheck = await runCommand("npm", ["run", "typecheck"], app);
    expect(typecheck.code, typecheck.stdout + typecheck.stderr).toBe(0);
    const tests = await runCommand("npx", ["vitest", "run", "test/live-feed.test.ts"], app);
    expect(tests.code, tests.stdout + tests.stderr).toBe(0);
    expect(tests.stdout).toMatch(/✓ test\/live-feed\.test\.ts \(2 tests\)/);
    // The generated test asserts the 400 it causes (expectLog): nothing is printed.
    expect(tests.stdout + tests.stderr).not.toMatch(/\[[WE] \d{6} /);
    const destroyed = await runCommand(join(app, "node_modules/.bin/tornado"), ["destroy", "websocket", "live-feed"], app);
    expect(destroyed.code, destroyed.stderr).toBe(0);
    expect(existsSync(join(app, "src/handlers/live-feed.ts"))).toBe(false);
  }, 90_000);
  it("its OpenAPI 3.1 document is valid, and each operation in it answers with the status and body it documents (Ajv, Draft 2020-12)", async () => {
    const api = await ApiContract.ofApp(app);
    // The page and /health; the chat is a WebSocket, which OpenAPI does not describe (its
    // messages are the zod schemas of src/chat/protocol.ts).
    expect(api.operations().sort()).toEqual(["get /", "get /health"]);
    const t = await startBuilt({});
    const base = `http://127.0.0.1:${t.port}`;
    const page = await api.call(base, "get /");
    expect(page.status).toBe(200);
    const health = await api.call(base, "get /health");
    expect(health.body).toMatchObject({ status: "ok" });
    expect(api.uncalled()).toEqual([]);
    expect(api.unanswered()).toEqual([]);
  }, 60_000);
});

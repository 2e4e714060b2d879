/**
 * `tornado dev --inspect` and `--inspect-brk` with a real inspector-protocol client over its
 * WebSocket: it connects, the app restarts, it reconnects on the same port to the new process,
 * and a breakpoint it sets is hit by a request.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createApp, editFile, freePort, pollUntil, request, saveFiles, startTornado, stopAll, type CreatedApp, type Tornado } from "../helpers/dev.js";

const INSTALL_TIMEOUT = 300_000;

const PROBE = `import { Application, RequestHandler } from "tornado";

class Probe extends RequestHandler {
  get(): void {
    const answer = { version: "v1", pid: process.pid };
    this.write(answer);
  }
}

await new Application([["/", Probe]]).listen(Number(process.env.PORT));
`;

let created: CreatedApp | undefined;
let app: string;
let probe: string;
let saved: { restore: () => void };

beforeAll(async () => {
  created = await createApp("dev-inspect");
  app = created.app;
  probe = join(app, "src/probe.ts");
  writeFileSync(probe, PROBE);
  saved = saveFiles([probe]);
}, INSTALL_TIMEOUT);

afterEach(async () => {
  await stopAll();
  saved?.restore();
});

afterAll(() => created?.remove());

/** A minimal inspector-protocol client: commands with replies, and the events seen so far. */
class Inspector {
  private nextId = 1;
  private readonly pending = new Map<number, (reply: { result?: Record<string, unknown>; error?: unknown }) => void>();
  readonly events: { method: string; params: Record<string, unknown> }[] = [];
  private readonly waiters = new Set<() => void>();
  readonly closed: Promise<void>;

  private constructor(private readonly socket: WebSocket) {
    socket.on("message", (data) => {
      const message = JSON.parse(String(data)) as { id?: number; method?: string; params?: Record<string, unknown>; result?: Record<string, unknown>; error?: unknown };
      if (message.id !== undefined) this.pending.get(message.id)?.(message);
      else if (message.method) {
        this.events.push({ method: message.method, params: message.params ?? {} });
        for (const waiter of [...this.waiters]) waiter();
      }
    });
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
  }

  /** Connects to the first target listed on `host:port` (its /json/list). */
  static async connect(port: number): Promise<Inspector> {
    const list = await pollUntil(
      () => request(`http://127.0.0.1:${port}/json/list`),
      (r) => r.status === 200 && JSON.parse(r.body).length > 0,
    );
    const [target] = JSON.parse(list.body) as { webSocketDebuggerUrl: string; id: string }[];
    const socket = new WebSocket(target!.webSocketDebuggerUrl);
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("error", reject);
    });
    return new Inspector(socket);
  }

  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (reply) => (reply.error ? reject(new Error(`${method}: ${JSON.stringify(reply.error)}`)) : resolve(reply.result ?? {})));
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  async evaluate(expression: string): Promise<unknown> {
    const reply = (await this.send("Runtime.evaluate", { expression, returnByValue: true })) as { result: { value: unknown } };
    return reply.result.value;
  }

  /** Resolves with the first event named `method` (seen already, or to come) that `accept`s. */
  event(method: string, accept: (params: Record<string, unknown>) => boolean = () => true, timeout = 20_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.events.find((e) => e.method === method && accept(e.params));
        if (!found) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve(found.params);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`no ${method} within ${timeout} ms`));
      }, timeout);
      this.waiters.add(check);
      check();
    });
  }

  close(): void {
    this.socket.close();
  }
}

const pidOf = async (t: Tornado) => (JSON.parse((await request(`http://127.0.0.1:${t.port}/`)).body) as { pid: number }).pid;

describe("tornado dev --inspect", () => {
  it("opens the inspector on the same port in every new app process, and a breakpoint set there is hit", async () => {
    const inspectPort = await freePort();
    const t = startTornado(app, ["dev", "--entry", "src/probe.ts", "--no-typecheck", `--inspect=${inspectPort}`], { port: await freePort() });
    await t.waitFor(/started src\/probe\.ts in \d+ ms/, { timeout: 30_000 });
    expect(t.output()).toContain(`[tornado] debugger on 127.0.0.1:${inspectPort} for every app process`);

    const first = await Inspector.connect(inspectPort);
    const firstPid = await pidOf(t);
    expect(await first.evaluate("process.pid")).toBe(firstPid);

    // A save: the old process lets go of the debugger, the new one listens on the same port.
    const mark = t.mark();
    editFile(probe, (s) => s.replace('version: "v1"', 'version: "v2"'));
    await t.waitFor(/src\/probe\.ts changed · restarted in \d+ ms/, { since: mark });
    await first.closed;
    const secondPid = await pollUntil(() => pidOf(t), (pid) => pid !== firstPid);
    const second = await pollUntil(async () => {
      const client = await Inspector.connect(inspectPort);
      const pid = await client.evaluate("process.pid");
      if (pid === secondPid) return client;
      client.close();
      throw new Error(`the inspector is still the old process's (${String(pid)})`);
    }, () => true);

    // A breakpoint on the handler's `this.write(answer)`, in the code V8 runs (tsx minifies it:
    // found through the script's source, as a debugger maps it through the source map).
    await second.send("Debugger.enable");
    const script = await second.event("Debugger.scriptParsed", (p) => String(p.url).endsWith("/src/probe.ts"));
    const { scriptSource } = (await second.send("Debugger.getScriptSource", { scriptId: script.scriptId })) as { scriptSource: string };
    const lines = scriptSource.split("\n");
    const lineNumber = lines.findIndex((line) => line.includes("this.write(answer)"));
    expect(lineNumber).toBeGreaterThanOrEqual(0);
    const columnNumber = lines[lineNumber]!.indexOf("this.write(answer)");
    const location = { scriptId: script.scriptId, lineNumber, columnNumber };
    const { breakpointId } = (await second.send("Debugger.setBreakpoint", { location })) as { breakpointId: string };

    const answer = request(`http://127.0.0.1:${t.port}/`);
    const paused = await second.event("Debugger.paused");
    expect(paused.hitBreakpoints).toEqual([breakpointId]);
    // Paused inside the handler: its local variable is there to read.
    const [frame] = paused.callFrames as { callFrameId: string }[];
    const local = (await second.send("Debugger.evaluateOnCallFrame", { callFrameId: frame!.callFrameId, expression: "answer.version", returnByValue: true })) as { result: { value: unknown } };
    expect(local.result.value).toBe("v2");
    await second.send("Debugger.resume");
    const reply = await answer;
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({ version: "v2", pid: secondPid });
    second.close();
  }, 90_000);

  it("binds the inspector to loopback by default", async () => {
    const inspectPort = await freePort();
    const t = startTornado(app, ["dev", "--entry", "src/probe.ts", "--no-typecheck", `--inspect=${inspectPort}`], { port: await freePort() });
    await t.waitFor(/started src\/probe\.ts in \d+ ms/, { timeout: 30_000 });
    const client = await Inspector.connect(inspectPort);
    client.close();
    expect(t.output()).toMatch(new RegExp(`Debugger listening on ws://127\\.0\\.0\\.1:${inspectPort}/`));
  }, 60_000);
});

describe("tornado dev --inspect-brk", () => {
  it("waits for a debugger before the entry runs, stopped before it; requests wait meanwhile", async () => {
    const inspectPort = await freePort();
    const t = startTornado(app, ["dev", "--entry", "src/probe.ts", "--no-typecheck", `--inspect-brk=127.0.0.1:${inspectPort}`], { port: await freePort() });
    await t.waitFor(new RegExp(`waiting for a debugger on 127\\.0\\.0\\.1:${inspectPort} before src/probe\\.ts runs`), { timeout: 30_000 });
    const answer = request(`http://127.0.0.1:${t.port}/`, { timeout: 60_000 });

    const client = await Inspector.connect(inspectPort);
    await client.send("Debugger.enable");
    await client.send("Runtime.runIfWaitingForDebugger");
    await client.event("Debugger.paused");
    expect(t.output()).not.toMatch(/started src\/probe\.ts/);
    await client.send("Debugger.resume");
    await t.waitFor(/started src\/probe\.ts in \d+ ms/);
    const reply = await answer;
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ version: "v1" });
    client.close();
  }, 90_000);
});

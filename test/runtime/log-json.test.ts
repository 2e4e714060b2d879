import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { formatJsonLogRecord } from "../../runtime/log.js";

const fixture = new URL("./fixtures/json-logs.ts", import.meta.url).pathname;
const running = new Set<ChildProcess>();
afterEach(async () => {
  for (const child of running) {
    child.kill("SIGKILL");
    await once(child, "exit");
  }
  running.clear();
});

// Starts the fixture server in its own process with `env`; resolves with its port and a reader
// of the JSON lines it has logged so far.
async function start(mode: "trusted" | "untrusted", env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), fixture, mode], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  let stdout = "";
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on("data", (d) => {
      stdout += d;
      if (stdout.includes("\n")) resolve(JSON.parse(stdout.split("\n")[0]!).port);
    });
    child.once("exit", () => reject(new Error(`exited before serving:\n${stderr}`)));
  });
  const lines = () => stderr.split("\n").filter((line) => line !== "");
  // Waits until a logged line matches, so that the test does not race the server's writes.
  const line = async (match: (parsed: Record<string, any>) => boolean) => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const found = lines().map((l) => JSON.parse(l) as Record<string, any>).find(match);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no such line in:\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  return { port, lines, line, stderr: () => stderr };
}

describe("LOG_FORMAT=json", () => {
  it("writes one JSON object per line: time, level, logger, message and the request's id, method, path, route, status, duration", async () => {
    const app = await start("untrusted", { LOG_FORMAT: "json" });
    const res = await fetch(`http://127.0.0.1:${app.port}/orders/7`, { headers: { "X-Request-Id": "from-a-client" } });
    expect(res.status).toBe(200);
    const id = res.headers.get("X-Request-Id")!;
    // Generated (the client is not a trusted proxy): a UUID, not what the client sent.
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const access = await app.line((l) => l.logger === "tornado.access");
    expect(access).toMatchObject({ level: "info", message: expect.stringMatching(/^200 GET \/orders\/7 \(127\.0\.0\.1\) [\d.]+ms$/), requestId: id, method: "GET", path: "/orders/7", route: "order", status: 200 });
    expect(access.durationMs).toBeGreaterThan(0);
    expect(new Date(access.time).toISOString()).toBe(access.time); // ISO 8601 with its zone (Z)
    // The handler's own line, logged after an await, carries the same request.
    const own = await app.line((l) => l.logger === "myapp.orders");
    expect(own).toMatchObject({ level: "warning", message: "order 7 looked up", requestId: id, method: "GET", path: "/orders/7", route: "order" });
    expect(own).not.toHaveProperty("status");
    for (const line of app.lines()) expect(() => JSON.parse(line)).not.toThrow();
  });

  it("puts an error's stack in an error field, with the request's fields", async () => {
    const app = await start("untrusted", { LOG_FORMAT: "json" });
    const res = await fetch(`http://127.0.0.1:${app.port}/broken`);
    expect(res.status).toBe(500);
    const id = res.headers.get("X-Request-Id");
    const failure = await app.line((l) => l.logger === "tornado.application");
    expect(failure).toMatchObject({ level: "error", requestId: id, path: "/broken", route: "/broken", error: { name: "Error", message: "the card service is down" } });
    expect(failure.error.stack).toContain("json-logs.ts");
    expect(failure.message).not.toContain("\n");
  });

  it("takes X-Request-Id from a trusted proxy (trustedDownstream) and echoes it; a malformed one is replaced", async () => {
    const app = await start("trusted", { LOG_FORMAT: "json" });
    const res = await fetch(`http://127.0.0.1:${app.port}/orders/1`, { headers: { "X-Request-Id": "lb-4f1c:77" } });
    expect(res.headers.get("X-Request-Id")).toBe("lb-4f1c:77");
    expect(await app.line((l) => l.logger === "tornado.access" && l.path === "/orders/1")).toMatchObject({ requestId: "lb-4f1c:77" });
    const forged = await fetch(`http://127.0.0.1:${app.port}/orders/2`, { headers: { "X-Request-Id": `x" injected="1` } });
    expect(forged.headers.get("X-Request-Id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("is off by default: Tornado's text lines, and no X-Request-Id header", async () => {
    const app = await start("trusted", { LOG_FORMAT: "" });
    const res = await fetch(`http://127.0.0.1:${app.port}/orders/3`, { headers: { "X-Request-Id": "lb-1" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("X-Request-Id")).toBeNull();
    const deadline = Date.now() + 10_000;
    while (!app.stderr().includes("tornado.access") && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(app.stderr()).toMatch(/^\[I \d{6} [\d:]{8} tornado\.access\] 200 GET \/orders\/3 \(127\.0\.0\.1\) [\d.]+ms$/m);
  });
});

describe("formatJsonLogRecord(record)", () => {
  it("keeps the record's own keys when a field has the same name, and leaves out unset fields", () => {
    const line = formatJsonLogRecord({ logger: "a", level: "info", message: "m", time: new Date(0), fields: { requestId: "r", status: undefined, ...({ message: "not this" } as object) } });
    expect(JSON.parse(line)).toEqual({ time: "1970-01-01T00:00:00.000Z", level: "info", logger: "a", message: "m", requestId: "r" });
  });
});

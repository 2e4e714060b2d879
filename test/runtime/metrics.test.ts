/**
 * The `metrics` setting: Prometheus metrics through the real prom-client, scraped over HTTP as
 * Prometheus would.
 */
import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket as WsClient } from "ws";
import { Application, RequestHandler, url } from "../../runtime/web.js";
import { createTestServer, expectLog, type TestServer } from "../../runtime/testing.js";
import { WebSocketHandler } from "../../runtime/websocket.js";
import { freePort } from "../helpers/dev.js";

const open: TestServer[] = [];
afterEach(async () => {
  for (const server of open.splice(0)) await server.close();
});

let releaseSlow: (() => void) | undefined;
class User extends RequestHandler {
  get(id: string) {
    this.write({ id });
  }
}
class Slow extends RequestHandler {
  async get() {
    await new Promise<void>((resolve) => (releaseSlow = resolve));
    this.write("done");
  }
}
class Echo extends WebSocketHandler {
  override onMessage(message: string | Buffer) {
    return this.writeMessage(message);
  }
}

const routes = [url("/users/:id", User, { name: "user" }), ["/slow", Slow] as const, ["/ws", Echo] as const];

async function serve(settings: ConstructorParameters<typeof Application>[1]) {
  const t = await createTestServer(new Application(routes, settings));
  open.push(t);
  return t;
}

// The value of one sample line, e.g. metric('tornado_http_requests_total{route="user",method="GET",status="200"}').
function sample(text: string, line: string): number | undefined {
  const found = text.split("\n").find((l) => l.startsWith(line + " "));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

describe("the metrics setting", () => {
  it("true: GET /metrics on the app's port counts requests by route name, method and status, with durations", async () => {
    const t = await serve({ metrics: true });
    for (const path of ["/users/1", "/users/2"]) await (await t.fetch(path)).text();
    await expectLog("tornado.access", /404 GET \/nowhere/, async () => (await t.fetch("/nowhere")).text());
    const res = await t.fetch("/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(sample(text, 'tornado_http_requests_total{route="user",method="GET",status="200"}')).toBe(2);
    expect(sample(text, 'tornado_http_requests_total{route="(no route)",method="GET",status="404"}')).toBe(1);
    expect(sample(text, 'tornado_http_request_duration_seconds_count{route="user",method="GET",status="200"}')).toBe(2);
    expect(sample(text, 'tornado_http_request_duration_seconds_bucket{le="+Inf",route="user",method="GET",status="200"}')).toBe(2);
    // Node's own metrics, the event loop's delay among them.
    expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds \d/m);
    expect(text).toMatch(/^process_cpu_seconds_total \d/m);
  });

  it("reports requests in flight and open WebSockets as they are", async () => {
    const t = await serve({ metrics: true });
    const slow = t.fetch("/slow");
    while (releaseSlow === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
    const ws = new WsClient(t.url("/ws").replace("http", "ws"));
    await once(ws, "open");
    const during = await (await t.fetch("/metrics")).text();
    // The slow request, and the scrape itself.
    expect(sample(during, "tornado_http_requests_in_flight")).toBe(2);
    expect(sample(during, "tornado_websocket_connections_open")).toBe(1);
    releaseSlow!();
    releaseSlow = undefined;
    expect(await (await slow).text()).toBe("done");
    ws.close();
    await once(ws, "close");
    await new Promise((resolve) => setTimeout(resolve, 50));
    const after = await (await t.fetch("/metrics")).text();
    expect(sample(after, "tornado_http_requests_in_flight")).toBe(1);
    expect(sample(after, "tornado_websocket_connections_open")).toBe(0);
  });

  it("reports a database pool's running and waiting queries", async () => {
    let counts = { running: 3, waiting: 7, cancelled: 0 };
    const database = { counts: () => counts };
    const t = await serve({ metrics: { database } });
    let text = await (await t.fetch("/metrics")).text();
    expect(sample(text, 'tornado_db_pool_queries{state="running"}')).toBe(3);
    expect(sample(text, 'tornado_db_pool_queries{state="waiting"}')).toBe(7);
    counts = { running: 0, waiting: 0, cancelled: 0 };
    text = await (await t.fetch("/metrics")).text();
    expect(sample(text, 'tornado_db_pool_queries{state="waiting"}')).toBe(0);
  });

  it("{ port }: serves them on a port of their own, not on the app's, until the server closes", async () => {
    const port = await freePort();
    const t = await serve({ metrics: { port } });
    await (await t.fetch("/users/5")).text();
    expect(await expectLog("tornado.access", /404 GET \/metrics/, async () => (await t.fetch("/metrics")).status)).toBe(404);
    let res: Response | undefined;
    for (let i = 0; i < 100 && res === undefined; i++) {
      res = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined);
      if (res === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(res!.status).toBe(200);
    expect(sample(await res!.text(), 'tornado_http_requests_total{route="user",method="GET",status="200"}')).toBeGreaterThanOrEqual(1);
    expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    await open.pop()!.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });

  it("is off by default: no /metrics route", async () => {
    const t = await serve({});
    expect(await expectLog("tornado.access", /404 GET \/metrics/, async () => (await t.fetch("/metrics")).status)).toBe(404);
  });
});

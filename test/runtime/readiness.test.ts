/** ReadinessHandler and shutDownGracefully, through real sockets (their own file: draining is per process). */
import { describe, expect, it } from "vitest";
import { ReadinessHandler } from "../../runtime/handlers.js";
import { onShutdown, shutDownGracefully } from "../../runtime/httpserver.js";
import { createTestServer, expectLog } from "../../runtime/testing.js";
import { Application, RequestHandler } from "../../runtime/web.js";

class Health extends RequestHandler {
  get() {
    this.write("ok");
  }
}

describe("ReadinessHandler", () => {
  it("answers 200 ready when every check passes, and 503 naming each failing check and why", async () => {
    let migrated: boolean | string = true;
    const checks = {
      database: async () => true,
      migrations: () => migrated,
      cache: () => {
        throw new Error("redis is down");
      },
    };
    const t = await createTestServer(new Application([["/ready", ReadinessHandler, { checks }], ["/ready/plain", ReadinessHandler]]));
    try {
      expect(await (await t.fetch("/ready/plain")).json()).toEqual({ status: "ready" });
      const res = await expectLog("tornado.access", /503 GET \/ready/, () => t.fetch("/ready"));
      expect(res.status).toBe(503);
      expect(res.headers.get("Cache-Control")).toBe("no-store");
      expect(await res.json()).toEqual({ status: "not ready", failing: { cache: "redis is down" } });
      migrated = "2 migrations pending";
      const again = await expectLog("tornado.access", /503 GET \/ready/, () => t.fetch("/ready"));
      expect(await again.json()).toEqual({ status: "not ready", failing: { migrations: "2 migrations pending", cache: "redis is down" } });
    } finally {
      await t.close();
    }
  });
});

describe("shutDownGracefully({ drainDelay })", () => {
  it("turns readiness to 503 at once, serves for the delay, closes the servers, then runs the hooks in reverse order", async () => {
    const t = await createTestServer(new Application([["/ready", ReadinessHandler], ["/health", Health]]));
    const ran: string[] = [];
    onShutdown(() => ran.push(`first, server closed: ${t.server.closing}`));
    onShutdown(() => {
      ran.push("second");
      throw new Error("the queue would not flush");
    });
    const removed = onShutdown(() => ran.push("removed"));
    removed();
    const started = Date.now();
    const done = expectLog("tornado.application", /A shutdown hook failed/, () => shutDownGracefully({ drainDelay: 400, timeout: 2000 }));
    const ready = await expectLog("tornado.access", /503 GET \/ready/, () => t.fetch("/ready"));
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: "draining" });
    expect(await (await t.fetch("/health")).text()).toBe("ok");
    expect(ran).toEqual([]);
    await done;
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(ran).toEqual(["second", "first, server closed: true"]);
    await expect(t.fetch("/health")).rejects.toThrow();
    expect(shutDownGracefully()).toBe(shutDownGracefully());
  });
});

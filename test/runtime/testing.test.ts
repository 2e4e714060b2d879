import { describe, expect, it } from "vitest";
import {
  Application,
  HTTPServer,
  RequestHandler,
  appLog,
  WebSocketHandler,
  bindUnusedPort,
  createTestServer,
  expectLog,
  genLog,
} from "../../runtime/index.js";

class Hi extends RequestHandler {
  get() {
    this.write("hi");
  }
}

describe("createTestServer(app)", () => {
  it("serves the app on an ephemeral port of 127.0.0.1 until closed", async () => {
    const t = await createTestServer(new Application([["/", Hi]]));
    expect(t.port).toBeGreaterThan(0);
    expect(t.baseUrl).toBe(`http://127.0.0.1:${t.port}`);
    expect(t.url("/x?y=1")).toBe(`http://127.0.0.1:${t.port}/x?y=1`);
    expect(await (await t.fetch("/")).text()).toBe("hi");
    await t.close();
    await expect(fetch(t.url("/"))).rejects.toThrow();
  });

  it("passes server options through", async () => {
    class Echo extends RequestHandler {
      post() {
        this.write(this.request.body);
      }
    }
    const t = await createTestServer(new Application([["/", Echo]]), { maxBodySize: 4 });
    const res = await expectLog("tornado.general", /413 POST \/ .*Content-Length too long/, () =>
      expectLog("tornado.access", /413/, () => t.fetch("/", { method: "POST", body: "too long" })),
    );
    expect(res.status).toBe(413);
    await t.close();
  });
});

describe("createTestServer(app).websocket(path, options)", () => {
  it("opens a WebSocket to the server, closed with 1001 by close()", async () => {
    class Echo extends WebSocketHandler {
      override onMessage(message: string | Buffer) {
        void this.writeMessage(message);
      }
    }
    const t = await createTestServer(new Application([["/echo", Echo]]));
    const ws = await t.websocket("/echo", { compression: {} });
    await ws.writeMessage("hi");
    expect(await ws.readMessage()).toBe("hi");
    await t.close();
    expect(await ws.readMessage()).toBeNull();
    expect(ws.closeCode).toBe(1001);
  });
});

describe("bindUnusedPort()", () => {
  it("returns a listening socket an HTTPServer can serve on", async () => {
    const { port, socket } = await bindUnusedPort();
    const server = await new HTTPServer(new Application([["/", Hi]])).addSocket(socket);
    expect(server.port).toBe(port);
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe("hi");
    await server.close();
  });
});

describe("expectLog(logger, pattern, fn)", () => {
  it("returns fn's result when a matching record was logged", async () => {
    const result = await expectLog("tornado.general", /disk \d+% full/, () => {
      genLog.warning("disk 93% full");
      return 7;
    });
    expect(result).toBe(7);
  });

  it("fails when nothing matched", async () => {
    // The outer expectLog keeps the unmatched warning off the test output.
    await expectLog(genLog, "something else", () =>
      expect(expectLog(appLog, "never logged", () => genLog.warning("something else"))).rejects.toThrow(
        /nothing logged on tornado.application matched never logged/,
      ),
    );
  });

  it("matches only the given level when asked", async () => {
    await expectLog(genLog, "x", () =>
      expect(expectLog(genLog, "x", () => genLog.error("x"), { level: "warning" })).rejects.toThrow(/nothing logged/),
    );
  });

  it("does not fail with required: false", async () => {
    await expect(expectLog(genLog, "absent", () => undefined, { required: false })).resolves.toBeUndefined();
  });

  it("matches records below the configured level too", async () => {
    await expectLog(genLog, "debug detail", () => genLog.debug("debug detail"));
  });
});

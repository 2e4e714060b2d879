import { Socket } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  Application,
  WebSocketClosedError,
  WebSocketHandler,
  createTestServer,
  type TestServer,
  type WebSocketClientConnection,
} from "../../runtime/index.js";
import { deferred } from "../helpers/deferred.js";

let server: TestServer | undefined;
let client: WebSocketClientConnection | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await client?.close().catch(() => {});
  await server?.close();
  server = client = undefined;
});

/** The no-delay values set on the sockets whose local port is `port`, as they were set. */
function noDelayCalls(spy: { mock: { calls: unknown[][]; contexts: unknown[] } }, port: number): unknown[] {
  return spy.mock.contexts.flatMap((socket, i) => ((socket as Socket).localPort === port ? [spy.mock.calls[i]![0]] : []));
}

describe("WebSocketHandler.setNodelay(value) and WebSocketClientConnection.setNodelay(value)", () => {
  it("sets the TCP no-delay flag of the connection's socket, and messages still flow", async () => {
    // A spy that calls through: the flag really is set on the real sockets.
    const setNoDelay = vi.spyOn(Socket.prototype, "setNoDelay");
    class FeedSocket extends WebSocketHandler {
      override onMessage(message: string | Buffer) {
        const value = String(message) === "nagle" ? false : true;
        this.setNodelay(value);
        return this.writeMessage(`nodelay ${value}`);
      }
    }
    server = await createTestServer(new Application([["/feed", FeedSocket]]));
    client = await server.websocket("/feed");
    const serverPort = server.port;
    setNoDelay.mockClear(); // what ws itself set while opening

    await client.writeMessage("nagle");
    expect(await client.readMessage()).toBe("nodelay false");
    await client.writeMessage("fast");
    expect(await client.readMessage()).toBe("nodelay true");
    // On the server's end of the connection (local port = the server's), in that order.
    expect(noDelayCalls(setNoDelay, serverPort)).toEqual([false, true]);

    // The client's end: its socket's remote port is the server's.
    setNoDelay.mockClear();
    client.setNodelay(false);
    const clientSide = setNoDelay.mock.contexts.map((socket) => (socket as Socket).remotePort);
    expect(clientSide).toEqual([serverPort]);
    expect(setNoDelay.mock.calls).toEqual([[false]]);
    await client.writeMessage("fast");
    expect(await client.readMessage()).toBe("nodelay true");
  });

  it("throws WebSocketClosedError before open(), as the socket is not a WebSocket yet", () => {
    expect(() => new WebSocketHandler(new Application([]), {} as never).setNodelay(true)).toThrow(WebSocketClosedError);
  });

  it("does nothing once the connection is closed", async () => {
    let closedHandler: WebSocketHandler | undefined;
    const closed = deferred();
    class ClosingSocket extends WebSocketHandler {
      override onClose() {
        closedHandler = this;
        closed.resolve();
      }
    }
    server = await createTestServer(new Application([["/c", ClosingSocket]]));
    client = await server.websocket("/c");
    await client.close();
    await closed.promise;
    const setNoDelay = vi.spyOn(Socket.prototype, "setNoDelay");
    expect(() => closedHandler!.setNodelay(true)).not.toThrow();
    expect(() => client!.setNodelay(true)).not.toThrow();
    expect(setNoDelay).not.toHaveBeenCalled();
  });
});

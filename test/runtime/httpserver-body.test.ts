// Reading request bodies through HTTPServer: a body that came with its head (taken from node's
// buffer at once) and one still on its way (streamed in, within the limits) give the handler the
// same bytes, and the size limit holds on both paths. Real sockets, exact bytes (RawConnection).
import { afterEach, describe, expect, it } from "vitest";
import { Application, RequestHandler, createTestServer, expectLog, type HTTPServerOptions, type TestServer } from "../../runtime/index.js";
import { RawConnection, destroyRawConnections, rawRequest } from "../helpers/raw.js";

class EchoHandler extends RequestHandler {
  get() {
    this.write("still-alive");
  }
  post() {
    this.setHeader("X-Body-Length", this.request.body.length);
    this.write(this.request.body);
  }
}

let t: TestServer | undefined;

afterEach(async () => {
  destroyRawConnections();
  await t?.close();
  t = undefined;
});

async function serve(options: HTTPServerOptions = {}): Promise<TestServer> {
  t = await createTestServer(new Application([["/echo", EchoHandler]]), options);
  return t;
}

const HEAD = "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n";
const chunked = (...chunks: string[]) => `${HEAD}Transfer-Encoding: chunked\r\n\r\n${chunks.map((c) => `${c.length.toString(16)}\r\n${c}\r\n`).join("")}0\r\n\r\n`;

async function expectStillServing(server: TestServer): Promise<void> {
  const res = await server.fetch("/echo");
  expect(res.status).toBe(200);
  expect(await res.text()).toBe("still-alive");
}

describe("HTTPServer: request bodies", () => {
  it("gives the handler a body sent in the same write as its head", async () => {
    const server = await serve();
    const body = JSON.stringify({ name: "Ann", note: "é ✓" });
    const request = Buffer.concat([Buffer.from(`${HEAD}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`), Buffer.from(body)]);
    const { response } = await rawRequest(server.port, request, { expectClose: false });
    expect(response.status).toBe(200);
    expect(response.text()).toBe(body);
  });

  it("joins a chunked body of several chunks sent in one write", async () => {
    const server = await serve();
    const { response } = await rawRequest(server.port, chunked("one,", "two,", "three"), { expectClose: false });
    expect(response.status).toBe(200);
    expect(response.text()).toBe("one,two,three");
  });

  it("waits for a body sent after its head, in pieces", async () => {
    const server = await serve();
    const conn = await RawConnection.open(server.port);
    await conn.write(`${HEAD}Content-Length: 10\r\n\r\n`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await conn.write("01234");
    await new Promise((resolve) => setTimeout(resolve, 50));
    await conn.write("56789");
    const response = await conn.readResponse();
    expect(response.status).toBe(200);
    expect(response.text()).toBe("0123456789");
  });

  it("answers two bodies pipelined in one write, each to its own request", async () => {
    const server = await serve();
    const conn = await RawConnection.open(server.port);
    await conn.write(`${HEAD}Content-Length: 3\r\n\r\nabc${HEAD}Content-Length: 4\r\n\r\ndefg`);
    const first = await conn.readResponse();
    const second = await conn.readResponse();
    expect([first.text(), second.text()]).toEqual(["abc", "defg"]);
  });

  it("answers 413 and closes when a whole chunked body over maxBodySize comes in one write", async () => {
    const server = await serve({ maxBodySize: 1024 });
    const conn = await RawConnection.open(server.port);
    await conn.write(chunked("x".repeat(600), "y".repeat(600)));
    const response = await expectLog("tornado.access", /^413 /, () =>
      expectLog("tornado.general", /^413 /, () => conn.readResponse(), { required: false }),
    );
    expect(response.status).toBe(413);
    expect(response.header("Connection")).toBe("close");
    expect(await conn.waitForClose()).toBe(true);
    await expectStillServing(server);
  });

  it("accepts a chunked body exactly at maxBodySize sent in one write", async () => {
    const server = await serve({ maxBodySize: 1024 });
    const { response } = await rawRequest(server.port, chunked("x".repeat(512), "y".repeat(512)), { expectClose: false });
    expect(response.status).toBe(200);
    expect(response.header("X-Body-Length")).toBe("1024");
  });
});

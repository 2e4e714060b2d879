/**
 * A raw HTTP/1.x client for tests: writes exact bytes on a real socket and parses what comes
 * back, so tests can send what `fetch()` refuses to (bad request lines, conflicting headers,
 * pipelined requests, half-sent bodies) and see whether the server closed the connection.
 *
 * @example
 * const conn = await RawConnection.open(t.port);
 * await conn.write("GARBAGE\r\n\r\n");
 * const res = await conn.readResponse();
 * expect(res.status).toBe(400);
 * expect(await conn.waitForClose()).toBe(true);
 */

import { connect, type Socket } from "node:net";

/** One HTTP response as it came off the wire. */
export interface RawResponse {
  /** `HTTP/1.1 200 OK` */
  statusLine: string;
  /** `HTTP/1.1` */
  version: string;
  status: number;
  reason: string;
  /** Header lines in order, names as sent. */
  rawHeaders: [string, string][];
  /** The body, de-chunked when the response was chunked. */
  body: Buffer;
  /** Whether the body came with `Transfer-Encoding: chunked`. */
  chunked: boolean;
  /** The value of header `name` (case-insensitive; several values joined with ", "). */
  header(name: string): string | undefined;
  /** The body as UTF-8 text. */
  text(): string;
}

const DEFAULT_TIMEOUT = 10_000;
const open = new Set<RawConnection>();

/** Destroys every `RawConnection` still open; call it in `afterEach`. */
export function destroyRawConnections(): void {
  for (const conn of open) conn.destroy();
  open.clear();
}

/** A client socket that writes raw bytes and reads responses one at a time. */
export class RawConnection {
  /** Bytes received and not yet consumed by `readResponse()`. */
  private buffer = Buffer.alloc(0);
  private ended = false;
  private error: Error | undefined;
  private waiters: (() => void)[] = [];
  private readonly closedPromise: Promise<void>;

  private constructor(readonly socket: Socket) {
    open.add(this);
    socket.on("data", (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake();
    });
    // A server that answers and closes may reset a socket we were still writing to.
    socket.on("error", (error) => {
      this.error = error;
    });
    this.closedPromise = new Promise((resolve) =>
      socket.once("close", () => {
        this.ended = true;
        open.delete(this);
        this.wake();
        resolve();
      }),
    );
    socket.on("end", () => {
      this.ended = true;
      this.wake();
    });
  }

  /** Connects to `port` on `host`; rejects with the socket error (e.g. `ECONNREFUSED`). */
  static open(port: number, host = "127.0.0.1"): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, host);
      socket.once("error", reject);
      socket.once("connect", () => {
        socket.off("error", reject);
        resolve(new RawConnection(socket));
      });
    });
  }

  /** Whether the server has closed (or half-closed) the connection. */
  get closed(): boolean {
    return this.ended;
  }

  /** The socket error seen, if any (a reset after the server closed, say). */
  get socketError(): Error | undefined {
    return this.error;
  }

  /** Writes bytes exactly as given; resolves once they are handed to the kernel. */
  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.write(data, (error) => (error ? reject(error) : resolve()));
    });
  }

  /**
   * Resolves with the next complete response (a `100 Continue` counts as one). Rejects when
   * the connection closes first or nothing complete arrives within `timeout` ms.
   */
  async readResponse(timeout = DEFAULT_TIMEOUT): Promise<RawResponse> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const parsed = parseResponse(this.buffer, this.ended);
      if (parsed !== null) {
        this.buffer = this.buffer.subarray(parsed.consumed);
        return parsed.response;
      }
      if (this.ended) {
        throw new Error(`connection closed before a complete response; got ${JSON.stringify(this.buffer.toString("latin1"))}`);
      }
      if (!(await this.nextEvent(deadline - Date.now()))) {
        throw new Error(`no complete response within ${timeout}ms; got ${JSON.stringify(this.buffer.toString("latin1"))}`);
      }
    }
  }

  /** Resolves once the received, unconsumed bytes satisfy `predicate` (or rejects on timeout/close). */
  async waitForData(predicate: (received: Buffer) => boolean, timeout = DEFAULT_TIMEOUT): Promise<Buffer> {
    const deadline = Date.now() + timeout;
    for (;;) {
      if (predicate(this.buffer)) return this.buffer;
      if (this.ended) throw new Error(`connection closed; got ${JSON.stringify(this.buffer.toString("latin1"))}`);
      if (!(await this.nextEvent(deadline - Date.now()))) {
        throw new Error(`expected data did not arrive within ${timeout}ms; got ${JSON.stringify(this.buffer.toString("latin1"))}`);
      }
    }
  }

  /** Bytes received and not consumed by `readResponse()`. */
  get pending(): Buffer {
    return this.buffer;
  }

  /** Resolves true once the server has closed the connection, false if still open after `timeout` ms. */
  async waitForClose(timeout = DEFAULT_TIMEOUT): Promise<boolean> {
    const deadline = Date.now() + timeout;
    while (!this.ended) {
      if (!(await this.nextEvent(deadline - Date.now()))) return false;
    }
    return true;
  }

  /** Resolves once the socket is fully closed. */
  whenClosed(): Promise<void> {
    return this.closedPromise;
  }

  /** Closes the socket at once (a client that goes away). */
  destroy(): void {
    this.socket.destroy();
    open.delete(this);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Waits for data or close; false on timeout. */
  private nextEvent(timeout: number): Promise<boolean> {
    if (timeout <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        resolve(false);
      }, timeout);
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.waiters.push(wake);
    });
  }
}

/**
 * Opens a connection, writes `request`, and resolves with the first response and whether the
 * server then closed the connection (waiting up to `closeTimeout` ms for it).
 *
 * @example
 * const { response, closed } = await rawRequest(t.port, "GET / HTTP/1.0\r\n\r\n");
 */
export async function rawRequest(
  port: number,
  request: string | Buffer,
  options: { closeTimeout?: number; expectClose?: boolean } = {},
): Promise<{ response: RawResponse; closed: boolean; connection: RawConnection }> {
  const connection = await RawConnection.open(port);
  await connection.write(request);
  const response = await connection.readResponse();
  const closed = options.expectClose === false ? connection.closed : await connection.waitForClose(options.closeTimeout);
  return { response, closed, connection };
}

function indexOfCrlf(buffer: Buffer, from: number): number {
  return buffer.indexOf("\r\n", from, "latin1");
}

/** Parses one response from the front of `buffer`; null when it is not complete yet. */
function parseResponse(buffer: Buffer, ended: boolean): { response: RawResponse; consumed: number } | null {
  const headEnd = buffer.indexOf("\r\n\r\n", 0, "latin1");
  if (headEnd < 0) return null;
  const lines = buffer.subarray(0, headEnd).toString("latin1").split("\r\n");
  const statusLine = lines[0]!;
  const m = /^(HTTP\/\d\.\d) (\d{3})(?: (.*))?$/.exec(statusLine);
  if (m === null) throw new Error(`not an HTTP status line: ${JSON.stringify(statusLine)}`);
  const rawHeaders: [string, string][] = lines.slice(1).map((line) => {
    const colon = line.indexOf(":");
    return [line.slice(0, colon), line.slice(colon + 1).trim()];
  });
  const header = (name: string) => {
    const values = rawHeaders.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
    return values.length === 0 ? undefined : values.join(", ");
  };
  const status = Number(m[2]);
  let offset = headEnd + 4;
  let body: Buffer;
  const chunked = header("Transfer-Encoding")?.toLowerCase() === "chunked";
  const length = header("Content-Length");
  if ((status >= 100 && status < 200) || status === 204 || status === 304) {
    body = Buffer.alloc(0);
  } else if (chunked) {
    const parts: Buffer[] = [];
    for (;;) {
      const lineEnd = indexOfCrlf(buffer, offset);
      if (lineEnd < 0) return null;
      const size = parseInt(buffer.subarray(offset, lineEnd).toString("latin1"), 16);
      offset = lineEnd + 2;
      if (size === 0) {
        // No trailers from our server: the last chunk is followed by an empty line.
        if (buffer.length < offset + 2) return null;
        offset += 2;
        break;
      }
      if (buffer.length < offset + size + 2) return null;
      parts.push(buffer.subarray(offset, offset + size));
      offset += size + 2;
    }
    body = Buffer.concat(parts);
  } else if (length !== undefined) {
    const n = Number(length);
    if (buffer.length < offset + n) return null;
    body = buffer.subarray(offset, offset + n);
    offset += n;
  } else {
    // Delimited by close.
    if (!ended) return null;
    body = buffer.subarray(offset);
    offset = buffer.length;
  }
  const copy = Buffer.from(body);
  return {
    consumed: offset,
    response: {
      statusLine,
      version: m[1]!,
      status,
      reason: m[3] ?? "",
      rawHeaders,
      body: copy,
      chunked,
      header,
      text: () => copy.toString("utf8"),
    },
  };
}

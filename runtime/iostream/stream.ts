/** `IOStream`: Tornado's buffered, promise-based reads and writes over a node socket. */

import type { Socket } from "node:net";
import { appLog, genLog } from "../log.js";
import { ReadBuffer } from "./buffer.js";
import { StreamBufferFullError, StreamClosedError, UnsatisfiableReadError } from "./errors.js";

/**
 * `IOStream` options (Tornado's, in camelCase).
 *
 * @example
 * new IOStream(socket, { maxBufferSize: 1 << 20, maxWriteBufferSize: 1 << 20 });
 */
export interface IOStreamOptions {
  /** Most bytes a pending read may need buffered; beyond it the stream closes with `StreamBufferFullError`. Default 100 MiB. */
  maxBufferSize?: number;
  /** Bytes read ahead while no read is pending, before the socket is paused. Default 64 KiB (at most half of `maxBufferSize`). */
  readChunkSize?: number;
  /** Most bytes queued for writing; a `write()` that would exceed it rejects with `StreamBufferFullError`. Default: no limit. */
  maxWriteBufferSize?: number;
}

/**
 * Options of `readUntil` and `readUntilRegex`.
 *
 * @example
 * await stream.readUntil("\r\n\r\n", { maxBytes: 64 * 1024 } satisfies ReadUntilOptions);
 */
export interface ReadUntilOptions {
  /** Close the stream (the read rejects) when no match ends within this many bytes. */
  maxBytes?: number;
}

/**
 * Options of `readBytes` and `readInto`.
 *
 * @example
 * await stream.readBytes(4096, { partial: true } satisfies ReadBytesOptions);
 */
export interface ReadBytesOptions {
  /** Resolve as soon as any bytes are available (never more than asked for). */
  partial?: boolean;
}

type ReadSpec =
  | { kind: "bytes"; size: number; partial: boolean }
  | { kind: "into"; target: Uint8Array; partial: boolean }
  | { kind: "delimiter"; delimiter: Buffer; maxBytes: number | undefined; scannedTo: number }
  | { kind: "regex"; regex: RegExp; maxBytes: number | undefined }
  | { kind: "close" };

type PendingRead = ReadSpec & { resolve(value: Buffer | number): void; reject(error: Error): void };

interface PendingWrite {
  resolve(): void;
  reject(error: Error): void;
}

const DEFAULT_MAX_BUFFER_SIZE = 100 * 1024 * 1024;
const DEFAULT_READ_CHUNK_SIZE = 64 * 1024;
// Errors that mean the peer went away abruptly: closed quietly, as Tornado does.
const CONNRESET = new Set(["ECONNRESET", "ECONNABORTED", "EPIPE", "ETIMEDOUT"]);

function ignore(): void {}

/**
 * Reads and writes on a connected `net.Socket` (or `tls.TLSSocket`), as Tornado's `IOStream`:
 * `readUntil`, `readUntilRegex`, `readBytes`, `readInto`, `readUntilClose` and `write` each
 * return a promise.
 *
 * Contract:
 * - One read at a time: starting a read while another is pending throws (synchronously).
 * - A read resolves with a `Buffer` holding exactly the bytes it asked for (delimiter or match
 *   included); what came after stays buffered for the next read.
 * - Once the stream is closed (by `close()`, the peer, or an error) a pending read, and any
 *   later read the buffered bytes cannot satisfy, reject with `StreamClosedError` whose
 *   `realError` is `stream.error`. Bytes buffered before the close can still be read, and
 *   `readUntilClose()` resolves with all of them.
 * - `write()` resolves once its bytes are handed to the operating system; awaiting it is the
 *   back-pressure. It rejects with `StreamClosedError` on a closed stream.
 * - Back-pressure on reads: while no read is pending, at most `readChunkSize` bytes are read
 *   ahead, then the socket is paused (the peer's writes then wait). A pending read that would
 *   need more than `maxBufferSize` bytes closes the stream with `StreamBufferFullError`; a
 *   `maxBytes` that no match fits in closes it with `UnsatisfiableReadError`.
 * - A read or write nobody awaits never causes an unhandled rejection.
 *
 * @example
 * import { connect } from "node:net";
 * import { IOStream } from "tornado/iostream";
 * const socket = connect(80, "example.com");
 * const stream = new IOStream(socket);
 * await stream.write("GET / HTTP/1.0\r\nHost: example.com\r\n\r\n");
 * const head = await stream.readUntil("\r\n\r\n", { maxBytes: 64 * 1024 });
 * const body = await stream.readUntilClose();
 */
export class IOStream {
  /** The socket underneath (a `tls.TLSSocket` for TLS). @example stream.socket.remoteAddress */
  readonly socket: Socket;
  /** Most bytes a pending read may need buffered. @example stream.maxBufferSize // 104857600 */
  readonly maxBufferSize: number;
  /** Bytes read ahead while no read is pending. @example stream.readChunkSize // 65536 */
  readonly readChunkSize: number;
  /** Most bytes queued for writing, if limited. @example stream.maxWriteBufferSize // undefined */
  readonly maxWriteBufferSize: number | undefined;
  private readonly buffer = new ReadBuffer();
  private pending: PendingRead | null = null;
  private readonly writes = new Set<PendingWrite>();
  private closeCallback: (() => void) | null = null;
  private isClosed = false;
  private closeError: Error | null = null;
  // Starts as paused so that updateFlow() resumes a socket someone paused before handing it over.
  private paused = true;

  constructor(socket: Socket, options: IOStreamOptions = {}) {
    this.socket = socket;
    this.maxBufferSize = options.maxBufferSize ?? DEFAULT_MAX_BUFFER_SIZE;
    // A chunk close to the limit would make reads fail that fit in it (Tornado caps it likewise).
    this.readChunkSize = Math.min(options.readChunkSize ?? DEFAULT_READ_CHUNK_SIZE, Math.floor(this.maxBufferSize / 2));
    this.maxWriteBufferSize = options.maxWriteBufferSize;
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    // The peer closed its side (EOF): Tornado closes the whole stream.
    socket.on("end", () => this.close());
    socket.on("error", (error: NodeJS.ErrnoException) => this.onError(error));
    socket.on("close", () => this.close());
    if (socket.destroyed) this.close();
    else this.updateFlow();
  }

  /** Whether the stream is closed. @example if (!stream.closed) await stream.write("bye\n"); */
  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * What closed the stream, when something did (a socket error, `UnsatisfiableReadError`,
   * `StreamBufferFullError`); `null` while open or after a normal close.
   *
   * @example
   * stream.setCloseCallback(() => console.log("closed", stream.error?.message ?? "cleanly"));
   */
  get error(): Error | null {
    return this.closeError;
  }

  /** Whether a read is pending. @example if (!stream.reading) void stream.readUntilClose(); */
  get reading(): boolean {
    return this.pending !== null;
  }

  /** Whether written bytes are still waiting to be flushed. @example if (!stream.writing) stream.close(); */
  get writing(): boolean {
    return this.writes.size > 0;
  }

  /**
   * Reads up to and including `delimiter` (a string is UTF-8 encoded). With `maxBytes`, a
   * delimiter that does not end within that many bytes closes the stream with
   * `UnsatisfiableReadError` (logged on `tornado.general` at info) and the read rejects.
   *
   * @example
   * const line = await stream.readUntil("\n", { maxBytes: 8192 });
   * const head = await stream.readUntil(Buffer.from("\r\n\r\n"));
   */
  readUntil(delimiter: string | Buffer, options: ReadUntilOptions = {}): Promise<Buffer> {
    const bytes = typeof delimiter === "string" ? Buffer.from(delimiter) : delimiter;
    return this.startRead({ kind: "delimiter", delimiter: bytes, maxBytes: options.maxBytes, scannedTo: 0 }) as Promise<Buffer>;
  }

  /**
   * Reads up to and including the first match of `regex` (`g` and `y` flags are ignored). The
   * pattern sees each byte as one character (latin1), so match non-ASCII text by its UTF-8 bytes
   * (`é` is `\xc3\xa9`). `maxBytes` as for `readUntil`.
   *
   * @example
   * const head = await stream.readUntilRegex(/\r?\n\r?\n/, { maxBytes: 64 * 1024 });
   */
  readUntilRegex(regex: RegExp | string, options: ReadUntilOptions = {}): Promise<Buffer> {
    const source = typeof regex === "string" ? new RegExp(regex) : regex;
    const plain = new RegExp(source.source, source.flags.replace(/[gy]/g, ""));
    return this.startRead({ kind: "regex", regex: plain, maxBytes: options.maxBytes }) as Promise<Buffer>;
  }

  /**
   * Reads exactly `size` bytes; with `partial`, resolves as soon as any are available (at most
   * `size`). `readBytes(0)` resolves at once with an empty buffer.
   *
   * @example
   * const header = await stream.readBytes(4);
   * const body = await stream.readBytes(header.readUInt32BE(0));
   * const some = await stream.readBytes(65536, { partial: true });
   */
  readBytes(size: number, options: ReadBytesOptions = {}): Promise<Buffer> {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`readBytes: size must be a non-negative integer, not ${size}`);
    return this.startRead({ kind: "bytes", size, partial: options.partial ?? false }) as Promise<Buffer>;
  }

  /**
   * Reads into `target` until it is full (with `partial`, as soon as any bytes are available)
   * and resolves with how many bytes were written to it.
   *
   * @example
   * const frame = new Uint8Array(1024);
   * const n = await stream.readInto(frame, { partial: true });
   */
  readInto(target: Uint8Array, options: ReadBytesOptions = {}): Promise<number> {
    return this.startRead({ kind: "into", target, partial: options.partial ?? false }) as Promise<number>;
  }

  /**
   * Reads everything until the peer closes the connection (up to `maxBufferSize`; for more, or
   * to process data as it arrives, loop on `readBytes(n, { partial: true })`). On a closed
   * stream, resolves with whatever is still buffered.
   *
   * @example
   * await stream.write("GET / HTTP/1.0\r\n\r\n");
   * const response = await stream.readUntilClose();
   */
  readUntilClose(): Promise<Buffer> {
    return this.startRead({ kind: "close" }) as Promise<Buffer>;
  }

  /**
   * Writes `data` (a string is UTF-8 encoded). Resolves once it is handed to the operating
   * system: awaiting each write keeps memory bounded when the peer reads slowly. Rejects with
   * `StreamClosedError` when the stream is (or gets) closed first, and with
   * `StreamBufferFullError` when it would queue more than `maxWriteBufferSize` bytes.
   *
   * @example
   * for await (const row of rows) await stream.write(JSON.stringify(row) + "\n");
   */
  write(data: string | Uint8Array): Promise<void> {
    if (this.isClosed) return quiet(Promise.reject(this.closedError()));
    if (this.maxWriteBufferSize !== undefined) {
      const size = typeof data === "string" ? Buffer.byteLength(data) : data.byteLength;
      if (this.socket.writableLength + size > this.maxWriteBufferSize) {
        return quiet(Promise.reject(new StreamBufferFullError("Reached maximum write buffer size")));
      }
    }
    return quiet(
      new Promise<void>((resolve, reject) => {
        const pending: PendingWrite = { resolve, reject };
        this.writes.add(pending);
        this.socket.write(data, (error) => {
          // Already rejected when the stream closed first.
          if (!this.writes.delete(pending)) return;
          if (error) reject(new StreamClosedError(undefined, { cause: error }));
          else resolve();
        });
      }),
    );
  }

  /**
   * Closes the stream and its socket at once: a pending read rejects (`readUntilClose` resolves
   * with what was buffered), unflushed writes reject, and the close callback runs soon after.
   * `error`, when given, becomes `stream.error`. Calling it again does nothing.
   *
   * @example
   * await stream.write("bye\n");
   * stream.close();
   */
  close(error?: Error): void {
    if (!this.isClosed) {
      if (error) this.closeError = error;
      this.isClosed = true;
      // A read until close is satisfied by the close, unless the buffer overflowed first.
      if (this.pending?.kind === "close" && !(error instanceof StreamBufferFullError)) this.finishRead(this.buffer.length);
      this.socket.destroy();
    }
    this.signalClosed();
  }

  /**
   * Calls `callback` once, soon after the stream closes (after pending reads and writes have
   * rejected). Useful to notice a peer leaving while no read is pending. Replaces any earlier
   * callback; `null` removes it.
   *
   * @example
   * stream.setCloseCallback(() => clients.delete(stream));
   */
  setCloseCallback(callback: (() => void) | null): void {
    this.closeCallback = callback;
    if (this.isClosed) this.signalClosed();
  }

  /**
   * Sends written data at once instead of letting Nagle's algorithm batch small writes.
   *
   * @example
   * stream.setNoDelay(true);
   */
  setNoDelay(value = true): void {
    if (!this.isClosed) this.socket.setNoDelay(value);
  }

  private startRead(spec: ReadSpec): Promise<Buffer | number> {
    if (this.pending !== null) {
      throw Object.assign(new Error("Already reading: an IOStream allows one pending read at a time"), { code: "ERR_ALREADY_READING" });
    }
    const promise = new Promise<Buffer | number>((resolve, reject) => {
      this.pending = { ...spec, resolve, reject };
    });
    this.tryRead();
    if (this.pending !== null && this.isClosed) this.signalClosed();
    this.updateFlow();
    return quiet(promise);
  }

  private onData(chunk: Buffer): void {
    this.buffer.append(chunk);
    if (this.pending !== null) this.tryRead();
    if (this.pending !== null && !this.isClosed && this.buffer.length > this.maxBufferSize) {
      genLog.error("Reached maximum read buffer size");
      this.close(new StreamBufferFullError("Reached maximum read buffer size"));
    }
    this.updateFlow();
  }

  private onError(error: NodeJS.ErrnoException): void {
    if (this.isClosed) return;
    // A peer that resets is normal; other socket errors are worth a line (as Tornado logs them).
    if (error.code === undefined || !CONNRESET.has(error.code)) genLog.warning(`Error on stream: ${error.message}`);
    this.close(error);
  }

  // Completes the pending read if the buffer can satisfy it.
  private tryRead(): void {
    let position: number | null;
    try {
      position = this.findReadPosition();
    } catch (error) {
      if (!(error instanceof UnsatisfiableReadError)) throw error;
      genLog.info(`Unsatisfiable read, closing connection: ${error.message}`);
      this.close(error);
      return;
    }
    if (position !== null) this.finishRead(position);
  }

  private findReadPosition(): number | null {
    const read = this.pending!;
    const available = this.buffer.length;
    switch (read.kind) {
      case "bytes":
      case "into": {
        const size = read.kind === "bytes" ? read.size : read.target.length;
        return available >= size || (read.partial && available > 0) ? Math.min(size, available) : null;
      }
      case "delimiter": {
        const at = this.buffer.indexOf(read.delimiter, read.scannedTo);
        if (at !== -1) return this.checkMaxBytes(read, at + read.delimiter.length);
        // A delimiter split across chunks starts within its length of the end.
        read.scannedTo = Math.max(0, available - read.delimiter.length + 1);
        this.checkMaxBytes(read, available);
        return null;
      }
      case "regex": {
        if (available === 0) return null;
        const match = read.regex.exec(this.buffer.latin1());
        if (match !== null) return this.checkMaxBytes(read, match.index + match[0].length);
        this.checkMaxBytes(read, available);
        return null;
      }
      case "close":
        return this.isClosed ? available : null;
    }
  }

  private checkMaxBytes(read: Extract<ReadSpec, { kind: "delimiter" | "regex" }>, size: number): number {
    if (read.maxBytes !== undefined && size > read.maxBytes) {
      const what = read.kind === "delimiter" ? `delimiter ${JSON.stringify(read.delimiter.toString("latin1"))}` : `regex ${String(read.regex)}`;
      throw new UnsatisfiableReadError(`${what} not found within ${read.maxBytes} bytes`);
    }
    return size;
  }

  private finishRead(size: number): void {
    const read = this.pending!;
    this.pending = null;
    const bytes = this.buffer.consume(size);
    if (read.kind === "into") {
      read.target.set(bytes);
      read.resolve(size);
    } else {
      read.resolve(bytes);
    }
    this.updateFlow();
  }

  // Reads from the socket only while a read waits, or to keep a little ahead (and to notice
  // the peer closing); otherwise the socket is paused and TCP slows the peer down.
  private updateFlow(): void {
    if (this.isClosed) return;
    const wanted = this.pending !== null || this.buffer.length < this.readChunkSize;
    if (wanted && this.paused) {
      this.paused = false;
      this.socket.resume();
    } else if (!wanted && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  private closedError(): StreamClosedError {
    return new StreamClosedError(undefined, this.closeError ? { cause: this.closeError } : undefined);
  }

  // Rejects what can no longer complete and schedules the close callback.
  private signalClosed(): void {
    if (!this.isClosed) return;
    const read = this.pending;
    if (read !== null) {
      this.pending = null;
      read.reject(this.closedError());
    }
    for (const write of this.writes) write.reject(this.closedError());
    this.writes.clear();
    const callback = this.closeCallback;
    if (callback !== null) {
      this.closeCallback = null;
      // Later, as Tornado does: whoever awaited a read or write sees its error first.
      setImmediate(() => {
        try {
          callback();
        } catch (error) {
          appLog.error("Exception in IOStream close callback", error);
        }
      });
    }
  }
}

// Marks a promise as handled (awaiting it still throws), as Tornado silences its write futures.
function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(ignore);
  return promise;
}

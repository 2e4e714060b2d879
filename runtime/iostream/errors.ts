/** The errors an `IOStream` raises, as Tornado's `tornado.iostream` defines them. */

/**
 * The stream was closed (by the peer, by `close()`, by an error, or by the server shutting down)
 * before the read or write could complete. `realError` (also `cause`) is what closed it, when
 * something did: the socket error, an `UnsatisfiableReadError`, a `StreamBufferFullError`.
 *
 * @example
 * for (const row of rows) {
 *   this.write(row);
 *   await this.flush(); // rejects with StreamClosedError once the client has gone
 * }
 * try { await stream.readUntil("\n"); } catch (e) {
 *   if (e instanceof StreamClosedError) console.log("peer left", e.realError);
 * }
 */
export class StreamClosedError extends Error {
  /** Stable code to match on. */
  readonly code = "ERR_STREAM_CLOSED";
  /** What closed the stream, or `undefined` when it was closed normally (Tornado's `real_error`). */
  readonly realError: unknown;
  constructor(message = "Stream is closed", options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StreamClosedError";
    this.realError = options?.cause;
  }
}

/**
 * A `readUntil`/`readUntilRegex` with `maxBytes` found no match within that many bytes. The
 * stream is closed with this as its `error`; the read rejects with a `StreamClosedError` whose
 * `realError` is this.
 *
 * @example
 * try { await stream.readUntil("\r\n", { maxBytes: 1024 }); } catch (e) {
 *   if (e instanceof StreamClosedError && e.realError instanceof UnsatisfiableReadError) console.log("line too long");
 * }
 */
export class UnsatisfiableReadError extends Error {
  /** Stable code to match on. */
  readonly code = "ERR_UNSATISFIABLE_READ";
  constructor(message: string) {
    super(message);
    this.name = "UnsatisfiableReadError";
  }
}

/**
 * A buffer limit was reached: a pending read needed more than `maxBufferSize` bytes buffered (the
 * stream is then closed with this as its `error`), or a write would have queued more than
 * `maxWriteBufferSize` bytes (that write rejects; the stream stays open).
 *
 * @example
 * const stream = new IOStream(socket, { maxWriteBufferSize: 1 << 20 });
 * try { await stream.write(chunk); } catch (e) { if (e instanceof StreamBufferFullError) slowDown(); }
 */
export class StreamBufferFullError extends Error {
  /** Stable code to match on. */
  readonly code = "ERR_STREAM_BUFFER_FULL";
  constructor(message: string) {
    super(message);
    this.name = "StreamBufferFullError";
  }
}

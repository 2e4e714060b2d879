/**
 * Streams, as Tornado's `tornado.iostream`. For now this module holds the error raised when
 * writing to a connection the client has closed; `IOStream` itself lands with the TCP modules.
 *
 * @example
 * import { StreamClosedError } from "tornado/iostream";
 * try { await this.flush(); } catch (e) { if (e instanceof StreamClosedError) return; throw e; }
 */

/**
 * The connection was closed (by the client, or by the server shutting down) before the data
 * could be written.
 *
 * @example
 * for (const row of rows) {
 *   this.write(row);
 *   await this.flush(); // rejects with StreamClosedError once the client has gone
 * }
 */
export class StreamClosedError extends Error {
  /** Stable code to match on. */
  readonly code = "ERR_STREAM_CLOSED";
  constructor(message = "Stream is closed", options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StreamClosedError";
  }
}

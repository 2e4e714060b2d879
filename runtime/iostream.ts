/**
 * Streams, as Tornado's `tornado.iostream`: `IOStream` reads and writes bytes on a TCP (or
 * TLS) socket with promises (`readUntil`, `readUntilRegex`, `readBytes`, `readUntilClose`,
 * `write`), and the errors they raise. `TCPServer` (`tornado/tcpserver`) hands one to each
 * connection; `TCPClient` (`tornado/tcpclient`) returns one per connection it opens.
 *
 * @example
 * import { IOStream, StreamClosedError } from "tornado/iostream";
 * try {
 *   const line = await stream.readUntil("\n", { maxBytes: 8192 });
 *   await stream.write(line);
 * } catch (e) {
 *   if (!(e instanceof StreamClosedError)) throw e; // the peer left
 * }
 */
export { StreamBufferFullError, StreamClosedError, UnsatisfiableReadError } from "./iostream/errors.js";
export { IOStream, type IOStreamOptions, type ReadBytesOptions, type ReadUntilOptions } from "./iostream/stream.js";

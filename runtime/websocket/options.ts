/** Options shared by the server and client sides (no `ws` types: these reach the public declarations). */

/**
 * Options for permessage-deflate compression (RFC 7692), as `getCompressionOptions()` returns
 * them and `websocketConnect` takes them. An empty object turns compression on with the
 * defaults; `null` (the default) leaves it off.
 *
 * @example
 * getCompressionOptions(): CompressionOptions { return { compressionLevel: 6, threshold: 256 }; }
 */
export interface CompressionOptions {
  /** zlib level for outgoing messages, 0 (none) to 9 (smallest). Default 6, as Tornado. */
  compressionLevel?: number;
  /** zlib memory level, 1 to 9. Default 8. */
  memLevel?: number;
  /** Messages smaller than this many bytes go uncompressed. Default 0: all are compressed, as in Tornado. */
  threshold?: number;
}

/** Default `websocketMaxMessageSize` (and client `maxMessageSize`): 10 MiB, as Tornado. */
export const DEFAULT_MAX_MESSAGE_SIZE = 10 * 1024 * 1024;

/**
 * Default `websocketMaxOutgoingBuffer` (and client `maxOutgoingBuffer`): 4 MiB may wait to be
 * sent to a peer before it is closed with 1008.
 */
export const DEFAULT_MAX_OUTGOING_BUFFER = 4 * 1024 * 1024;

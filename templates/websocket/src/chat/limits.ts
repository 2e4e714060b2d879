/**
 * What one connection may do: how many messages a second, how many rooms at once. A client
 * past a limit gets an error frame naming it; the connection stays open. (How much may wait
 * to be sent to a client that reads too slowly is the runtime's `websocketMaxOutgoingBuffer`,
 * set in `app.ts`: past it the client is closed with 1008.)
 */

/** Default `chatMaxMessagesPerSecond`: a burst of this many, then this many a second. */
export const DEFAULT_MAX_MESSAGES_PER_SECOND = 10;
/** Default `chatMaxRoomsPerSocket`. */
export const DEFAULT_MAX_ROOMS_PER_SOCKET = 10;

/**
 * A token bucket: `perSecond` tokens, refilled at `perSecond` a second; each message takes one.
 *
 * @example
 * const limit = new RateLimit(10);
 * if (!limit.take()) refuse();
 */
export class RateLimit {
  private tokens: number;
  private last = Date.now();

  private readonly perSecond: number;

  constructor(perSecond: number) {
    this.perSecond = perSecond;
    this.tokens = perSecond;
  }

  /** Takes a token; false when none is left (the message is over the limit). */
  take(now = Date.now()): boolean {
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

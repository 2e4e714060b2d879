/**
 * The bytes an `IOStream` has received and not yet handed to a read.
 *
 * Reads are handed views (`subarray`) of the storage, never copies, so storage is only ever
 * written past `end`: a region once handed out is never overwritten. Growing allocates new
 * storage (the old one lives on in the views that still use it). When the buffer is empty the
 * next chunk is adopted as-is, so a read that a single chunk satisfies copies nothing.
 */

const EMPTY = Buffer.alloc(0);
// Smallest storage allocated when chunks have to be merged.
const MIN_CAPACITY = 16 * 1024;

export class ReadBuffer {
  private storage: Buffer = EMPTY;
  private start = 0;
  private end = 0;

  /** How many bytes are buffered. */
  get length(): number {
    return this.end - this.start;
  }

  append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.start === this.end) {
      // Adopted: its length is its capacity, so nothing is ever written into it.
      this.storage = chunk;
      this.start = 0;
      this.end = chunk.length;
      return;
    }
    if (this.end + chunk.length > this.storage.length) {
      const needed = this.length + chunk.length;
      const grown = Buffer.allocUnsafe(Math.max(MIN_CAPACITY, needed + (needed >> 1)));
      this.storage.copy(grown, 0, this.start, this.end);
      this.storage = grown;
      this.end = this.length;
      this.start = 0;
    }
    chunk.copy(this.storage, this.end);
    this.end += chunk.length;
  }

  /** Removes the first `size` bytes and returns them (a view nobody writes to again). */
  consume(size: number): Buffer {
    if (size === 0) return EMPTY;
    const taken = this.storage.subarray(this.start, this.start + size);
    this.start += size;
    if (this.start === this.end) {
      this.storage = EMPTY;
      this.start = this.end = 0;
    }
    return taken;
  }

  /** Where `needle` starts, searching from offset `from`; -1 when absent. */
  indexOf(needle: Buffer, from: number): number {
    return this.storage.subarray(this.start, this.end).indexOf(needle, from);
  }

  /** The buffered bytes as a string of one character per byte, for regular expressions. */
  latin1(): string {
    return this.storage.toString("latin1", this.start, this.end);
  }
}

/**
 * The `Range` request header (RFC 9110 §14.2), read as Tornado reads it: one byte range,
 * anything else ignored. Positions come back as slice indexes (end exclusive), as in Tornado's
 * `httputil._parse_request_range`.
 */

/**
 * A single requested range as slice indexes: `start` inclusive, `end` exclusive. A negative
 * `start` counts from the end of the file (a suffix range); `null` means "not given".
 */
export interface RequestRange {
  start: number | null;
  end: number | null;
}

const DIGITS = /^\d+$/;

function intOrNull(text: string): number | null | undefined {
  const trimmed = text.trim();
  if (trimmed === "") return null;
  // Python's int() is the reference; we accept plain decimal digits only (not "+5" or "1_0").
  return DIGITS.test(trimmed) ? Number(trimmed) : undefined;
}

/**
 * Parses a `Range` header; `null` when it is not a single `bytes=` range (several ranges, another
 * unit, garbage), which RFC 9110 §14.2 lets a server ignore.
 *
 * `bytes=1-2` → `{ start: 1, end: 3 }`; `bytes=6-` → `{ start: 6, end: null }`;
 * `bytes=-6` → `{ start: -6, end: null }`; `bytes=-0` → `{ start: null, end: 0 }`.
 */
export function parseRequestRange(header: string): RequestRange | null {
  const eq = header.indexOf("=");
  if (eq < 0 || header.slice(0, eq).trim() !== "bytes") return null;
  const value = header.slice(eq + 1).trim();
  const dash = value.indexOf("-");
  const start = intOrNull(dash < 0 ? value : value.slice(0, dash));
  let end = intOrNull(dash < 0 ? "" : value.slice(dash + 1));
  if (start === undefined || end === undefined) return null;
  let first = start;
  if (end !== null) {
    if (first === null) {
      // A suffix range: the last `end` bytes (`bytes=-0` stays as end 0: unsatisfiable).
      if (end !== 0) {
        first = -end;
        end = null;
      }
    } else {
      end += 1;
    }
  }
  return { start: first, end };
}

/**
 * The `Content-Range` value for slice indexes `start`..`end` of a resource of `total` bytes.
 *
 * `contentRange(1, 3, 4)` → `bytes 1-2/4`.
 */
export function contentRange(start: number | null, end: number | null, total: number): string {
  return `bytes ${start ?? 0}-${(end ?? total) - 1}/${total}`;
}

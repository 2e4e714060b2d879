/** Option types: how a value is read from text (command line, config strings) and checked. */

/**
 * The types an option can have: `String`, `Number`, `Boolean`, `Date`, or `"duration"` (a
 * number of milliseconds, written `30s`, `500ms`, `1h 30m`…; Tornado's `timedelta`).
 *
 * @example
 * define("timeout", { type: "duration", default: 20_000 }); // --timeout=45s
 */
export type OptionType = StringConstructor | NumberConstructor | BooleanConstructor | DateConstructor | "duration";

/**
 * The value type an `OptionType` gives.
 *
 * @example
 * const port: OptionValue<NumberConstructor> = 8888;
 */
export type OptionValue<K extends OptionType> = K extends StringConstructor
  ? string
  : K extends NumberConstructor
    ? number
    : K extends BooleanConstructor
      ? boolean
      : K extends DateConstructor
        ? Date
        : number;

/**
 * Raised for a mistake in defining, setting or parsing options. `code` says which:
 * `ERR_UNRECOGNIZED_OPTION`, `ERR_OPTION_VALUE`, `ERR_OPTION_DEFINED`, `ERR_CONFIG_FILE`.
 *
 * @example
 * try { parseCommandLine(); }
 * catch (e) { if (e instanceof OptionsError) { console.error(e.message); process.exit(2); } throw e; }
 */
export class OptionsError extends Error {
  /** Stable code to match on. */
  readonly code: "ERR_UNRECOGNIZED_OPTION" | "ERR_OPTION_VALUE" | "ERR_OPTION_DEFINED" | "ERR_CONFIG_FILE";
  constructor(code: OptionsError["code"], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "OptionsError";
    this.code = code;
  }
}

/** The name a type is shown with in messages. @internal */
export function typeName(type: OptionType): string {
  return type === "duration" ? "duration" : type.name.toLowerCase();
}

/** The type a default value implies (Tornado: the default's class; else String). @internal */
export function typeOf(value: unknown): OptionType {
  if (typeof value === "number") return Number;
  if (typeof value === "boolean") return Boolean;
  if (value instanceof Date) return Date;
  return String;
}

/** Whether `value` already has the type (for values set from code or a config module). @internal */
export function hasType(type: OptionType, value: unknown): boolean {
  switch (type) {
    case String:
      return typeof value === "string";
    case Number:
    case "duration":
      return typeof value === "number" && !Number.isNaN(value);
    case Boolean:
      return typeof value === "boolean";
    default:
      return value instanceof Date && !Number.isNaN(value.getTime());
  }
}

/** Describes a value for an error message: `string "80"`, `number 3`. @internal */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (value instanceof Date) return "Date";
  const text = typeof value === "string" ? JSON.stringify(value) : String(value);
  return `${typeof value} ${text}`.slice(0, 80);
}

const NUMBER = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;
const TRUE = new Set(["true", "t", "1", "yes", "y", "on"]);
const FALSE = new Set(["false", "f", "0", "no", "n", "off"]);

/**
 * Reads `text` as a value of `type`; throws a message (without the option's name) when it is
 * not one. @internal
 */
export function parseValue(type: OptionType, text: string): unknown {
  switch (type) {
    case String:
      return text;
    case Number: {
      if (!NUMBER.test(text.trim())) throw new Error(`${JSON.stringify(text)} is not a number`);
      return Number(text);
    }
    case Boolean: {
      const lower = text.toLowerCase();
      if (TRUE.has(lower)) return true;
      if (FALSE.has(lower)) return false;
      throw new Error(`${JSON.stringify(text)} is not a boolean (use true or false)`);
    }
    case "duration":
      return parseDuration(text);
    default:
      return parseDate(text);
  }
}

/**
 * Formats a value for `--help` (`(default 8888)`).
 * @internal
 */
export function formatValue(type: OptionType, value: unknown): string {
  if (Array.isArray(value)) return value.map((v) => formatValue(type, v)).join(",");
  if (type === "duration" && typeof value === "number") return value % 1000 === 0 ? `${value / 1000}s` : `${value}ms`;
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

// Tornado's timedelta abbreviations (and the full names timedelta takes), in milliseconds.
const UNIT_MS: Record<string, number> = {
  w: 604_800_000,
  weeks: 604_800_000,
  d: 86_400_000,
  days: 86_400_000,
  h: 3_600_000,
  hours: 3_600_000,
  m: 60_000,
  min: 60_000,
  minutes: 60_000,
  s: 1000,
  sec: 1000,
  seconds: 1000,
  ms: 1,
  milliseconds: 1,
  us: 0.001,
  microseconds: 0.001,
};
const DURATION_PART = /\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*([a-zA-Z]*)\s*/y;

/**
 * Reads a duration as Tornado reads a timedelta (`1h 30m`, `45s`, `500ms`; a bare number is
 * seconds) and returns milliseconds. @internal
 */
export function parseDuration(text: string): number {
  let total = 0;
  let at = 0;
  if (text.trim() === "") throw new Error(`${JSON.stringify(text)} is not a duration (use e.g. 30s, 500ms, 1h 30m)`);
  while (at < text.length) {
    DURATION_PART.lastIndex = at;
    const match = DURATION_PART.exec(text);
    const unit = match && Object.hasOwn(UNIT_MS, match[2] || "s") ? UNIT_MS[match[2] || "s"] : undefined;
    if (!match || unit === undefined) throw new Error(`${JSON.stringify(text)} is not a duration (use e.g. 30s, 500ms, 1h 30m)`);
    total += Number(match[1]) * unit;
    at = DURATION_PART.lastIndex;
  }
  return total;
}

// Tornado's formats, in its order (local time, as Python's naive datetimes): [regex, fields].
type DateFields = { y?: string; mo?: string; d?: string; h?: string; mi?: string; s?: string };
const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DATE_FORMATS: RegExp[] = [
  // %a %b %d %H:%M:%S %Y (ctime)
  /^[A-Za-z]{3} (?<mon>[A-Za-z]{3}) +(?<d>\d{1,2}) (?<h>\d{1,2}):(?<mi>\d{1,2}):(?<s>\d{1,2}) (?<y>\d{4})$/,
  /^(?<y>\d{4})-(?<mo>\d{1,2})-(?<d>\d{1,2}) (?<h>\d{1,2}):(?<mi>\d{1,2}):(?<s>\d{1,2})$/,
  /^(?<y>\d{4})-(?<mo>\d{1,2})-(?<d>\d{1,2}) (?<h>\d{1,2}):(?<mi>\d{1,2})$/,
  /^(?<y>\d{4})-(?<mo>\d{1,2})-(?<d>\d{1,2})T(?<h>\d{1,2}):(?<mi>\d{1,2})$/,
  /^(?<y>\d{4})(?<mo>\d{2})(?<d>\d{2}) (?<h>\d{1,2}):(?<mi>\d{1,2}):(?<s>\d{1,2})$/,
  /^(?<y>\d{4})(?<mo>\d{2})(?<d>\d{2}) (?<h>\d{1,2}):(?<mi>\d{1,2})$/,
  /^(?<y>\d{4})-(?<mo>\d{1,2})-(?<d>\d{1,2})$/,
  /^(?<y>\d{4})(?<mo>\d{2})(?<d>\d{2})$/,
  /^(?<h>\d{1,2}):(?<mi>\d{1,2}):(?<s>\d{1,2})$/,
  /^(?<h>\d{1,2}):(?<mi>\d{1,2})$/,
];
// An ISO 8601 time with a zone (beyond Tornado, whose formats are all naive local times).
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/;

/** Reads a date in one of Tornado's formats (local time; a time alone is on 1900-01-01, as Python's strptime). @internal */
export function parseDate(text: string): Date {
  if (ISO_WITH_ZONE.test(text)) return new Date(text);
  for (const format of DATE_FORMATS) {
    const groups = format.exec(text)?.groups as (DateFields & { mon?: string }) | undefined;
    if (!groups) continue;
    const month = groups.mon !== undefined ? MONTHS.indexOf(groups.mon.toLowerCase()) : Number(groups.mo ?? 1) - 1;
    const fields = [Number(groups.y ?? 1900), month, Number(groups.d ?? 1), Number(groups.h ?? 0), Number(groups.mi ?? 0), Number(groups.s ?? 0)];
    const [y, mo, d, h, mi, s] = fields as [number, number, number, number, number, number];
    const date = new Date(y, mo, d, h, mi, s);
    date.setFullYear(y); // new Date() maps years 0–99 to 19xx
    // Reject what strptime rejects: month 13, February 30th, 25 o'clock…
    if (
      mo >= 0 &&
      date.getFullYear() === y &&
      date.getMonth() === mo &&
      date.getDate() === d &&
      date.getHours() === h &&
      date.getMinutes() === mi &&
      date.getSeconds() === s
    ) {
      return date;
    }
  }
  throw new Error(`Unrecognized date/time format: ${JSON.stringify(text)}`);
}

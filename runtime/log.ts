/**
 * Logging, as Tornado's `tornado.log`: three named loggers (`tornado.access`,
 * `tornado.application`, `tornado.general`), levels, and one place to switch output off or send
 * it elsewhere.
 *
 * By default records at `warning` and above go to stderr (as Python's logging does when nothing
 * is configured); call `configureLogging({ level: "info" })` to see the access log.
 *
 * @example
 * import { configureLogging, accessLog } from "tornado/log";
 * configureLogging({ level: "info" });                       // access log on stderr
 * configureLogging({ handler: (r) => myLogger.log(r) });     // redirect every record
 * configureLogging({ level: "silent" });                     // switch everything off
 * accessLog.setLevel("warning");                             // only 4xx/5xx lines
 * configureLogging({ format: "json" });                      // one JSON object per line (or LOG_FORMAT=json)
 */

import { requestFields } from "./log/request-context.js";

/**
 * Severity of a log record, lowest first.
 *
 * @example
 * const level: LogLevel = status < 500 ? "warning" : "error";
 */
export type LogLevel = "debug" | "info" | "warning" | "error";

/**
 * A threshold: a level, or `silent` to drop every record.
 *
 * @example
 * configureLogging({ level: "silent" satisfies LogThreshold });
 */
export type LogThreshold = LogLevel | "silent";

const LEVEL_RANK: Record<LogThreshold, number> = { debug: 10, info: 20, warning: 30, error: 40, silent: 100 };

/**
 * One logged line, as handed to a handler.
 *
 * @example
 * configureLogging({ handler: (r: LogRecord) => console.log(r.logger, r.level, r.message) });
 */
export interface LogRecord {
  /** The logger's name, e.g. `tornado.access`. */
  logger: string;
  level: LogLevel;
  message: string;
  time: Date;
  /** The error being reported, when there is one (its stack is printed by the default handler). */
  error?: unknown;
  /**
   * The request the line is about: set on every line logged while a request is being served
   * once requests are tracked (always with JSON logs), and on access lines.
   */
  fields?: LogFields;
}

/**
 * What a log line says about its request; JSON logs carry each as a field of the line.
 *
 * @example
 * configureLogging({ handler: (r) => console.log(r.fields?.requestId, r.message) });
 */
export interface LogFields {
  /** From `X-Request-Id` when the peer is trusted (`trustedDownstream`), else generated. */
  requestId?: string;
  method?: string;
  path?: string;
  /** The route's name, or its pattern when it has none. */
  route?: string;
  /** On access lines: the response's status. */
  status?: number;
  /** On access lines: from the request's arrival to the end of its response, in ms. */
  durationMs?: number;
}

/**
 * The output format: `text` (Tornado's one-line format) or `json` (one JSON object per line).
 *
 * @example
 * configureLogging({ format: "json" satisfies LogFormat });
 */
export type LogFormat = "text" | "json";

/**
 * Receives every record that passes the level check.
 *
 * @example
 * const toJson: LogHandler = (r) => process.stdout.write(JSON.stringify(r) + "\n");
 */
export type LogHandler = (record: LogRecord) => void;

type Interceptor = (record: LogRecord) => boolean;

let rootLevel: LogThreshold = "warning";
let handler: LogHandler = defaultHandler;
let useColor: boolean | undefined;
let format: LogFormat | undefined;
const interceptors: Interceptor[] = [];
const loggers = new Map<string, Logger>();

/**
 * A named logger; get one with `getLogger(name)`.
 *
 * @example
 * const log = getLogger("myapp.db");
 * log.warning("slow query", { ms: 1200 });
 * log.error("query failed", err);
 */
export class Logger {
  private level: LogThreshold | undefined;

  /** Use `getLogger(name)`; loggers are shared by name. */
  constructor(readonly name: string) {}

  /**
   * Sets this logger's own threshold (`undefined` follows the level given to `configureLogging`).
   *
   * @example
   * accessLog.setLevel("silent"); // no access log, other loggers unchanged
   */
  setLevel(level: LogThreshold | undefined): void {
    this.level = level;
  }

  /**
   * Whether a record at `level` would be emitted; check it before building a costly message.
   *
   * @example
   * if (log.isEnabledFor("debug")) log.debug(JSON.stringify(bigObject));
   */
  isEnabledFor(level: LogLevel): boolean {
    return interceptors.length > 0 || LEVEL_RANK[level] >= LEVEL_RANK[this.level ?? rootLevel];
  }

  /** Logs at `debug`. @example log.debug("cache miss") */
  debug(message: string, error?: unknown): void {
    this.log("debug", message, error);
  }

  /** Logs at `info`. @example log.info("listening on 8888") */
  info(message: string, error?: unknown): void {
    this.log("info", message, error);
  }

  /** Logs at `warning`. @example log.warning("retrying") */
  warning(message: string, error?: unknown): void {
    this.log("warning", message, error);
  }

  /** Logs at `error`; pass the error to print its stack. @example log.error("failed", err) */
  error(message: string, error?: unknown): void {
    this.log("error", message, error);
  }

  /**
   * Logs at the given level.
   *
   * @example
   * log.log(status < 500 ? "warning" : "error", "request failed");
   */
  log(level: LogLevel, message: string, error?: unknown, fields?: LogFields): void {
    if (!this.isEnabledFor(level)) return;
    const record: LogRecord = { logger: this.name, level, message, time: new Date() };
    if (error !== undefined) record.error = error;
    const context = requestFields();
    if (context !== undefined || fields !== undefined) record.fields = { ...context, ...fields };
    for (let i = interceptors.length - 1; i >= 0; i--) {
      if (interceptors[i]!(record)) return;
    }
    if (LEVEL_RANK[level] >= LEVEL_RANK[this.level ?? rootLevel]) handler(record);
  }
}

/**
 * Returns the logger with this name, creating it on first use.
 *
 * @example
 * const log = getLogger("myapp");
 */
export function getLogger(name: string): Logger {
  let logger = loggers.get(name);
  if (!logger) {
    logger = new Logger(name);
    loggers.set(name, logger);
  }
  return logger;
}

/** Per-request lines: `200 GET /users (127.0.0.1) 0.45ms`. @example accessLog.setLevel("silent") */
export const accessLog = getLogger("tornado.access");
/** Uncaught errors in handlers, with their stacks. @example appLog.error("boom", err) */
export const appLog = getLogger("tornado.application");
/** Everything else the runtime reports (HTTPError messages, malformed requests). @example genLog.info("…") */
export const genLog = getLogger("tornado.general");

/**
 * Options for `configureLogging`.
 *
 * @example
 * const options: LoggingOptions = { level: "info", color: false };
 */
export interface LoggingOptions {
  /** Threshold for loggers without their own level; default `warning`. */
  level?: LogThreshold;
  /** Where records go; default: one line each on stderr. `null` restores the default. */
  handler?: LogHandler | null;
  /** Colour the default output; default: when stderr is a terminal and `NO_COLOR` is unset. */
  color?: boolean;
  /** The default output's format; default: `LOG_FORMAT` from the environment (`text` or `json`), else `text`. */
  format?: LogFormat;
}

/**
 * Sets the default threshold and where records go; only the options given change.
 *
 * @example
 * configureLogging({ level: "info" });                  // show the access log
 * configureLogging({ handler: (r) => lines.push(r) });  // capture records
 */
export function configureLogging(options: LoggingOptions): void {
  if (options.level !== undefined) rootLevel = options.level;
  if (options.handler !== undefined) handler = options.handler ?? defaultHandler;
  if (options.color !== undefined) useColor = options.color;
  if (options.format !== undefined) format = options.format;
}

/**
 * The default output's format: as configured, else `LOG_FORMAT` (`json`; anything else is
 * `text`, the default: `tornado start` refuses other values before the app starts).
 *
 * @example
 * if (logFormat() === "json") … // request ids are on
 */
export function logFormat(): LogFormat {
  return (format ??= process.env.LOG_FORMAT === "json" ? "json" : "text");
}

/**
 * Formats a record as one line of JSON: `time` (ISO 8601, UTC), `level`, `logger`, `message`,
 * the request's fields when there are, and `error` (`name`, `message`, `stack`) when there is one.
 *
 * @example
 * formatJsonLogRecord({ logger: "tornado.access", level: "info", message: "200 GET /", time: new Date(), fields: { status: 200 } })
 * // {"time":"2026-12-07T09:00:00.000Z","level":"info","logger":"tornado.access","message":"200 GET /","status":200}
 */
export function formatJsonLogRecord(record: LogRecord): string {
  const line: Record<string, unknown> = { time: record.time.toISOString(), level: record.level, logger: record.logger, message: record.message };
  if (record.fields !== undefined) {
    for (const [key, value] of Object.entries(record.fields)) if (value !== undefined && !(key in line)) line[key] = value;
  }
  if (record.error !== undefined) {
    const e = record.error;
    line.error = e instanceof Error ? { name: e.name, message: e.message, stack: e.stack } : { message: String(e) };
  }
  return JSON.stringify(line);
}

const LEVEL_LETTER: Record<LogLevel, string> = { debug: "D", info: "I", warning: "W", error: "E" };
const LEVEL_COLOR: Record<LogLevel, string> = { debug: "34", info: "32", warning: "33", error: "31" };

function twoDigits(n: number): string {
  return n < 10 ? "0" + n : String(n);
}

/**
 * Formats a record as Tornado's log formatter does: `[I 251125 17:09:04 tornado.access] message`,
 * followed by the error's stack when there is one.
 *
 * @example
 * formatLogRecord({ logger: "tornado.access", level: "info", message: "200 GET / (::1) 0.40ms", time: new Date() })
 */
export function formatLogRecord(record: LogRecord, color = false): string {
  const t = record.time;
  const stamp =
    twoDigits(t.getFullYear() % 100) + twoDigits(t.getMonth() + 1) + twoDigits(t.getDate()) + " " +
    twoDigits(t.getHours()) + ":" + twoDigits(t.getMinutes()) + ":" + twoDigits(t.getSeconds());
  let prefix = `[${LEVEL_LETTER[record.level]} ${stamp} ${record.logger}]`;
  if (color) prefix = `\x1b[${LEVEL_COLOR[record.level]}m${prefix}\x1b[0m`;
  let line = `${prefix} ${record.message}`;
  if (record.error !== undefined) {
    const e = record.error;
    line += "\n" + (e instanceof Error ? (e.stack ?? String(e)) : String(e));
  }
  return line;
}

function defaultHandler(record: LogRecord): void {
  if (logFormat() === "json") {
    process.stderr.write(formatJsonLogRecord(record) + "\n");
    return;
  }
  const color = useColor ?? (process.stderr.isTTY === true && !process.env.NO_COLOR);
  process.stderr.write(formatLogRecord(record, color) + "\n");
}

/**
 * Adds a function that sees every record first (at any level) and may swallow it by returning
 * true; returns a function that removes it. `testing.expectLog` is built on this.
 *
 * @example
 * const stop = interceptLogs((r) => r.logger === "tornado.access");
 * // … access lines are dropped …
 * stop();
 */
export function interceptLogs(interceptor: (record: LogRecord) => boolean): () => void {
  interceptors.push(interceptor);
  return () => {
    const i = interceptors.indexOf(interceptor);
    if (i >= 0) interceptors.splice(i, 1);
  };
}

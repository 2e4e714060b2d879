import { afterEach, describe, expect, it } from "vitest";
import {
  Application,
  RequestHandler,
  accessLog,
  appLog,
  configureLogging,
  createTestServer,
  formatLogRecord,
  genLog,
  getLogger,
  type LogRecord,
} from "../../runtime/index.js";

const records: LogRecord[] = [];
function capture(level: "debug" | "info" | "warning" | "error" | "silent" = "info") {
  records.length = 0;
  configureLogging({ level, handler: (r) => records.push(r) });
}

afterEach(() => {
  configureLogging({ level: "warning", handler: null });
  accessLog.setLevel(undefined);
});

describe("configureLogging", () => {
  it("sends records at or above the level to the handler", () => {
    capture("warning");
    genLog.info("hidden");
    genLog.warning("shown");
    appLog.error("also shown");
    expect(records.map((r) => [r.logger, r.level, r.message])).toEqual([
      ["tornado.general", "warning", "shown"],
      ["tornado.application", "error", "also shown"],
    ]);
  });

  it("drops everything at 'silent'", () => {
    capture("silent");
    appLog.error("nothing");
    expect(records).toEqual([]);
  });

  it("lets one logger have its own level", () => {
    capture("info");
    accessLog.setLevel("warning");
    accessLog.info("200 GET /");
    genLog.info("kept");
    accessLog.warning("404 GET /x");
    expect(records.map((r) => r.message)).toEqual(["kept", "404 GET /x"]);
  });

  it("writes Tornado's access line for each request once the level is info", async () => {
    capture("info");
    class Hi extends RequestHandler {
      get() {
        this.write("hi");
      }
    }
    const t = await createTestServer(new Application([["/", Hi]]));
    await t.fetch("/?a=b");
    await t.close();
    const access = records.filter((r) => r.logger === "tornado.access");
    expect(access).toHaveLength(1);
    expect(access[0]!.level).toBe("info");
    expect(access[0]!.message).toMatch(/^200 GET \/\?a=b \(127\.0\.0\.1\) \d+\.\d{2}ms$/);
  });

  it("passes the error of an uncaught exception with the record", async () => {
    capture("warning");
    class Boom extends RequestHandler {
      get() {
        throw new RangeError("out of range");
      }
    }
    const t = await createTestServer(new Application([["/", Boom]]));
    await t.fetch("/");
    await t.close();
    const app = records.find((r) => r.logger === "tornado.application")!;
    expect(app.error).toBeInstanceOf(RangeError);
    expect(formatLogRecord(app)).toMatch(/\] Uncaught exception GET \/ \(127\.0\.0\.1\)\nRangeError: out of range\n\s+at /);
  });
});

describe("getLogger / Logger", () => {
  it("returns the same logger for a name", () => {
    expect(getLogger("tornado.access")).toBe(accessLog);
    expect(getLogger("myapp")).toBe(getLogger("myapp"));
  });

  it("reports whether a level is enabled", () => {
    configureLogging({ level: "warning" });
    expect(getLogger("myapp").isEnabledFor("info")).toBe(false);
    expect(getLogger("myapp").isEnabledFor("error")).toBe(true);
  });
});

describe("formatLogRecord", () => {
  const time = new Date(2026, 10, 25, 7, 8, 9);

  it("formats as [L yymmdd HH:MM:SS logger] message", () => {
    expect(formatLogRecord({ logger: "tornado.access", level: "info", message: "200 GET / (::1) 0.40ms", time })).toBe(
      "[I 261125 07:08:09 tornado.access] 200 GET / (::1) 0.40ms",
    );
  });

  it("colours the prefix only when asked", () => {
    const line = formatLogRecord({ logger: "x", level: "error", message: "m", time }, true);
    expect(line).toBe("\x1b[31m[E 261125 07:08:09 x]\x1b[0m m");
  });
});

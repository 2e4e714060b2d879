/**
 * Vitest setup file (vitest.config.ts `setupFiles`): a test that lets a warning or an error reach
 * the log output fails, with the lines in its message. Expected lines are asserted with
 * `expectLog` (or taken by a `captureLogs`/`interceptLogs` of the test's own); a warning printed
 * while the tests pass is one nobody reads.
 *
 * It sits in the place the lines would be printed: it is the log handler for the test's duration,
 * so it gets exactly the records that passed the level checks and that no interceptor took
 * (interceptors, `expectLog` among them, always see a record before the handler does). An
 * interceptor would not do: with one installed `Logger.isEnabledFor` answers true at every level,
 * which would change what the logging tests measure. A test that sets a handler of its own
 * (`configureLogging({ handler })`) replaces the guard for the rest of that test.
 * Processes the tests spawn (the e2e tests) are not covered: they check their own output.
 */

import { afterEach, beforeEach } from "vitest";
import { configureLogging, formatLogRecord, type LogRecord } from "../../runtime/log.js";

const FLAGGED = new Set(["warning", "error"]);
let stray: LogRecord[] = [];

beforeEach(() => {
  stray = [];
  configureLogging({
    handler: (record) => {
      if (FLAGGED.has(record.level)) stray.push(record);
    },
  });
});

// Registered before any test file's hooks, so it runs after them (vitest runs afterEach hooks in
// reverse order): lines logged while a test's own afterEach closes its servers count too.
afterEach(() => {
  configureLogging({ handler: null });
  const lines = stray.map((record) => formatLogRecord(record));
  stray = [];
  if (lines.length > 0) {
    throw new Error(
      `${lines.length} log line(s) at warning or above that no expectLog asserted (assert the expected ones with expectLog from runtime/testing.ts):\n` +
        lines.join("\n"),
    );
  }
});

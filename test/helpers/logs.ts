/** Records logged on one logger while a test runs, kept off the output. */

import { interceptLogs, type LogRecord } from "../../runtime/log.js";

/**
 * Starts capturing `logger`'s records; `stop()` ends it (call it in a `finally` or `afterEach`).
 *
 * @example
 * const logs = captureLogs("tornado.application");
 * try { … expect(logs.records[0]?.error).toBe(boom); } finally { logs.stop(); }
 */
export function captureLogs(logger: string): { records: LogRecord[]; stop: () => void } {
  const records: LogRecord[] = [];
  const stop = interceptLogs((record) => {
    if (record.logger !== logger) return false;
    records.push(record);
    return true;
  });
  return { records, stop };
}

import { expectLog } from "tornado/testing";

/**
 * Runs `fn`, which makes a request the app refuses (a 4xx or 5xx), and checks the two lines the
 * runtime logs for it: the reason on `tornado.general` and the access line on `tornado.access`
 * (both start with `line`, e.g. "404 GET /nope"). They are kept off the test output: a warning
 * printed while the tests pass would be one nobody reads.
 *
 * @example
 * const res = await expectRefused("404 GET /nope", () => t.fetch("/nope"));
 */
export function expectRefused<T>(line: string, fn: () => Promise<T>): Promise<T> {
  return expectLog("tornado.access", line, () => expectLog("tornado.general", line, fn));
}

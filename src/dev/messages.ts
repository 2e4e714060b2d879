/** Everything `tornado dev` says, in one place. */

import { style } from "../cli/output.js";

const tag = () => style.dim("[tornado]");

/**
 * An app's error as a developer wants it: its message and the frames of their own code
 * (`.ts` locations), without the loader's and node's internals.
 *
 * @example
 * formatAppError(error.stack) // "TransformError: …\n/app/src/app.ts:9:18: ERROR: Unexpected \";\""
 */
export function formatAppError(text: string): string {
  return text
    .split("\n")
    .filter((line) => !/^\s+at /.test(line) || !/node_modules[\\/](esbuild|tsx)[\\/]|node:internal|\(node:/.test(line))
    .join("\n")
    .trimEnd();
}

/**
 * The lines and pages of `tornado dev`.
 *
 * @example
 * print(devMessages.restarted("src/app.ts", 284, 2));
 */
export const devMessages = {
  banner: (port: number, watched: string[]) =>
    `${tag()} dev server on ${style.bold(`http://localhost:${port}`)} · watching ${watched.join(", ")} · type rs + Enter to restart`,
  started: (entry: string, ms: number) => `${tag()} started ${entry} in ${ms} ms`,
  restarted: (file: string, ms: number, waited: number) =>
    `${tag()} ${file === "rs" ? "restart requested" : `${file} changed`} · restarted in ${ms} ms · ${waited} request${waited === 1 ? "" : "s"} waited`,
  startFailed: (file: string | null, oldServes: boolean, error: string) =>
    `${tag()} ${style.red(file === null ? "the app failed to start" : `${file === "rs" ? "restart" : `${file} changed`}: the new version failed to start`)}; ${
      oldServes ? "the last good version keeps serving" : "requests get a 503 page until the next save"
    }:\n${formatAppError(error)}`,
  crashed: (code: number | null, signal: string | null, error: string | null) =>
    `${tag()} ${style.red(`the app exited (${signal ?? `code ${code}`})`)}; requests get a 503 page until the next save${error ? `:\n${formatAppError(error)}` : ""}`,
  neverListened: (entry: string, ms: number) =>
    `${entry} did not start a server within ${ms / 1000} s: it must call listen() (e.g. \`await makeApp().listen(port)\`)`,
  exitedBeforeListening: (entry: string, code: number | null, signal: string | null) =>
    `${entry} exited (${signal ?? `code ${code}`}) without starting a server: it must call listen() and keep running`,
  note: (line: string) => `${tag()} ${line}`,
  portInUse: (port: number) => `Port ${port} is already in use: stop the other server or pass --port.`,
  missingEntry: (entry: string) => `The entry file ${entry} does not exist: pass --entry <file> (default src/main.ts).`,
  badMilliseconds: (option: string, value: string) => `${option} must be a number of milliseconds above 0, not "${value}".`,
  badPort: (value: string) => `--port must be a port number from 0 to 65535, not "${value}".`,
  unavailablePage: (escapedError: string) =>
    `<html><title>503: Service Unavailable</title><body><h1>503: the app is not running</h1>` +
    `<pre>${escapedError}</pre><p>Fix it and save: tornado dev starts it again.</p></body></html>`,
} as const;

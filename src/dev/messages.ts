/** Everything `tornado dev` says, in one place; its own lines fit in 80 columns. */

import { style } from "../cli/output.js";

const tag = () => style.dim("[tornado]");

/**
 * The width `tornado dev` keeps its own lines within.
 *
 * @example
 * fitColumns(line).split("\n").every((l) => l.length <= COLUMNS) // true
 */
export const COLUMNS = 80;

// "[tornado] " as it shows on screen: continuation lines are indented by as much.
const TAG_WIDTH = "[tornado] ".length;

const visibleLength = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, "").length;

/**
 * A path shortened from the left to at most `max` characters (`…/handlers/health.ts`), so that
 * the file name, the part a developer reads, stays whole.
 *
 * @example
 * shortenPath("src/very/deep/folder/handlers/health.ts", 24) // "…/handlers/health.ts"
 */
export function shortenPath(path: string, max: number): string {
  if (path.length <= max) return path;
  const tail = path.slice(path.length - (max - 1));
  const slash = tail.indexOf("/");
  return `…${slash > 0 && slash < tail.length - 1 ? tail.slice(slash) : tail}`;
}

// Word-wraps `text` (which starts a line, or a continuation line after `indent`).
function wrapWords(text: string, indent: string, first: boolean): string[] {
  const lines: string[] = [];
  let current = "";
  const room = COLUMNS - TAG_WIDTH;
  for (const rawWord of text.split(" ")) {
    const word = visibleLength(rawWord) > room ? shortenPath(rawWord, room) : rawWord;
    const start = lines.length === 0 && first ? "" : indent;
    const candidate = current === "" ? start + word : `${current} ${word}`;
    if (current === "" || visibleLength(candidate) <= COLUMNS) current = candidate;
    else {
      lines.push(current);
      current = indent + word;
    }
  }
  lines.push(current);
  return lines;
}

/**
 * Wraps one of `tornado dev`'s lines so that none is wider than `COLUMNS`: at its ` · `
 * separators first, then between words; continuation lines are indented under the text after
 * `[tornado]`. A word too long for a line (a deep path) is shortened from the left.
 *
 * @example
 * fitColumns("[tornado] watching src, public, .env, tsconfig.json, package.json · rs + Enter restarts")
 * // "[tornado] watching src, public, .env, tsconfig.json, package.json\n          rs + Enter restarts"
 */
export function fitColumns(line: string): string {
  if (visibleLength(line) <= COLUMNS) return line;
  const indent = " ".repeat(TAG_WIDTH);
  const lines: string[] = [];
  for (const segment of line.split(" · ")) {
    const last = lines.length - 1;
    if (last >= 0 && visibleLength(`${lines[last]} · ${segment}`) <= COLUMNS) lines[last] = `${lines[last]} · ${segment}`;
    else lines.push(...wrapWords(segment, indent, lines.length === 0));
  }
  return lines.join("\n");
}

/**
 * An app's error as a developer wants it: its message and the frames of their own code
 * (`.ts` locations, relative to the app when `root` is given), without the loader's and node's
 * internals.
 *
 * @example
 * formatAppError(error.stack, "/app") // "TransformError: …\nsrc/app.ts:9:18: ERROR: Unexpected \";\""
 */
export function formatAppError(text: string, root?: string): string {
  const kept = text
    .split("\n")
    .filter((line) => !/^\s+at /.test(line) || !/node_modules[\\/](esbuild|tsx)[\\/]|[\\/](dev[\\/]child|commands[\\/]app-import)\.js:|node:internal|\(node:/.test(line))
    .join("\n")
    .trimEnd();
  if (root === undefined) return kept;
  const prefix = root.endsWith("/") ? root : `${root}/`;
  return kept.split(`file://${prefix}`).join("").split(prefix).join("");
}

const what = (file: string | null) => (file === null ? "the app" : file === "rs" ? "restart requested: the new version" : `${file} changed: the new version`);
const requests = (n: number) => `${n} request${n === 1 ? "" : "s"}`;
const UNAVAILABLE = "requests get a 503 page until the next save";

/**
 * The lines and pages of `tornado dev`.
 *
 * @example
 * print(devMessages.restarted("src/app.ts", 284, 2));
 */
export const devMessages = {
  banner: (url: string, origin: string) => fitColumns(`${tag()} dev server on ${style.bold(url)} (${origin})`),
  watching: (watched: string[], polling = false) =>
    fitColumns(`${tag()} watching ${watched.join(", ")}${polling ? " (polling)" : ""} · rs + Enter restarts`),
  started: (entry: string, ms: number) => fitColumns(`${tag()} started ${entry} in ${ms} ms`),
  restarted: (file: string, ms: number, waited: number) => {
    const took = ` · restarted in ${ms} ms`;
    const short = waited > 0 ? ` (${waited} waited)` : "";
    const room = COLUMNS - TAG_WIDTH - " changed".length - took.length - short.length;
    const line = `${tag()} ${file === "rs" ? "restart requested" : `${shortenPath(file, room)} changed`}${took}`;
    if (waited === 0) return line;
    const long = `${line} (${requests(waited)} waited)`;
    return fitColumns(visibleLength(long) <= COLUMNS ? long : line + short);
  },
  startFailed: (file: string | null, oldServes: boolean, error: string) =>
    `${fitColumns(`${tag()} ${style.red(`${what(file)} failed to start:`)}`)}\n${error}\n` +
    fitColumns(`${tag()} ${oldServes ? "the last good version keeps serving" : UNAVAILABLE}`),
  crashed: (code: number | null, signal: string | null, error: string | null, retryMs: number) =>
    `${fitColumns(`${tag()} ${style.red(`the app exited (${signal ?? `code ${code}`})${error ? ":" : ""}`)}`)}\n` +
    `${error ? `${error}\n` : ""}${fitColumns(`${tag()} restarting it in ${retryMs / 1000} s · requests get a 503 page meanwhile`)}`,
  restartedAfterCrash: (ms: number, waited: number) =>
    fitColumns(`${tag()} restarted after the crash in ${ms} ms${waited > 0 ? ` (${requests(waited)} waited)` : ""}`),
  crashLoop: (error: string | null, retryMs: number, maxMs: number, stableMs: number) =>
    `${fitColumns(`${tag()} ${style.red("the app crashed again: it is in a crash loop")}`)}\n${error ? `${error}\n` : ""}` +
    fitColumns(
      `${tag()} restarting it in ${retryMs / 1000} s, then waiting twice as long after each crash (at most ${maxMs / 1000} s) · ` +
        `no more crash reports until it stays up ${stableMs / 1000} s · save to restart now`,
    ),
  crashLoopOver: (stableMs: number) => fitColumns(`${tag()} the app has stayed up ${stableMs / 1000} s: the crash loop is over`),
  retryingIn: (seconds: number, crashes: number) =>
    `The app crashed${crashes > 1 ? ` ${crashes} times in a row` : ""}: tornado dev restarts it in ${seconds} s (or save to restart now).`,
  neverListened: (entry: string, ms: number) =>
    `${entry} did not start a server within ${ms / 1000} s:\nit must call listen(), e.g. \`await makeApp().listen(port)\``,
  exitedBeforeListening: (entry: string, code: number | null, signal: string | null) =>
    `${entry} exited (${signal ?? `code ${code}`}) without starting a server:\nit must call listen() and keep running`,
  servedAsIs: (file: string, count: number) =>
    fitColumns(`${tag()} ${file}${count > 1 ? ` (and ${count - 1} more)` : ""} changed · static, served as is (no restart)`),
  debugger: (host: string, port: number, brk: boolean) =>
    fitColumns(
      `${tag()} debugger on ${host.includes(":") ? `[${host}]` : host}:${port} for every app process${brk ? ", each waiting for it" : ""} · ` +
        `chrome://inspect, or VS Code: attach to port ${port} with "restart": true`,
    ),
  waitingForDebugger: (entry: string, host: string, port: number) =>
    fitColumns(`${tag()} waiting for a debugger on ${host.includes(":") ? `[${host}]` : host}:${port} before ${entry} runs`),
  typeErrors: (errors: { file: string; line: number; column: number; code: number; message: string }[]) =>
    [
      fitColumns(`${tag()} ${style.red(`${errors.length} type error${errors.length === 1 ? "" : "s"}`)} (the app runs anyway):`),
      ...errors.map((e) => `${e.file === "" ? "" : `${e.file}:${e.line}:${e.column} `}TS${e.code}: ${e.message}`),
    ].join("\n"),
  noTypeErrors: () => `${tag()} no type errors`,
  typecheckOff: (reason: string) => fitColumns(`${tag()} no type checking: ${reason}`),
  stopping: (signal: string) => `${tag()} stopping (${signal === "SIGINT" ? "Ctrl-C" : signal})`,
  note: (line: string) => fitColumns(`${tag()} ${line}`),
  portInUse: (port: number) => `Port ${port} is already in use: stop the other server or pass --port.`,
  missingEntry: (entry: string) => `The entry file ${entry} does not exist: pass --entry <file> (default src/main.ts).`,
  badMilliseconds: (option: string, value: string, allowZero = false) =>
    `${option} must be a number of milliseconds ${allowZero ? "(0 or more)" : "above 0"}, not "${value.slice(0, 80)}".`,
  unavailablePage: (escapedError: string, retrying: string | null = null) =>
    `<html><title>503: Service Unavailable</title><body><h1>503: the app is not running</h1>` +
    `<pre>${escapedError}</pre><p>${retrying ?? "Fix it and save: tornado dev starts it again."}</p></body></html>`,
  // What a client on another machine gets: no error text, no paths (Tornado's default page).
  unavailablePlainPage: () => `<html><title>503: Service Unavailable</title><body>503: Service Unavailable</body></html>`,
} as const;

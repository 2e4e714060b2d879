/**
 * The `tornado dev` supervisor: it owns the listening port and the file watcher; the app runs
 * in a child process. On a change the new app starts first, connections that arrive meanwhile
 * wait, traffic moves over once the new app listens, and the old one drains and exits.
 */

import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import { relative, sep } from "node:path";
import { createInterface } from "node:readline";
import type { FSWatcher } from "chokidar";
import { UserError } from "../cli/errors.js";
import { xhtmlEscape } from "../../runtime/escape.js";
import { AppProcess, type TypeScriptLoader } from "./app-process.js";
import { canStripTypes } from "../commands/app-import.js";
import { loadDotenv } from "../cli/env.js";
import { devMessages as say, formatAppError } from "./messages.js";
import { TypeChecker } from "./typecheck.js";
import { watchApp, watchedPaths } from "./watch.js";
import { readEnvFile, type InspectConfig, type WatchConfig } from "./config.js";

/**
 * The backoff before restarting an app that crashed (exited on its own after it listened): 1 s,
 * then doubled on each crash in a row, at most 30 s; the count starts over once an app has stayed
 * up for `CRASH_STABLE_MS`, or on a save.
 *
 * @example
 * crashBackoff(1) // 1000
 * crashBackoff(3) // 4000
 */
export function crashBackoff(crashes: number): number {
  return Math.min(1000 * 2 ** Math.max(0, crashes - 1), MAX_CRASH_BACKOFF_MS);
}

// How long an old app process may take to close its inspector before the new one starts anyway
// (one paused at a breakpoint cannot answer).
const INSPECTOR_RELEASE_MS = 2000;

/** The longest wait before restarting a crashed app (ms). @example crashBackoff(10) === MAX_CRASH_BACKOFF_MS */
export const MAX_CRASH_BACKOFF_MS = 30_000;

/** How long an app must stay up for its crashes to be forgotten (ms). @example CRASH_STABLE_MS // 10000 */
export const CRASH_STABLE_MS = 10_000;

// 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 addresses.
function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  return address === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/**
 * How to run the app under `tornado dev`.
 *
 * @example
 * const options: DevOptions = { root: process.cwd(), entry: "/app/src/main.ts", port: 8888 };
 */
export interface DevOptions {
  root: string;
  /** Absolute path of the TypeScript entry. */
  entry: string;
  port: number;
  /** The address to listen on. Default 127.0.0.1: only this machine can reach the dev server. */
  host?: string;
  /** Where the port came from, for the banner (e.g. "PORT from .env"). Default "the default port". */
  portOrigin?: string;
  /** How long an old app may take to finish its requests (ms). Default 10 s. */
  drainTimeout?: number;
  /** How long a new app may take to call listen() (ms). Default 15 s. */
  startTimeout?: number;
  /** How long after SIGTERM before SIGKILL (ms). Default 3 s. */
  killGrace?: number;
  /** Where the supervisor's own lines go. Default: stdout. */
  print?: (line: string) => void;
  /** Clear the screen before each restart (only ever on a terminal). Default true. */
  clearScreen?: boolean;
  /** Read `rs` + Enter from stdin. Default true. */
  readStdin?: boolean;
  /** Arguments for the app (its `process.argv.slice(2)`). Default none. */
  appArgs?: string[];
  /** Absolute path of the env file to read instead of `.env`. */
  envFile?: string;
  /** Node flags for the app process (`--max-old-space-size=256`). */
  nodeOptions?: string[];
  /** Extra paths, ignore globs, extensions, debounce, polling, static folders. */
  watch?: Partial<WatchConfig>;
  /** Open the inspector on each app process. Default: no debugger. */
  inspect?: InspectConfig | null;
  /** Run the type checker beside the app. Default false here (the CLI turns it on). */
  typecheck?: boolean;
}

/**
 * Runs an app with restarts that drop nobody.
 *
 * @example
 * const dev = new DevSupervisor({ root, entry, port: 8888 });
 * await dev.run();
 * process.once("SIGINT", () => dev.stop());
 */
export class DevSupervisor {
  private readonly listener: Server;
  private readonly fallback: HttpServer;
  private readonly print: (line: string) => void;
  private current: AppProcess | null = null;
  private starting: AppProcess | null = null;
  private standby: AppProcess | null = null;
  private readonly retired = new Set<AppProcess>();
  // Connections waiting for a new version, each with the listener that drops it if it closes.
  private queue = new Map<Socket, () => void>();
  private lastError: string | null = null;
  // Crashes in a row, the pending restart after the last one, and the app it started.
  private crashes = 0;
  private crashTimer: NodeJS.Timeout | undefined;
  private stableTimer: NodeJS.Timeout | undefined;
  private retryAt: number | null = null;
  private crashRestart: AppProcess | null = null;
  // App processes that opened the inspector and have not closed it yet.
  private readonly inspectorHolders = new Set<AppProcess>();
  private watcher: FSWatcher | undefined;
  private typeChecker: TypeChecker | undefined;
  private stopping: Promise<void> | undefined;
  private readonly drainTimeout: number;
  private readonly startTimeout: number;
  private readonly killGrace: number;
  // Node's type stripping where it reads the app, else tsx (from the first app that needed it on).
  private loader: TypeScriptLoader;

  constructor(private readonly options: DevOptions) {
    this.print = options.print ?? ((line) => process.stdout.write(line + "\n"));
    this.drainTimeout = options.drainTimeout ?? 10_000;
    this.startTimeout = options.startTimeout ?? 15_000;
    this.killGrace = options.killGrace ?? 3_000;
    const noStripping = (options.nodeOptions ?? []).some((option) => /^--no-experimental-strip-types\b/.test(option));
    this.loader = canStripTypes() && !noStripping ? "native" : "tsx";
    // Accepted sockets stay paused (nothing read) until an app takes them.
    this.listener = createServer({ pauseOnConnect: true }, (socket) => this.onConnection(socket));
    this.fallback = createHttpServer((req, res) => {
      const error = this.lastError ?? "The app is not running.";
      const wait = this.retryAt === null ? null : Math.max(1, Math.ceil((this.retryAt - Date.now()) / 1000));
      res.writeHead(503, { "Content-Type": "text/html; charset=UTF-8", "Retry-After": String(wait ?? 1), Connection: "close" });
      // The error names files and may quote a secret (a DATABASE_URL with its password): only
      // the developer's own machine sees it, whatever --host opened the port to.
      const retry = wait === null ? null : say.retryingIn(wait, this.crashes);
      res.end(isLoopback(req.socket.remoteAddress) ? say.unavailablePage(xhtmlEscape(error), retry) : say.unavailablePlainPage());
    });
  }

  private get displayEntry(): string {
    return relative(this.options.root, this.options.entry);
  }

  /**
   * Binds the port, starts the app and the watcher. Rejects with a `UserError` when the port
   * is taken.
   *
   * @example
   * await dev.run();
   */
  async run(): Promise<void> {
    const { port, host = "127.0.0.1" } = this.options;
    await new Promise<void>((resolve, reject) => {
      this.listener.once("error", (error: NodeJS.ErrnoException) =>
        reject(error.code === "EADDRINUSE" ? new UserError(say.portInUse(port)) : error),
      );
      this.listener.listen(port, host, () => resolve());
    });
    const { root, entry, envFile, watch = {} } = this.options;
    const watched = watchedPaths(root, entry, { paths: watch.paths, envFile }).map((p) => relative(root, p) || ".");
    this.print(say.banner(this.url, this.options.portOrigin ?? "the default port"));
    this.print(say.watching(watched, watch.poll === true));
    if (this.options.inspect) this.print(say.debugger(this.options.inspect.host, this.options.inspect.port, this.options.inspect.brk));
    this.restart(null);
    this.watcher = watchApp(root, entry, (files) => this.onFilesChanged(files), { ...watch, envFile });
    if (this.options.typecheck) {
      this.typeChecker = new TypeChecker(root, this.print);
      this.typeChecker.start();
    }
    if (this.options.readStdin !== false && process.stdin.readable) {
      createInterface({ input: process.stdin }).on("line", (line) => {
        if (line.trim() === "rs") this.restart("rs");
      });
    }
  }

  /** The port the supervisor listens on. @example dev.port // 8888 */
  get port(): number {
    const address = this.listener.address();
    return typeof address === "object" && address !== null ? address.port : this.options.port;
  }

  /**
   * The address the supervisor really listens on, as a URL (`http://127.0.0.1:8888`).
   *
   * @example
   * dev.url // "http://127.0.0.1:8888"
   */
  get url(): string {
    const address = this.listener.address();
    if (typeof address !== "object" || address === null) return `http://localhost:${this.options.port}`;
    const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  private environment(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      ...this.envFileVariables(),
      NODE_ENV: process.env.NODE_ENV ?? "development",
      PORT: String(this.port),
      TORNADO_SUPERVISOR_PORT: String(this.port),
      TORNADO_DEV: "1",
    };
  }

  // A .env (or --env-file) gone bad while running is said once per start, not fatal.
  private envFileVariables(): Record<string, string> {
    try {
      return this.options.envFile === undefined ? loadDotenv(this.options.root) : readEnvFile(this.options.envFile);
    } catch (error) {
      this.print(say.note(`${(error as Error).message} The app starts without it.`));
      return {};
    }
  }

  private spawn(): AppProcess {
    const { root: cwd, entry, appArgs: args, nodeOptions } = this.options;
    const app = new AppProcess({ cwd, env: this.environment(), entry, args, nodeOptions, loader: this.loader });
    app.on("exit", (code: number | null, signal: string | null, was: string) => this.onAppExit(app, code, signal, was));
    return app;
  }

  // A process with the loader already loaded, so that a restart only pays for the app itself.
  private prepareStandby(): void {
    if (this.standby === null && this.stopping === undefined) this.standby = this.spawn();
  }

  private onFilesChanged(files: string[]): void {
    // Files the app reads from disk on each request (--static): served as they are now.
    const statics = this.options.watch?.statics ?? [];
    const isStatic = (f: string) => statics.some((dir) => dir === "." || f === dir || f.startsWith(`${dir}/`) || f.startsWith(`${dir}${sep}`));
    if (statics.length > 0 && files.every(isStatic)) {
      this.print(say.servedAsIs(files[0]!, files.length));
      return;
    }
    // A standby process was spawned with the old .env and package.json: start a fresh one.
    const envFile = this.options.envFile === undefined ? ".env" : relative(this.options.root, this.options.envFile);
    if (files.some((f) => f === envFile || f === "package.json" || f === "tsconfig.json") && this.standby) {
      void this.standby.kill(this.killGrace);
      this.standby = null;
    }
    const label = files.length > 1 ? `${files[0]} (and ${files.length - 1} more)` : (files[0] ?? null);
    this.restart(label);
  }

  /**
   * Starts a new app; once it listens, it takes over from the current one.
   *
   * @example
   * dev.restart("src/app.ts");
   */
  restart(changed: string | null): void {
    if (this.stopping) return;
    // A new version (a save, `rs`) ends a crash loop: its own crashes are news again.
    clearTimeout(this.crashTimer);
    this.retryAt = null;
    this.crashes = 0;
    this.launch(changed, false);
  }

  private launch(changed: string | null, afterCrash: boolean): void {
    if (this.starting) {
      // A newer change arrived while starting: that start is already out of date.
      const stale = this.starting;
      this.starting = null;
      void stale.kill(this.killGrace);
    }
    if (changed !== null && process.stdout.isTTY && this.options.clearScreen !== false) process.stdout.write("\x1bc");
    const app = this.standby ?? this.spawn();
    this.standby = null;
    this.starting = app;
    this.crashRestart = afterCrash ? app : null;
    const began = performance.now();
    const inspect = this.options.inspect ?? null;
    // With --inspect-brk the app waits for a debugger for as long as the developer takes.
    const timer = inspect?.brk
      ? undefined
      : setTimeout(() => this.startFailed(app, changed, say.neverListened(this.displayEntry, this.startTimeout)), this.startTimeout);
    app.once("listening", () => {
      clearTimeout(timer);
      if (this.starting !== app) return;
      this.starting = null;
      const previous = this.current;
      this.current = app;
      this.lastError = null;
      const waited = this.queue.size;
      this.flushQueue();
      if (previous) this.retire(previous);
      const ms = Math.round(performance.now() - began);
      if (afterCrash) {
        // In a crash loop (reported once) the restarts are silent.
        if (this.crashes === 1) this.print(say.restartedAfterCrash(ms, waited));
      } else this.print(changed === null ? say.started(this.displayEntry, ms) : say.restarted(changed, ms, waited));
      if (app.usedTsx && this.loader === "native") {
        // The app needs tsx (an enum, a parameter property…): the next processes load it ahead.
        this.loader = "tsx";
        if (this.standby) void this.standby.kill(this.killGrace);
        this.standby = null;
      }
      clearTimeout(this.stableTimer);
      if (this.crashes > 0) {
        this.stableTimer = setTimeout(() => {
          if (this.current !== app) return;
          if (this.crashes > 1) this.print(say.crashLoopOver(CRASH_STABLE_MS));
          this.crashes = 0;
        }, CRASH_STABLE_MS);
        this.stableTimer.unref();
      }
      this.prepareStandby();
    });
    app.once("failed", (message: string) => {
      clearTimeout(timer);
      this.startFailed(app, changed, message);
    });
    if (inspect === null) app.start();
    else {
      // The inspector's port is free once every older process has closed its inspector.
      const holders = [...this.inspectorHolders].filter((other) => other !== app);
      const released = holders.map((other) =>
        other.releaseInspector(INSPECTOR_RELEASE_MS).then((closed) => closed && this.inspectorHolders.delete(other)),
      );
      void Promise.all(released).then(() => {
        if (this.starting !== app) return;
        this.inspectorHolders.add(app);
        app.start(inspect);
        if (inspect.brk) this.print(say.waitingForDebugger(this.displayEntry, inspect.host, inspect.port));
      });
    }
  }

  private startFailed(app: AppProcess, changed: string | null, message: string): void {
    if (this.starting !== app) return;
    this.starting = null;
    this.lastError = formatAppError(message, this.options.root);
    void app.kill(this.killGrace);
    if (this.crashRestart === app && this.current === null) {
      // Restarting after a crash failed too (a database still down?): the same loop, backed off.
      this.crashRestart = null;
      this.crashed(null, null, this.lastError, false);
      this.flushQueue();
      this.prepareStandby();
      return;
    }
    this.print(say.startFailed(changed, this.current !== null, this.lastError));
    this.flushQueue();
    this.prepareStandby();
  }

  private retire(app: AppProcess): void {
    this.retired.add(app);
    app.drain(this.drainTimeout, this.killGrace, (line) => this.print(say.note(line)));
  }

  private onAppExit(app: AppProcess, code: number | null, signal: string | null, was: string): void {
    this.retired.delete(app);
    this.inspectorHolders.delete(app);
    if (app === this.standby) this.standby = null;
    if (app === this.starting && was !== "serving") {
      this.startFailed(app, null, app.failure ?? say.exitedBeforeListening(this.displayEntry, code, signal));
      return;
    }
    if (app === this.current) {
      this.current = null;
      if (this.stopping) return;
      const failure = app.failure === null ? null : formatAppError(app.failure, this.options.root);
      this.lastError = failure ?? say.exitedBeforeListening(this.displayEntry, code, signal);
      this.crashed(code, signal, failure, true);
    }
  }

  // The app exited on its own: restart it after a backoff, saying so once per crash loop.
  private crashed(code: number | null, signal: string | null, failure: string | null, exited: boolean): void {
    clearTimeout(this.stableTimer);
    clearTimeout(this.crashTimer);
    this.crashes += 1;
    const delay = crashBackoff(this.crashes);
    if (this.crashes === 1) this.print(say.crashed(code, signal, failure, delay));
    else if (this.crashes === 2) this.print(say.crashLoop(exited ? null : failure, delay, MAX_CRASH_BACKOFF_MS, CRASH_STABLE_MS));
    this.retryAt = Date.now() + delay;
    this.crashTimer = setTimeout(() => {
      this.retryAt = null;
      if (this.starting === null && this.current === null) this.launch(null, true);
    }, delay);
  }

  private onConnection(socket: Socket): void {
    if (this.starting !== null) {
      // The new version is on its way: wait for it rather than serve the old one.
      const forget = () => this.queue.delete(socket);
      this.queue.set(socket, forget);
      socket.once("close", forget);
      return;
    }
    this.dispatch(socket);
  }

  private dispatch(socket: Socket): void {
    if (socket.destroyed) return;
    if (this.current?.hand(socket)) return;
    this.fallback.emit("connection", socket);
    socket.resume();
  }

  private flushQueue(): void {
    const waiting = [...this.queue];
    this.queue.clear();
    for (const [socket, forget] of waiting) {
      socket.off("close", forget);
      this.dispatch(socket);
    }
  }

  /**
   * Stops watching, closes the port and ends every app process (their whole process groups),
   * leaving nothing behind. A serving app finishes its requests in flight (within the kill
   * grace period) and exits quietly; `signal`, when given, is said in one line first.
   *
   * @example
   * process.once("SIGINT", () => dev.stop("SIGINT").then(() => process.exit(0)));
   */
  stop(signal?: string): Promise<void> {
    this.stopping ??= (async () => {
      if (signal !== undefined) this.print(say.stopping(signal));
      clearTimeout(this.crashTimer);
      clearTimeout(this.stableTimer);
      await Promise.all([this.watcher?.close(), this.typeChecker?.stop()]);
      this.listener.close();
      for (const socket of this.queue.keys()) socket.destroy();
      this.queue.clear();
      const note = (line: string) => this.print(say.note(line));
      const apps = [this.current, this.starting, this.standby, ...this.retired].filter((a): a is AppProcess => a !== null);
      await Promise.all(apps.map((app) => app.stop(this.killGrace, this.killGrace, note)));
    })();
    return this.stopping;
  }
}

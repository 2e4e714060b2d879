/** One app process under `tornado dev`: spawned ahead, started on demand, drained, killed. */

import { fork, type ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { fileURLToPath } from "node:url";
import type { InspectConfig } from "./config.js";

const CHILD_SCRIPT = fileURLToPath(new URL("./child.js", import.meta.url));
// tsx's loader (esbuild underneath): TypeScript without a build step, with source maps.
const TS_LOADER = import.meta.resolve("tsx");

/**
 * How an app process reads TypeScript: `native` is Node's own type stripping (tsx only if the
 * app needs it), `tsx` is tsx's loader from the start.
 *
 * @example
 * const loader: TypeScriptLoader = canStripTypes() ? "native" : "tsx";
 */
export type TypeScriptLoader = "native" | "tsx";

/**
 * What an app process is doing.
 *
 * @example
 * if (app.state === "serving") app.hand(socket);
 */
export type AppState = "loading" | "standby" | "starting" | "serving" | "draining" | "exited";

/**
 * A child process running the app. Events: `standby` (loader ready), `tsx` (type stripping
 * could not read the app: it goes through tsx), `listening` (the app's server is up), `failed`
 * (message: the error, with its `.ts` location), `exit` (code, signal).
 *
 * @example
 * const app = new AppProcess({ cwd, env, entry });
 * app.once("listening", () => app.hand(socket));
 * app.start();
 */
export class AppProcess extends EventEmitter {
  readonly child: ChildProcess;
  state: AppState = "loading";
  /** The error the app reported, if it failed. */
  failure: string | null = null;
  /** Whether the app went through tsx although the process started with type stripping. */
  usedTsx = false;
  /** How this process reads TypeScript. */
  readonly loader: TypeScriptLoader;
  private startRequested = false;
  private inspect: InspectConfig | null = null;

  private killTimer: NodeJS.Timeout | undefined;

  constructor(options: { cwd: string; env: NodeJS.ProcessEnv; entry: string; args?: string[]; nodeOptions?: string[]; loader?: TypeScriptLoader }) {
    super();
    this.loader = options.loader ?? "tsx";
    const loaderArgs = this.loader === "tsx" ? ["--import", TS_LOADER] : [];
    // The app's own arguments are its process.argv.slice(2), as under `node src/main.ts …`.
    this.child = fork(CHILD_SCRIPT, options.args ?? [], {
      cwd: options.cwd,
      env: { ...options.env, TORNADO_DEV_ENTRY: options.entry, TORNADO_DEV_ROOT: options.cwd, TORNADO_DEV_LOADER: this.loader },
      execArgv: ["--enable-source-maps", ...(options.nodeOptions ?? []), ...loaderArgs],
      // Its own process group, so that killing it kills whatever it started too.
      detached: true,
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.child.on("message", (message: { type?: string; message?: string }) => {
      if (message?.type === "tornado:standby") {
        this.state = "standby";
        this.emit("standby");
        if (this.startRequested) this.sendStart();
      } else if (message?.type === "tornado:tsx") {
        this.usedTsx = true;
        this.emit("tsx");
      } else if (message?.type === "tornado:listening") {
        this.state = "serving";
        this.emit("listening");
      } else if (message?.type === "tornado:inspector-closed") {
        this.emit("inspector-closed");
      } else if (message?.type === "tornado:failed") {
        this.failure = message.message ?? "the app failed";
        this.emit("failed", this.failure);
      }
    });
    this.child.on("exit", (code, signal) => {
      const was = this.state;
      this.state = "exited";
      clearTimeout(this.killTimer);
      this.emit("exit", code, signal, was);
    });
    // A child that dies while a message is on its way is an `exit`, not a crash of ours.
    this.child.on("error", () => {});
  }

  /** The child's process id. @example app.pid */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /**
   * Imports the app's entry (as soon as the loader is ready), after opening the inspector when
   * `inspect` is given (and, with `brk`, waiting for a debugger).
   *
   * @example
   * app.start({ host: "127.0.0.1", port: 9229, brk: false });
   */
  start(inspect: InspectConfig | null = null): void {
    this.startRequested = true;
    this.inspect = inspect;
    if (this.state === "standby") this.sendStart();
  }

  private sendStart(): void {
    this.state = "starting";
    this.child.send({ type: "tornado:start", inspect: this.inspect });
  }

  /**
   * Closes this process's inspector (a debugger attached to it is let go), so that the next
   * process can open it on the same port; resolves once it is closed or the process has
   * exited, or after `timeout` ms (an app paused at a breakpoint answers nothing).
   *
   * @example
   * await old.releaseInspector(2000);
   */
  releaseInspector(timeout: number): Promise<boolean> {
    if (this.state === "exited") return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const done = (released: boolean) => {
        clearTimeout(timer);
        this.off("inspector-closed", closed);
        this.off("exit", closed);
        resolve(released);
      };
      const closed = () => done(true);
      const timer = setTimeout(() => done(false), timeout);
      this.once("inspector-closed", closed);
      this.once("exit", closed);
      try {
        this.child.send({ type: "tornado:inspector-close" });
      } catch {
        // exiting: its exit releases the port
      }
    });
  }

  /**
   * Hands an accepted connection to the app; returns false if the app can no longer take it.
   *
   * @example
   * if (!app.hand(socket)) queue.push(socket);
   */
  hand(socket: Socket): boolean {
    if (this.state !== "serving" || !this.child.connected) return false;
    try {
      this.child.send({ type: "tornado:connection" }, socket);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Asks the app to finish its requests and exit; kills its process group if it is still there
   * after `timeout` plus `grace` ms.
   *
   * @example
   * old.drain(10_000, 3_000, (line) => console.log(line));
   */
  drain(timeout: number, grace: number, say: (line: string) => void): void {
    if (this.state === "exited") return;
    this.state = "draining";
    if (this.child.connected) this.child.send({ type: "tornado:drain", timeout });
    clearTimeout(this.killTimer);
    this.killTimer = setTimeout(() => this.kill(grace, say), timeout + 500);
    this.killTimer.unref();
  }

  /**
   * Stops the app for good, quietly: a serving app drains over IPC (its requests in flight get
   * `timeout` ms) and exits without running its own SIGTERM handler, so Ctrl-C on `tornado dev`
   * is not followed by the app's "SIGTERM: shutting down"; then whatever it started (its
   * process group) gets SIGTERM. An app that is not serving yet, or outstays the deadline,
   * is killed as by `kill()`.
   *
   * @example
   * await app.stop(3000, 3000, console.log);
   */
  async stop(timeout: number, grace: number, say: (line: string) => void = () => {}): Promise<void> {
    const serving = this.state === "serving" || this.state === "draining";
    if (!serving || !this.child.connected) {
      await this.kill(grace, say);
      return;
    }
    const exited = new Promise<void>((resolve) => this.once("exit", () => resolve()));
    this.state = "draining";
    clearTimeout(this.killTimer);
    this.child.send({ type: "tornado:drain", timeout });
    const late = setTimeout(() => void this.kill(grace, say), timeout + 1000);
    await exited;
    clearTimeout(late);
    this.signalGroup("SIGTERM");
  }

  /**
   * Sends SIGTERM to the app's whole process group, then SIGKILL after `grace` ms if it is
   * still running (saying so). Resolves once it has exited.
   *
   * @example
   * await app.kill(3000, console.log);
   */
  kill(grace: number, say: (line: string) => void = () => {}): Promise<void> {
    if (this.state === "exited") return Promise.resolve();
    const exited = new Promise<void>((resolve) => this.once("exit", () => resolve()));
    this.signalGroup("SIGTERM");
    const timer = setTimeout(() => {
      if (this.state !== "exited") {
        say(`app process ${this.pid} did not exit ${grace / 1000} s after SIGTERM: sent SIGKILL`);
        this.signalGroup("SIGKILL");
      }
    }, grace);
    return exited.finally(() => clearTimeout(timer));
  }

  private signalGroup(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      try {
        this.child.kill(signal);
      } catch {
        // already gone
      }
    }
  }
}

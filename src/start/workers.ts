/**
 * `tornado start --workers N`: the primary of a `node:cluster`. It forks the workers, replaces
 * one that dies, drains them all on SIGTERM, and stops (exit 1) when the app cannot start:
 * a worker's error output is held until it listens, so an app that fails at start is shown
 * once, not once per worker and per replacement.
 */

import cluster, { type Worker } from "node:cluster";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { whenOrphaned } from "../cli/orphan.js";
import { style } from "../cli/output.js";
import { isMetricsRequest, serveClusterMetrics } from "./metrics.js";

const WORKER_SCRIPT = fileURLToPath(new URL("./worker.js", import.meta.url));
// A worker that dies this soon after starting, this many times in a row, will not be replaced.
const CRASH_WINDOW_MS = 2000;
const MAX_QUICK_CRASHES = 5;
/**
 * How much of a worker's stderr is held while it starts (64 KiB); past it, the output is shown
 * as it comes (a worker that says this much is not failing the same way as the others).
 *
 * @example
 * held.length <= MAX_HELD_STDERR
 */
export const MAX_HELD_STDERR = 64 * 1024;
/**
 * How long a worker counts as starting if it never listens (a worker that only runs jobs):
 * after this its held output is shown and its exit is a crash, not a failure to start.
 *
 * @example
 * setTimeout(started, START_WINDOW_MS)
 */
export const START_WINDOW_MS = 10_000;

const say = (line: string) => process.stdout.write(`${style.dim("[tornado]")} ${line}\n`);

// One worker's stderr: held while it starts, shown as it comes once it listens.
class WorkerOutput {
  private held: Buffer[] = [];
  private heldBytes = 0;
  private live = false;
  private readonly ended: Promise<void>;

  constructor(stream: Readable | null) {
    this.ended = new Promise((resolve) => {
      if (!stream) return resolve();
      stream.once("end", () => resolve());
      stream.once("close", () => resolve());
    });
    stream?.on("data", (chunk: Buffer) => {
      if (this.live) process.stderr.write(chunk);
      else {
        this.held.push(chunk);
        this.heldBytes += chunk.length;
        if (this.heldBytes >= MAX_HELD_STDERR) this.goLive();
      }
    });
  }

  /** Shows what was held and everything that follows. */
  goLive(): void {
    if (this.live) return;
    this.live = true;
    for (const chunk of this.held) process.stderr.write(chunk);
    this.held = [];
  }

  /** What the worker wrote, once its stderr has ended (or after half a second). */
  async text(): Promise<string> {
    await Promise.race([this.ended, new Promise((resolve) => setTimeout(resolve, 500).unref())]);
    return Buffer.concat(this.held).toString("utf8");
  }
}

interface WorkerState {
  startedAt: number;
  listening: boolean;
  output: WorkerOutput;
  startTimer: NodeJS.Timeout;
}

/**
 * Runs `count` workers of the app, resolving with the exit code for `tornado start`: 0 after a
 * drain on SIGTERM/SIGINT, 1 when the app failed to start or its workers kept crashing.
 *
 * @example
 * process.exitCode = await runWorkers({ count: 2, env, drainTimeout: 30_000, portLine: "port 8888 (the default port)" });
 */
export function runWorkers(options: { count: number; env: NodeJS.ProcessEnv; drainTimeout: number; portLine: string }): Promise<number> {
  const { count, env, drainTimeout } = options;
  // stderr through us, to hold a starting worker's errors; stdout straight to the terminal.
  cluster.setupPrimary({ exec: WORKER_SCRIPT, stdio: ["inherit", "inherit", "pipe", "ipc"] });
  let stopping = false;
  let failed = false;
  let anyListened = false;
  let quickCrashes = 0;
  let lastStartError: string | null = null;
  const workers = new Map<Worker, WorkerState>();
  const fork = () => {
    const worker = cluster.fork(env);
    const output = new WorkerOutput(worker.process.stderr);
    const state: WorkerState = { startedAt: Date.now(), listening: false, output, startTimer: setTimeout(() => output.goLive(), START_WINDOW_MS) };
    workers.set(worker, state);
  };
  return new Promise((done) => {
    // The metrics port, served here for all workers once one of them asks.
    let metrics: Promise<(() => void) | undefined> | undefined;
    cluster.on("message", (_worker, message: unknown) => {
      if (!isMetricsRequest(message) || metrics !== undefined) return;
      metrics = serveClusterMetrics(message, process.cwd()).then(
        (close) => {
          say(`metrics of all workers on http://${message.host}:${message.port}${message.path}`);
          return close;
        },
        (error: Error) => {
          say(style.red(`metrics are not served on port ${message.port}: ${error.message}`));
          return undefined;
        },
      );
    });
    const finishIfEmpty = () => {
      if (workers.size > 0) return;
      void metrics?.then((close) => close?.());
      done(failed ? 1 : 0);
    };
    const stopAll = () => {
      for (const worker of workers.keys()) worker.process.kill("SIGTERM");
      // Whatever is left after the drain deadline is killed.
      setTimeout(() => {
        for (const worker of workers.keys()) worker.process.kill("SIGKILL");
      }, drainTimeout + 5000).unref();
    };
    cluster.on("listening", (worker) => {
      const state = workers.get(worker);
      if (!state || state.listening) return;
      state.listening = true;
      anyListened = true;
      clearTimeout(state.startTimer);
      state.output.goLive();
    });
    cluster.on("exit", async (worker, code, signal) => {
      const state = workers.get(worker);
      if (!state) return;
      clearTimeout(state.startTimer);
      const how = signal ?? `code ${code}`;
      const beforeListening = !state.listening;
      const error = beforeListening ? (await state.output.text()).trimEnd() : "";
      workers.delete(worker);
      if (stopping) return finishIfEmpty();
      if (beforeListening && !anyListened) {
        // No worker ever served: every replacement would fail the same way.
        if (error !== "") process.stderr.write(`${error}\n`);
        say(style.red(`the app failed to start in its workers (${how}): stopping`));
        stopping = true;
        failed = true;
        stopAll();
        return finishIfEmpty();
      }
      if (beforeListening && error !== "" && error !== lastStartError) process.stderr.write(`${error}\n`);
      if (beforeListening) lastStartError = error;
      const lived = Date.now() - state.startedAt;
      quickCrashes = lived < CRASH_WINDOW_MS ? quickCrashes + 1 : 0;
      if (quickCrashes >= MAX_QUICK_CRASHES) {
        say(style.red(`workers keep exiting right after they start (last: ${how}); stopping`));
        stopping = true;
        failed = true;
        stopAll();
        return finishIfEmpty();
      }
      say(`worker ${worker.process.pid} exited (${how}${beforeListening ? ", before listening" : ""}); starting a new one`);
      fork();
    });
    const stop = (why: string) => {
      if (stopping) return;
      stopping = true;
      say(`${why}: draining ${workers.size} worker(s)`);
      stopAll();
    };
    for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => stop(signal));
    whenOrphaned(() => stop("parent process gone"));
    for (let i = 0; i < count; i++) fork();
    say(`started ${count} worker(s) on ${options.portLine}`);
  });
}

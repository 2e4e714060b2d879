/**
 * The app's side of the embedded database: joins the supervisor of the data folder (starting
 * one if there is none) and holds a lease on it for as long as the pool is open. See
 * supervisor.ts for the other side.
 */

import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, statSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { appLog } from "../../log.js";
import { DatabaseUnavailableError } from "../errors.js";
import type { Target } from "../pool.js";
import { findBinaries } from "./binaries.js";
import { isAlive } from "./lock.js";

/** What the supervisor writes in `<dir>/supervisor.json` once it takes leases. */
export interface SupervisorInfo {
  pid: number;
  port: number;
  token: string;
}

/** How long an app waits for the supervisor to start PostgreSQL (initdb included). */
const START_TIMEOUT_MS = 120_000;
/** A supervisor that has written no supervisor.json this long after we started it is started again. */
const RESPAWN_MS = 10_000;

/**
 * Joins (or starts) the embedded PostgreSQL of `dir` and resolves with its URL and a lease,
 * which `release()` gives back (so does the end of this process, however it ends: the
 * supervisor notices the lease's socket close).
 *
 * @example
 * const { url, release } = await joinEmbedded("/app/.tornado/db");
 */
export async function joinEmbedded(dir: string): Promise<Target> {
  const binaries = findBinaries(process.cwd());
  mkdirSync(dir, { recursive: true });
  const deadline = Date.now() + START_TIMEOUT_MS;
  let spawnedAt = 0;
  for (;;) {
    const info = readInfo(dir);
    if (info) {
      const lease = await takeLease(info).catch((error: Error) => error);
      if (!(lease instanceof Error)) return lease;
      if ((lease as { fatal?: boolean }).fatal) throw lease;
    }
    const failure = spawnedAt ? readFailure(dir, spawnedAt) : undefined;
    if (failure) throw new DatabaseUnavailableError(`the embedded database could not start: ${failure}`);
    // No supervisor (or a dead one): start one. Several apps may do so at once; one wins the
    // folder's lock and the others exit.
    if ((!info || !isAlive(info.pid)) && Date.now() - spawnedAt > RESPAWN_MS) {
      spawnedAt = Date.now();
      spawnSupervisor(dir, binaries.binDir);
    }
    if (Date.now() > deadline) {
      throw new DatabaseUnavailableError(`the embedded database did not start within ${START_TIMEOUT_MS / 1000} s: see ${join(dir, "supervisor.log")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// What a supervisor we started wrote before giving up, if it did.
function readFailure(dir: string, since: number): string | undefined {
  const file = join(dir, "supervisor.error");
  try {
    if (statSync(file).mtimeMs < since - 1000) return undefined;
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

function readInfo(dir: string): SupervisorInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(join(dir, "supervisor.json"), "utf8")) as SupervisorInfo;
    return Number.isInteger(info.pid) && Number.isInteger(info.port) && typeof info.token === "string" ? info : undefined;
  } catch {
    return undefined;
  }
}

function spawnSupervisor(dir: string, binDir: string): void {
  const here = fileURLToPath(import.meta.url);
  // From the sources (this package's own tests) the supervisor is TypeScript: run it with tsx.
  const script = here.replace(/client\.(ts|js)$/, "supervisor.$1");
  const args = here.endsWith(".ts") ? ["--import", "tsx", script] : [script];
  const log = openSync(join(dir, "supervisor.log"), "a");
  try {
    // Its own session: Ctrl-C in the terminal and a kill of the app's process group do not
    // reach it; it stops PostgreSQL itself once the last lease is gone.
    const child = spawn(process.execPath, [...args, dir, binDir], { detached: true, stdio: ["ignore", log, log], env: { ...process.env, NODE_OPTIONS: "" } });
    child.unref();
  } finally {
    closeSync(log);
  }
}

// Connects to the supervisor and waits for its answer: the URL once PostgreSQL is ready.
function takeLease(info: SupervisorInfo): Promise<Target> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host: "127.0.0.1", port: info.port });
    let buffered = "";
    let leased = false;
    socket.setNoDelay(true);
    socket.once("connect", () => socket.write(`${JSON.stringify({ token: info.token, pid: process.pid })}\n`));
    socket.on("data", (chunk) => {
      if (leased) return;
      buffered += chunk.toString("utf8");
      const end = buffered.indexOf("\n");
      if (end < 0) return;
      const answer = JSON.parse(buffered.slice(0, end)) as { url?: string; error?: string };
      if (!answer.url) {
        socket.destroy();
        reject(Object.assign(new DatabaseUnavailableError(`the embedded database could not start: ${answer.error}`), { fatal: true }));
        return;
      }
      leased = true;
      // The lease must not keep the process alive on its own.
      socket.unref();
      let released = false;
      socket.on("close", () => {
        if (!released) appLog.error("database: the embedded PostgreSQL's supervisor went away; queries will fail until the app restarts");
      });
      resolve({
        url: answer.url,
        release: async () => {
          released = true;
          socket.end();
        },
      });
    });
    socket.on("error", (error) => {
      if (!leased) reject(error);
    });
    socket.once("close", () => {
      if (!leased) reject(new Error("the supervisor closed the connection"));
    });
  });
}

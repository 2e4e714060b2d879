/**
 * PostgreSQL's own programs, run by the supervisor: `initdb` on first start, then `postgres`
 * on a free loopback port. As root they run as the user nobody (PostgreSQL refuses root).
 */

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, existsSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, chmodSync, statSync, lchownSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { blockedFolder, UNPRIVILEGED } from "./binaries.js";
import { isAlive, readPid } from "./lock.js";

/** A running PostgreSQL. */
export interface Server {
  process: ChildProcess;
  port: number;
  url: string;
}

// Windows names its programs with .exe.
const EXE = process.platform === "win32" ? ".exe" : "";
const asRoot = typeof process.getuid === "function" && process.getuid() === 0;

/**
 * How PostgreSQL's programs run: as this user (not root); as root, as the user nobody when
 * nobody can reach the data and the programs; otherwise (an app under a mode-700 folder such
 * as /root or a mkdtemp folder) in a user namespace of its own where it is an ordinary user
 * that is root outside, so it can reach them (Linux's `unshare`, where user namespaces are
 * allowed); failing both, an error that says why.
 */
type RunMode = "self" | "nobody" | "namespace";

function runMode(dir: string, binDir: string): RunMode {
  if (!asRoot) return "self";
  const blocked = blockedFolder([dir, binDir]);
  if (!blocked) return "nobody";
  if (namespacesWork()) return "namespace";
  throw new Error(
    `PostgreSQL refuses to run as root, so the embedded database runs as the user ${UNPRIVILEGED.name}, who cannot enter ${blocked} (and user namespaces are not available here): move the app to a folder others can enter, or set DATABASE_URL`,
  );
}

const NAMESPACE = ["--user", "--map-user=1", "--map-group=1"];
let namespaceProbe: boolean | undefined;
function namespacesWork(): boolean {
  namespaceProbe ??= spawnSync("unshare", [...NAMESPACE, "true"], { stdio: "ignore" }).status === 0;
  return namespaceProbe;
}

// The program and arguments to spawn, and the user to spawn them as, for `mode`.
function command(mode: RunMode, program: string, args: string[]): { file: string; args: string[]; user: { uid?: number; gid?: number } } {
  if (mode === "namespace") return { file: "unshare", args: [...NAMESPACE, program, ...args], user: {} };
  return { file: program, args, user: mode === "nobody" ? { uid: UNPRIVILEGED.uid, gid: UNPRIVILEGED.gid } : {} };
}

// Who must own the data folder for `mode` (PostgreSQL insists that it owns it).
function owner(mode: RunMode): { uid: number; gid: number } | undefined {
  if (mode === "nobody") return { uid: UNPRIVILEGED.uid, gid: UNPRIVILEGED.gid };
  if (mode === "namespace") return { uid: 0, gid: 0 };
  return undefined;
}

/**
 * Creates the database cluster in `<dir>/data` if it is not there: initdb into a folder of its
 * own, then renamed into place, so that a failed or interrupted initdb leaves nothing half made.
 * Resolves with how long it took (0 when there was nothing to do).
 *
 * @example
 * const ms = await initialise(".tornado/db", binDir);
 */
export async function initialise(dir: string, binDir: string): Promise<number> {
  const data = join(dir, "data");
  if (existsSync(join(data, "PG_VERSION"))) return 0;
  const mode = runMode(dir, binDir);
  const started = performance.now();
  // Left by an initdb that was interrupted (the supervisor holds the folder's lock: none runs now).
  for (const entry of readdirSync(dir)) if (entry.startsWith("data.init-")) rmSync(join(dir, entry), { recursive: true, force: true });
  const staging = join(dir, `data.init-${process.pid}`);
  mkdirSync(staging, { mode: 0o700 });
  const password = randomBytes(18).toString("base64url");
  const pwfile = join(dir, `pwfile-${process.pid}`);
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  try {
    const uids = owner(mode);
    if (uids) {
      chownSync(staging, uids.uid, uids.gid);
      chownSync(pwfile, uids.uid, uids.gid);
    }
    // --no-sync: a new, empty cluster is not worth several seconds of fsync; PostgreSQL syncs
    // the data folder itself if it ever starts after a crash.
    await run(mode, join(binDir, `initdb${EXE}`), ["-D", staging, "-U", "postgres", "-A", "scram-sha-256", `--pwfile=${pwfile}`, "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"], join(dir, "initdb.log"));
    writeFileSync(join(dir, "password"), password, { mode: 0o600 });
    renameSync(staging, data);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  } finally {
    rmSync(pwfile, { force: true });
  }
  return performance.now() - started;
}

/**
 * Starts PostgreSQL on a free port of 127.0.0.1 and resolves once it takes connections.
 * A PostgreSQL left running on this folder by a supervisor that was killed is stopped first.
 *
 * @example
 * const server = await startServer(".tornado/db", binDir);
 */
export async function startServer(dir: string, binDir: string): Promise<Server> {
  const data = join(dir, "data");
  await stopOrphan(data);
  const password = readFileSync(join(dir, "password"), "utf8").trim();
  const mode = runMode(dir, binDir);
  const uids = owner(mode);
  if (uids && statSync(data).uid !== uids.uid) chownTree(data, uids.uid, uids.gid);
  chmodSync(data, 0o700);
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const log = join(dir, "postgres.log");
    const out = openSync(log, "a");
    const args = ["-D", data, "-p", String(port), "-h", "127.0.0.1", "-k", "", "-c", "max_connections=200", "-c", "logging_collector=off"];
    const postgres = command(mode, join(binDir, `postgres${EXE}`), args);
    const child = spawn(postgres.file, postgres.args, { ...postgres.user, stdio: ["ignore", out, out] });
    closeSync(out);
    const outcome = await waitUntilReady(child, data);
    if (outcome === "ready") {
      return { process: child, port, url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres` };
    }
    const tail = readFileSync(log, "utf8").split("\n").slice(-6).join("\n");
    // Another program took the port between our look and PostgreSQL's bind: try another.
    if (attempt < 5 && /could not bind|could not create any TCP\/IP sockets/.test(tail)) continue;
    throw new Error(`PostgreSQL did not start (${outcome}); the end of ${log}:\n${tail}`);
  }
}

/**
 * Stops PostgreSQL with a fast shutdown (open transactions are rolled back), escalating to an
 * immediate one after `patienceMs`.
 *
 * @example
 * await stopServer(server.process);
 */
export async function stopServer(child: ChildProcess, patienceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGINT");
  const late = setTimeout(() => child.kill("SIGQUIT"), patienceMs);
  await exited;
  clearTimeout(late);
}

// postmaster.pid's eighth line says "ready" once PostgreSQL takes connections.
async function waitUntilReady(child: ChildProcess, data: string): Promise<"ready" | string> {
  let exited: string | undefined;
  child.once("exit", (code, signal) => (exited = `it exited with ${signal ?? `code ${code}`}`));
  child.once("error", (error) => (exited = error.message));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (exited) return exited;
    try {
      const lines = readFileSync(join(data, "postmaster.pid"), "utf8").split("\n");
      if (Number(lines[0]) === child.pid && lines[7]?.trim() === "ready") return "ready";
    } catch {
      // not written yet
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  child.kill("SIGQUIT");
  return "it was not ready after 60 s";
}

async function stopOrphan(data: string): Promise<void> {
  const pidFile = join(data, "postmaster.pid");
  const pid = readPid(pidFile);
  if (!pid || !isAlive(pid) || !isPostgres(pid)) return;
  process.kill(pid, "SIGINT");
  const deadline = Date.now() + 15_000;
  while (isAlive(pid)) {
    if (Date.now() > deadline) process.kill(pid, "SIGQUIT");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function isPostgres(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("postgres");
  } catch {
    // No /proc (macOS): trust postmaster.pid.
    return process.platform !== "linux";
  }
}

function chownTree(folder: string, uid: number, gid: number): void {
  chownSync(folder, uid, gid);
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) chownTree(path, uid, gid);
    else lchownSync(path, uid, gid);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

function run(mode: RunMode, program: string, args: string[], logFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = openSync(logFile, "a");
    const spawned = command(mode, program, args);
    const child = spawn(spawned.file, spawned.args, { ...spawned.user, stdio: ["ignore", out, out] });
    closeSync(out);
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      if (code === 0) resolve();
      else {
        const tail = readFileSync(logFile, "utf8").split("\n").slice(-6).join("\n");
        reject(new Error(`${program} failed (${signal ?? `exit code ${code}`}):\n${tail}`));
      }
    });
  });
}

/**
 * The embedded database's supervisor: one small process per data folder, started by the first
 * app that needs it, in a session of its own. It starts PostgreSQL (initdb on first start),
 * hands its URL to each app that connects to it, and counts those connections as leases. A
 * short grace after the last lease is gone (the app exited, was killed, or closed its
 * database) it stops PostgreSQL and exits. So a `tornado dev` restart, whose new app process
 * starts before the old one exits, keeps the same PostgreSQL, and nothing outlives the app.
 *
 * Run as `node supervisor.js <dir> <binDir>`; its output goes to `<dir>/supervisor.log`.
 */

import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { join } from "node:path";
import { tryLock, unlock } from "./lock.js";
import { initialise, startServer, stopServer, type Server } from "./server.js";

const [dir, binDir] = process.argv.slice(2);
if (!dir || !binDir) {
  console.error("usage: supervisor <data folder> <PostgreSQL's bin folder>");
  process.exit(2);
}

/** How long PostgreSQL outlives the last lease (ms): EMBEDDED_DB_GRACE_MS, or 2000. */
const GRACE_MS = Number(process.env.EMBEDDED_DB_GRACE_MS) > 0 ? Number(process.env.EMBEDDED_DB_GRACE_MS) : 2000;
/** With no lease at all this long after start (the app that started us died), give up. */
const FIRST_LEASE_MS = 30_000;

const lockFile = join(dir, "supervisor.lock");
const infoFile = join(dir, "supervisor.json");
const errorFile = join(dir, "supervisor.error");
const say = (line: string) => console.log(`${new Date().toISOString()} [supervisor ${process.pid}] ${line}`);

// Another supervisor may have this folder: one that serves (it has written supervisor.json) keeps
// it, and we leave; one that is stopping (after its last lease) is waited for, and we take over.
for (const waitUntil = Date.now() + 30_000; ; ) {
  if (tryLock(lockFile) === undefined) break;
  if (existsSync(infoFile) || Date.now() > waitUntil) process.exit(0);
  await new Promise((resolve) => setTimeout(resolve, 50));
}
// The logs are appended to on every start: keep each under about 1 MB.
for (const log of ["supervisor.log", "postgres.log", "initdb.log"]) trimLog(join(dir, log));

const token = randomBytes(18).toString("base64url");
const leases = new Set<Socket>();
let server: Server | undefined;
let failure: string | undefined;
let stopping = false;
let booting: Promise<void> = Promise.resolve();
let idleTimer: NodeJS.Timeout | undefined = setTimeout(() => void stop("no app took a lease"), FIRST_LEASE_MS);

const listener = createServer((socket) => {
  socket.setNoDelay(true);
  let buffered = "";
  socket.on("error", () => {});
  socket.on("data", (chunk) => {
    if (buffered === undefined) return;
    buffered += chunk.toString("utf8");
    const end = buffered.indexOf("\n");
    if (end < 0) {
      if (buffered.length > 1000) socket.destroy();
      return;
    }
    let hello: { token?: string; pid?: number };
    try {
      hello = JSON.parse(buffered.slice(0, end)) as { token?: string; pid?: number };
    } catch {
      socket.destroy();
      return;
    }
    buffered = undefined as unknown as string;
    if (hello.token !== token || stopping) {
      socket.destroy();
      return;
    }
    leases.add(socket);
    clearTimeout(idleTimer);
    idleTimer = undefined;
    say(`lease taken by pid ${hello.pid} (${leases.size} held)`);
    socket.once("close", () => {
      if (!leases.delete(socket)) return;
      say(`lease given back by pid ${hello.pid} (${leases.size} held)`);
      if (leases.size === 0 && !stopping) {
        idleTimer = setTimeout(() => void stop(`no lease for ${GRACE_MS} ms`), GRACE_MS);
      }
    });
    answer(socket);
  });
});

function answer(socket: Socket): void {
  if (server) socket.write(`${JSON.stringify({ url: server.url })}\n`);
  else if (failure) socket.end(`${JSON.stringify({ error: failure })}\n`);
  // otherwise it is answered once PostgreSQL is ready
}

async function stop(why: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  say(`stopping PostgreSQL: ${why}`);
  clearTimeout(idleTimer);
  rmSync(infoFile, { force: true });
  listener.close();
  // A PostgreSQL still starting is waited for, then stopped: it must not outlive us.
  await booting;
  // end(), not destroy(): an answer still being written (the reason PostgreSQL could not start) gets through.
  for (const socket of leases) socket.end();
  if (server) await stopServer(server.process);
  unlock(lockFile);
  say("stopped");
  setTimeout(() => process.exit(failure ? 1 : 0), 200);
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void stop(`got ${signal}`));
process.on("uncaughtException", (error) => {
  say(`failed: ${error.stack ?? error.message}`);
  void stop("an unexpected error");
});

listener.listen(0, "127.0.0.1", () => {
  const { port } = listener.address() as { port: number };
  const staging = `${infoFile}.${process.pid}`;
  writeFileSync(staging, JSON.stringify({ pid: process.pid, port, token }), { mode: 0o600 });
  renameSync(staging, infoFile);
  booting = boot();
});

async function boot(): Promise<void> {
  rmSync(errorFile, { force: true });
  try {
    const initMs = await initialise(dir!, binDir!);
    if (initMs > 0) say(`created the database cluster in ${Math.round(initMs)} ms`);
    const started = performance.now();
    server = await startServer(dir!, binDir!);
    say(`PostgreSQL ${server.process.pid} ready on 127.0.0.1:${server.port} in ${Math.round(performance.now() - started)} ms`);
    if (stopping) return;
    server.process.once("exit", (code, signal) => {
      if (stopping) return;
      say(`PostgreSQL exited unexpectedly (${signal ?? `code ${code}`})`);
      server = undefined;
      void stop("PostgreSQL is gone");
    });
  } catch (error) {
    failure = (error as Error).message;
    say(`cannot start PostgreSQL: ${failure}`);
    // For apps that started us but have not connected yet.
    writeFileSync(errorFile, failure);
  }
  for (const socket of leases) answer(socket);
  if (failure) setImmediate(() => void stop("PostgreSQL could not start"));
}

function trimLog(file: string): void {
  try {
    if (statSync(file).size < 1024 * 1024) return;
    writeFileSync(file, readFileSync(file).subarray(-256 * 1024));
  } catch {
    // no log yet
  }
}

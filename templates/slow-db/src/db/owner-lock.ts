/**
 * One process at a time for the embedded database's folder. PGlite is PostgreSQL in
 * single-user mode: it does not notice a second process opening the same files, and two of
 * them corrupt each other. So the folder holds `owner.pid`, naming the process that has it.
 */

import { linkSync, readFileSync, rmSync, writeFileSync } from "node:fs";

const RETRY_MS = 200;
const TELL_AFTER_MS = 1000;

/**
 * Takes `file` for this process, waiting while another live process holds it (under
 * `tornado dev` the old app process keeps it until it has drained: `onWait` is called once if
 * that takes over a second); a file left by a process that has died is taken over. Resolves with a function that gives it back, which also runs
 * when this process exits. Rejects if `signal` is aborted while waiting.
 *
 * @example
 * const release = await acquireOwnerLock(".pglite/owner.pid", (pid) => console.log(`waiting for ${pid}`));
 */
export async function acquireOwnerLock(file: string, onWait: (ownerPid: number) => void, signal?: AbortSignal): Promise<() => void> {
  const started = Date.now();
  let told = false;
  for (;;) {
    signal?.throwIfAborted();
    const owner = tryTake(file);
    if (owner === undefined) break;
    // A short wait (an idle process draining under `tornado dev`) is not worth a line.
    if (!told && Date.now() - started >= TELL_AFTER_MS) {
      told = true;
      onWait(owner);
    }
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
  const release = () => {
    process.off("exit", release);
    if (readOwner(file) === process.pid) rmSync(file, { force: true });
  };
  process.on("exit", release);
  return release;
}

// Takes the file, or returns the pid of the live process that has it.
function tryTake(file: string): number | undefined {
  // Written aside, then linked into place: link() fails if the file exists, and nobody ever
  // reads a half-written one.
  const mine = `${file}.${process.pid}`;
  writeFileSync(mine, String(process.pid));
  try {
    linkSync(mine, file);
    return undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    rmSync(mine, { force: true });
  }
  const owner = readOwner(file);
  if (owner !== undefined && owner !== process.pid && isAlive(owner)) return owner;
  // Left behind by a process that is gone (or half-written): take it over.
  rmSync(file, { force: true });
  return tryTake(file);
}

function readOwner(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

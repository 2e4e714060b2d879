/**
 * A pid file that one live process at a time can hold: the embedded database's supervisor
 * takes `<dir>/supervisor.lock`, so that a data folder never has two.
 */

import { linkSync, readFileSync, rmSync, writeFileSync } from "node:fs";

/**
 * Takes `file` for this process, or returns the pid of the live process that holds it. A file
 * left by a process that has died is taken over.
 *
 * @example
 * const holder = tryLock(".tornado/db/supervisor.lock"); // undefined: it is ours
 */
export function tryLock(file: string): number | undefined {
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
  const holder = readPid(file);
  if (holder !== undefined && holder !== process.pid && isAlive(holder)) return holder;
  // Left behind by a process that is gone: take it over.
  rmSync(file, { force: true });
  return tryLock(file);
}

/**
 * Removes `file` if this process holds it.
 *
 * @example
 * unlock(".tornado/db/supervisor.lock");
 */
export function unlock(file: string): void {
  if (readPid(file) === process.pid) rmSync(file, { force: true });
}

/**
 * The pid in a pid file (the first line, as in PostgreSQL's postmaster.pid), if any.
 *
 * @example
 * readPid(".tornado/db/data/postmaster.pid") // 4242
 */
export function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, "utf8").split("\n")[0]!.trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a process with this pid exists.
 *
 * @example
 * isAlive(process.pid) // true
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Writing files so that an interrupted run never leaves a half-written one. */

import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { PlannedFile } from "./template.js";

const pending = new Set<string>();

function removePendingAndExit(): void {
  for (const tmp of pending) {
    // Synchronous on purpose: the process is about to exit.
    rmSync(tmp, { force: true });
  }
  process.exit(130);
}

/**
 * Writes each file to a temporary name beside it, then renames it into place (a rename is
 * atomic), so a crash or Ctrl-C leaves either the whole file or none; on Ctrl-C the
 * temporary files are removed.
 *
 * @example
 * await writeFilesAtomically("/tmp/my-api", [{ path: "src/app.ts", content }]);
 */
export async function writeFilesAtomically(root: string, files: readonly PlannedFile[]): Promise<void> {
  const onSignal = () => removePendingAndExit();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    for (const file of files) {
      const target = join(root, file.path);
      await mkdir(dirname(target), { recursive: true });
      const tmp = join(dirname(target), `.${basename(target)}.${randomBytes(4).toString("hex")}.tmp`);
      pending.add(tmp);
      try {
        await writeFile(tmp, file.content, { mode: file.mode ?? 0o644 });
        await rename(tmp, target);
      } catch (error) {
        await rm(tmp, { force: true });
        throw error;
      } finally {
        pending.delete(tmp);
      }
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

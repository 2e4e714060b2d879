/** A Unix socket file left behind by a process that listened on it and was killed. */

import { spawn } from "node:child_process";

/**
 * Makes `path` a stale socket file: a child process listens there and is SIGKILLed, so the file
 * stays with nobody behind it (what a crashed server leaves).
 *
 * @example
 * await leaveStaleSocket(join(dir, "stale.sock")); // statSync(path).isSocket() === true
 */
export async function leaveStaleSocket(path: string): Promise<void> {
  const child = spawn(process.execPath, ["-e", "require('net').createServer().listen(process.argv[1], () => console.log('up'))", path], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once("data", () => resolve());
    child.once("exit", (code) => reject(new Error(`the child exited with ${code} before listening`)));
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}

/**
 * What `HTTPServer.listen` and `listenUnix` check before node binds: whether `reusePort` can
 * work on this Node line and platform, and that a Unix socket path is free (Tornado's
 * `bind_sockets(reuse_port=True)` and `bind_unix_socket`).
 */

import { stat, unlink } from "node:fs/promises";
import { connect } from "node:net";

/**
 * Options of `HTTPServer.listen(port, host, options)` (and `Application.listen`) about the
 * listening socket itself.
 *
 * @example
 * await server.listen(8888, "0.0.0.0", { reusePort: true });
 */
export interface ListenOptions {
  /**
   * Sets `SO_REUSEPORT`: several processes (or servers) may listen on the same port, and the
   * kernel spreads new connections among them. Needs Node 22.12 or later and a platform that
   * has it (Linux 3.9+, FreeBSD 12+, DragonFly BSD, Solaris 11.4, AIX 7.2.5); elsewhere
   * `listen` rejects with `ERR_REUSE_PORT_UNSUPPORTED`. Default false.
   */
  reusePort?: boolean;
}

/**
 * Options of `HTTPServer.listenUnix(path, options)`.
 *
 * @example
 * await server.listenUnix("/run/app/http.sock", { mode: 0o660 });
 */
export interface UnixListenOptions {
  /** Permissions of the socket file, as Tornado's `mode`. Default 0o600 (the owner only). */
  mode?: number;
}

/** An error with a stable `code` to match on. */
function codedError(message: string, code: string): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}

/**
 * Why `reusePort` cannot work here (a Node line before 22.12 ignores the option without a word,
 * so the second server would fail with "in use"), or null when it can.
 *
 * @example
 * reusePortUnsupported("20.19.1") // "reusePort needs Node 22.12 or later (this is Node 20.19.1)"
 */
export function reusePortUnsupported(nodeVersion: string = process.versions.node): string | null {
  const [major = 0, minor = 0] = nodeVersion.split(".").map(Number);
  if (major < 22 || (major === 22 && minor < 12)) return `reusePort needs Node 22.12 or later (this is Node ${nodeVersion})`;
  return null;
}

/**
 * The error `listen` rejects with when `reusePort` is refused: before binding on an old Node
 * line, or node's own error (ENOTSUP) on a platform without `SO_REUSEPORT`.
 *
 * @example
 * throw reusePortError(reusePortUnsupported()!);
 */
export function reusePortError(reason: string, cause?: unknown): Error {
  const error = codedError(`${reason}: listen without it, or run one server per port`, "ERR_REUSE_PORT_UNSUPPORTED");
  if (cause !== undefined) error.cause = cause;
  return error;
}

/** Whether a node listen error means the platform has no `SO_REUSEPORT`. @internal */
export function isReusePortRefusal(error: NodeJS.ErrnoException): boolean {
  return error.code === "ENOTSUP" || error.code === "EOPNOTSUPP";
}

/**
 * Makes `path` free for a new Unix socket, as Tornado's `bind_unix_socket`: a socket file left
 * by a server that has gone is removed; a path that is something else (a file, a folder) is
 * refused (`ERR_NOT_A_SOCKET`), and so, beyond Tornado, is a socket a live server still
 * answers on (`EADDRINUSE`), rather than taking its path away. A Linux abstract name (starting
 * with NUL) has no file and is left to the kernel.
 *
 * @example
 * await freeUnixSocketPath("/run/app/http.sock");
 */
export async function freeUnixSocketPath(path: string): Promise<void> {
  if (path.startsWith("\0")) return;
  let isSocket: boolean;
  try {
    isSocket = (await stat(path)).isSocket();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  if (!isSocket) throw codedError(`${path} exists and is not a socket: remove it or choose another path`, "ERR_NOT_A_SOCKET");
  if (await answers(path)) {
    throw codedError(`${path} is in use by another server: stop it or choose another path`, "EADDRINUSE");
  }
  await unlink(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "ENOENT") throw error;
  });
}

/** Whether a server accepts connections on the Unix socket at `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    // ECONNREFUSED: nobody listens (a stale file); anything else, we cannot tell: not live.
    probe.once("error", () => resolve(false));
  });
}

/**
 * The app's side of `tornado dev`: when a supervisor started this process, `HTTPServer.listen()`
 * does not bind the port (the supervisor owns it and hands over each accepted connection), and
 * the supervisor tells the old app to drain when a new one is ready.
 *
 * Messages (over the IPC channel node sets up with `fork`):
 * - app → supervisor `{ type: "tornado:listening" }` once the app's server is ready;
 * - supervisor → app `{ type: "tornado:connection" }` with a socket handle;
 * - supervisor → app `{ type: "tornado:drain", timeout }`: finish requests in flight, then exit.
 */

import type { Server } from "node:http";
import type { Socket } from "node:net";
import { installProcessGuards } from "../ioloop/process-guard.js";
import { genLog } from "../log.js";

/**
 * The environment variable a supervisor sets to the port it owns.
 *
 * @example
 * spawn(node, [child], { env: { [SUPERVISOR_PORT_ENV]: "8888" } });
 */
export const SUPERVISOR_PORT_ENV = "TORNADO_SUPERVISOR_PORT";

/**
 * What the supervisor needs from a server in the app.
 *
 * @example
 * attachToSupervisor({ acceptConnection: (s) => server.emit("connection", s), close: drain });
 */
export interface SupervisedServer {
  acceptConnection(socket: Socket): void;
  close(options: { timeout: number; idleGrace: number }): Promise<void>;
}

type Message = { type?: string; timeout?: number };

const servers: SupervisedServer[] = [];

/**
 * The port the supervisor owns when this process runs under `tornado dev`, else `null`.
 *
 * @example
 * if (supervisedPort() !== null) attachToSupervisor(server);
 */
export function supervisedPort(): number | null {
  const port = process.env[SUPERVISOR_PORT_ENV];
  return port !== undefined && typeof process.send === "function" ? Number(port) : null;
}

function onMessage(message: Message, handle?: unknown): void {
  if (message?.type === "tornado:connection" && handle) {
    const server = servers[0];
    if (server) server.acceptConnection(handle as Socket);
    else (handle as Socket).destroy();
  } else if (message?.type === "tornado:drain") {
    const timeout = message.timeout ?? 10_000;
    // Connections idle this long are closed; a busy one gets `Connection: close` on its next
    // response instead, so a client never writes into a socket we are closing.
    void Promise.all(servers.map((s) => s.close({ timeout, idleGrace: 300 }))).then(() => process.exit(0));
  }
}

/**
 * Registers a server with the supervisor: it will receive the supervisor's connections. The
 * first server registered serves them.
 *
 * @example
 * attachToSupervisor(this);
 */
export function attachToSupervisor(server: SupervisedServer): void {
  installProcessGuards();
  if (servers.length === 0) {
    // Connections arrive over the IPC channel: it keeps this process alive between them.
    process.channel?.ref();
    process.on("message", onMessage);
    // The supervisor going away (Ctrl-C, a crash) must not leave this process behind.
    process.once("disconnect", () => process.exit(0));
  }
  servers.push(server);
  if (servers.length === 1) process.send!({ type: "tornado:listening" });
}

/**
 * Serves the supervisor's connections on node's `server` without binding a port; returns the
 * set of sockets handed over (each leaves it when it closes). `close` is the server's drain.
 *
 * @example
 * const sockets = serveSupervised(this.server, ({ timeout, idleGrace }) => drain(timeout, idleGrace));
 */
export function serveSupervised(server: Server, close: SupervisedServer["close"]): Set<Socket> {
  const sockets = new Set<Socket>();
  // Turns on node's connection tracking (idle/active lists, header timeouts) without binding.
  server.emit("listening");
  attachToSupervisor({
    acceptConnection: (socket) => {
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
      server.emit("connection", socket);
    },
    close,
  });
  return sockets;
}

/**
 * Drains the supervisor's sockets: after `idleGrace` ms idle connections close, busy ones as
 * their requests finish, and whatever is left after `timeout` ms is cut (with a warning).
 *
 * @example
 * await drainSupervisedSockets(this.server, sockets, 10_000, 300);
 */
export async function drainSupervisedSockets(server: Server, sockets: ReadonlySet<Socket>, timeout: number, idleGrace: number): Promise<void> {
  const deadline = Date.now() + timeout;
  await new Promise((resolve) => setTimeout(resolve, idleGrace));
  server.closeIdleConnections();
  while (sockets.size > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    server.closeIdleConnections();
  }
  if (sockets.size > 0) {
    genLog.warning(`Closing ${sockets.size} connection(s) with requests still in flight after ${timeout}ms`);
    for (const socket of sockets) socket.destroy();
  }
}

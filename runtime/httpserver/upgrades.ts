/**
 * The server's upgrade requests and the WebSockets they become, kept so that a shutdown can
 * close them: node lets go of a socket once it hands it to the `upgrade` event, so the server
 * tracks those sockets itself, tells open WebSockets to go away (1001, or 1012 on a dev
 * restart), and cuts what is left at the deadline.
 */

import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { bodyLimitFor, type ServerLimits } from "./limits.js";
import { UpgradeConnection, type UpgradeHost, type UpgradedConnection } from "./upgrade.js";

/**
 * WebSocket close code for a server shutting down (RFC 6455 §7.4.1).
 *
 * @example
 * upgrades.goAway(GOING_AWAY);
 */
export const GOING_AWAY = 1001;

/**
 * WebSocket close code for a server restarting (the IANA registry): `tornado dev` replacing the app.
 *
 * @example
 * upgrades.goAway(SERVICE_RESTART);
 */
export const SERVICE_RESTART = 1012;

/**
 * The upgrade sockets and open WebSockets of one server.
 *
 * @example
 * const upgrades = new UpgradeTracker(limits, options.bodyTimeout, () => server.requestDone());
 * const connection = upgrades.open(req, socket, head);
 */
export class UpgradeTracker {
  // Sockets node handed to the `upgrade` event: node's own connection tracking has let go of them.
  private readonly sockets = new Set<Duplex>();
  // Open WebSockets, closed with the go-away code when the server shuts down.
  private readonly upgraded = new Set<UpgradedConnection>();
  private goAwayCode: number | undefined;
  private allGone: (() => void) | undefined;
  private readonly host: UpgradeHost;
  // One listener for every socket (called with the socket as `this`), not a closure each.
  private readonly untrack: (this: Duplex) => void;

  /** `done` is called once per upgrade request when it is answered (or its socket is gone). */
  constructor(
    private readonly limits: ServerLimits,
    bodyTimeout: number | undefined,
    done: () => void,
  ) {
    this.host = {
      maxBodySize: limits.maxBodySize,
      bodyTimeout,
      done,
      adopt: (connection, socket) => this.adopt(connection, socket),
      release: (connection) => this.release(connection),
    };
    const sockets = this.sockets;
    this.untrack = function (this: Duplex) {
      sockets.delete(this);
    };
  }

  /** Open WebSockets. @example upgrades.size // 0 */
  get size(): number {
    return this.upgraded.size;
  }

  /**
   * The connection for an upgrade request node handed over, tracked until its socket closes.
   *
   * @example
   * server.on("upgrade", (req, socket, head) => serve(req, upgrades.open(req, socket, head)));
   */
  open(req: IncomingMessage, socket: Duplex, head: Buffer): UpgradeConnection {
    // From Node 26 `socket` is node's wrapper around the connection while a body is arriving.
    req.socket.setTimeout(0);
    dropClearedTimeout(req.socket);
    this.sockets.add(socket);
    // `on`, not `once` (whose wrapper would stay for the socket's life): it runs at most once.
    socket.on("close", this.untrack);
    // A body sent with an upgrade request (curl's `Upgrade: h2c` POST) gets its content type's limit too.
    const maxBodySize = bodyLimitFor(req.headers["content-type"], this.limits);
    const host = maxBodySize === this.limits.maxBodySize ? this.host : { ...this.host, maxBodySize };
    return new UpgradeConnection(req, socket, head, host);
  }

  /**
   * Starts closing every open WebSocket with `code`; one that opens later gets it at once.
   *
   * @example
   * upgrades.goAway(GOING_AWAY);
   */
  goAway(code: number): void {
    this.goAwayCode = code;
    for (const connection of this.upgraded) connection.goAway(code, goAwayReason(code));
  }

  /**
   * Cuts every WebSocket and upgrade socket at once (the drain deadline has passed).
   *
   * @example
   * upgrades.terminate();
   */
  terminate(): void {
    for (const connection of this.upgraded) connection.terminate();
    for (const socket of this.sockets) socket.destroy();
  }

  /**
   * Resolves once no WebSocket is open (each one's `onClose` has run).
   *
   * @example
   * await upgrades.whenAllClosed();
   */
  whenAllClosed(): Promise<void> {
    if (this.upgraded.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => (this.allGone = resolve));
  }

  private adopt(connection: UpgradedConnection, socket: Duplex | undefined): void {
    this.upgraded.add(connection);
    // The connection closes its socket when cut: the socket is no longer tracked here, and its
    // close listener goes (with the new protocol's, node would keep an array of two for it).
    if (socket !== undefined && this.sockets.delete(socket)) socket.off("close", this.untrack);
    if (this.goAwayCode !== undefined) connection.goAway(this.goAwayCode, goAwayReason(this.goAwayCode));
  }

  private release(connection: UpgradedConnection): void {
    if (!this.upgraded.delete(connection)) return;
    if (this.upgraded.size === 0) this.allGone?.();
  }
}

function goAwayReason(code: number): string {
  return code === SERVICE_RESTART ? "Server restarting" : "Server shutting down";
}

// Node's socket keeps the Timeout object of its idle timer (and the bound callback in it) after
// `setTimeout(0)` cleared it, for as long as the socket lives: for a WebSocket, days of a dead
// timer, and a no-op refresh of it on every read and write. Node treats a null one as "no
// timer". The symbol is node's private `timeout` key, found by its description; a Node without
// it keeps its timer object, which changes nothing else.
let timeoutKey: symbol | null | undefined;

function dropClearedTimeout(socket: Duplex): void {
  if (timeoutKey === undefined) {
    timeoutKey = Object.getOwnPropertySymbols(socket).find((key) => key.description === "timeout") ?? null;
  }
  if (timeoutKey === null) return;
  const holder = socket as unknown as Record<symbol, { _destroyed?: boolean } | null | undefined>;
  // Only a timer that is cleared (setTimeout(0) above) is dropped.
  if (holder[timeoutKey]?._destroyed === true) holder[timeoutKey] = null;
}

/** `FallbackHandler`: mounts a node request listener (an Express or Connect app, say) on a route. */

import type { IncomingMessage, ServerResponse } from "node:http";
import { errorPage } from "../httpserver/connection.js";
import { appLog } from "../log.js";
import { Finish, HTTPError } from "../web/errors.js";
import { RequestHandler } from "../web/handler.js";

/**
 * A node request listener: what `http.createServer()` takes, and what an Express app is.
 *
 * @example
 * const listener: NodeRequestListener = (req, res) => res.end("hello");
 */
export type NodeRequestListener = (req: IncomingMessage, res: ServerResponse) => unknown;

/**
 * The `initArgs` of a `FallbackHandler` route.
 *
 * @example
 * ["/legacy/.*", FallbackHandler, { fallback: expressApp } satisfies FallbackHandlerArgs]
 */
export interface FallbackHandlerArgs {
  /** The node request listener that answers the requests of this route. */
  fallback: NodeRequestListener;
}

/**
 * Hands the requests of its route to a node request listener, with node's own `req` and `res`,
 * as Tornado's `FallbackHandler` hands them to a WSGI app: to serve an Express, Koa
 * (`app.callback()`) or Connect app, or any `(req, res)` function, next to your handlers.
 *
 * Contract:
 * - Every method goes to the listener, before the body is read: the listener reads it from
 *   `req` itself. `prepare()`, XSRF checks and the handler's methods are not run.
 * - The request counts as finished (access log with the listener's status, `onFinish()`,
 *   graceful shutdown waiting for it) when the listener's response has been sent or the
 *   client has gone.
 * - A listener that throws (or rejects) before responding gets a 500 page, and the error is
 *   logged on `tornado.application`; after responding, the connection is cut.
 * - A request with `Connection: Upgrade` is handed over with the upgrade ignored (the
 *   connection then closes); if it also has a body, it is a 400.
 * - The listener sees the request as node parsed it: `req.url` is the full path (routes do not
 *   strip a prefix, unlike Express's `app.use("/prefix", …)`).
 *
 * @example
 * import express from "express";
 * const legacy = express();
 * legacy.get("/legacy/hello", (req, res) => res.send("from express"));
 * new Application([
 *   ["/api/users", UsersHandler],
 *   ["/legacy/.*", FallbackHandler, { fallback: legacy }],
 * ]);
 */
export class FallbackHandler extends RequestHandler {
  /** The listener requests go to. */
  fallback!: NodeRequestListener;

  /**
   * Takes `{ fallback }` and hands the request over to it; the handler's own methods never run.
   *
   * @example
   * ["/.*", FallbackHandler, { fallback: (req, res) => res.end("hi") }]
   */
  override async initialize(initArgs: FallbackHandlerArgs): Promise<void> {
    if (typeof initArgs?.fallback !== "function") {
      throw new TypeError("FallbackHandler needs initArgs { fallback: (req, res) => … }, a node request listener");
    }
    this.fallback = initArgs.fallback;
    const connection = this.request.connection;
    if (connection?.detach === undefined) {
      throw new Error("FallbackHandler needs a request received by HTTPServer (node's req and res)");
    }
    const exchange = connection.detach();
    if (exchange === null) throw new HTTPError(400, "a request with Connection: Upgrade and a body cannot be handed to a node listener");
    await this.handOver(exchange.req, exchange.res);
    // The response is sent; Finish ends the handler's lifecycle without another one.
    throw new Finish();
  }

  /**
   * No `Etag` of our own: the listener's response is not the handler's to tag.
   *
   * @example
   * new FallbackHandler(app, request).computeEtag() // null
   */
  override computeEtag(): string | null {
    return null;
  }

  private async handOver(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const answered = new Promise<void>((resolve) => {
      res.once("finish", resolve);
      res.once("close", resolve);
    });
    const failed = (error: unknown) => {
      appLog.error(`Uncaught exception in fallback ${this.request}`, error);
      if (res.headersSent) {
        res.destroy();
      } else if (!res.writableEnded) {
        res.statusCode = 500;
        res.setHeader("Content-Type", "text/html; charset=UTF-8");
        res.end(errorPage(500));
      }
    };
    try {
      const result = this.fallback(req, res);
      if (result !== null && typeof result === "object" && typeof (result as PromiseLike<unknown>).then === "function") {
        Promise.resolve(result).catch(failed);
      }
    } catch (e) {
      failed(e);
    }
    await answered;
    // For the access log and onFinish(): the status the listener sent.
    try {
      this.setStatus(res.statusCode, res.statusMessage || undefined);
    } catch {
      // A status outside 100..999 was never sent by node either; keep ours.
    }
    this.finish();
  }
}

/**
 * The options an `HTTPServer` takes and what it hands requests to (types only: this module
 * imports nothing that imports it back). `tornado/httpserver` exports them.
 */

import type https from "node:https";
import type { HTTPServerRequest } from "../httputil/request.js";

/**
 * What an `HTTPServer` hands each request to: an `Application`, or a function.
 *
 * @example
 * new HTTPServer((request) => request.connection!.respond(200, "OK", new HTTPHeaders(), "hi"));
 */
export type RequestDelegate =
  | {
      handleRequest(request: HTTPServerRequest): void | Promise<void>;
      /** Called once a server serving this delegate listens (an `Application` starts its metrics port). */
      serverListening?(server: object): void;
      /** Called when such a server starts closing or draining. */
      serverClosing?(server: object): void;
    }
  | ((request: HTTPServerRequest) => void | Promise<void>);

/**
 * `HTTPServer` options (Tornado's, in camelCase; times in milliseconds).
 *
 * @example
 * new HTTPServer(app, { xheaders: true, trustedDownstream: ["10.0.0.1"], maxBodySize: 10 << 20 });
 */
export interface HTTPServerOptions {
  /** Take the client address, scheme and host from `X-Real-Ip`/`X-Forwarded-For` and `X-Scheme`/`X-Forwarded-Proto` (behind a proxy; only set it when one is in front). */
  xheaders?: boolean;
  /** Proxy addresses to skip in `X-Forwarded-For`. */
  trustedDownstream?: string[];
  /** Force `request.protocol` (e.g. `https` behind a TLS-terminating proxy without xheaders). */
  protocol?: string;
  /** Largest header block accepted; beyond it the answer is 431. Default 64 KiB. */
  maxHeaderSize?: number;
  /** Largest body accepted (uploads, multipart, any type without its own limit below); beyond it the answer is 413. Default 100 MiB. */
  maxBodySize?: number;
  /** Largest `application/x-www-form-urlencoded` body (at most `maxBodySize`); beyond it 413. Default 1 MiB. */
  maxFormBodySize?: number;
  /** Largest `application/json` or `application/…+json` body (at most `maxBodySize`); beyond it 413. Default 1 MiB. */
  maxJsonBodySize?: number;
  /** Most fields in a urlencoded form body; beyond it 400. Default 1000. */
  maxFormFields?: number;
  /** Most parts in a `multipart/form-data` body; beyond it 400. Default 100 (Tornado's). */
  maxMultipartParts?: number;
  /** How long a request head may take to arrive once it starts; then 408 and close. Default 60 s; 0 turns it off. */
  headerTimeout?: number;
  /** How long the whole body may take to arrive once it starts; then 408. Default: no limit (`minBodyRate` still applies). */
  bodyTimeout?: number;
  /** Slowest average rate, in bytes per second, a body may arrive at once `bodyRateGracePeriod` has passed; slower is 408 and close. Default 1024; 0 turns it off. */
  minBodyRate?: number;
  /** How long a body may arrive at any rate before `minBodyRate` applies. Default 10 s. */
  bodyRateGracePeriod?: number;
  /**
   * How long a request may go with nothing sent or received on its connection: a handler that
   * never answers gets a 503 (408 if its body had not all arrived) and the connection closes;
   * a response already started is cut. Streaming and long-polling handlers keep it alive by
   * writing (flush) within it; WebSockets are not affected. The server looks every eighth of
   * it, so a request is cut between 1 and 1.125 times it after its last byte. Default 300 s;
   * 0 turns it off.
   */
  idleRequestTimeout?: number;
  /** How long an idle keep-alive connection stays open between requests. Default 3600 s. */
  idleConnectionTimeout?: number;
  /** Connections the kernel queues before they are accepted (capped by `net.core.somaxconn`). Default 511. */
  backlog?: number;
  /** Un-gzip request bodies sent with `Content-Encoding: gzip`; the size limits apply to the decompressed body, as it streams. */
  decompressRequest?: boolean;
  /** Close every connection after its response. */
  noKeepAlive?: boolean;
  /** TLS options (`key`, `cert`, …) to serve HTTPS. */
  sslOptions?: https.ServerOptions;
}

/**
 * Options for `HTTPServer.close()`.
 *
 * @example
 * await server.close({ timeout: 5000 });
 */
export interface CloseOptions {
  /** How long requests in flight (and WebSocket closing handshakes) may take before their connections are cut. Default 30 s. */
  timeout?: number;
}

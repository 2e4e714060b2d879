/**
 * From node's parsed request to the delegate: the head is checked once (400 if malformed), the
 * client's address and scheme settled, a gzip body marked for decompression, and the
 * `HTTPServerRequest` handed to the application. Nothing here calls back into the server: the
 * connection it is given carries the answer.
 */

import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import type { BodyLimits } from "../httputil/body.js";
import { HTTPHeaders } from "../httputil/headers.js";
import { HTTPServerRequest } from "../httputil/request.js";
import { appLog, genLog } from "../log.js";
import { NodeHTTPConnection, errorHeaders, errorPage } from "./connection.js";
import type { ServerLimits } from "./limits.js";
import type { HTTPServerOptions, RequestDelegate } from "./options.js";
import { applyXheaders, checkRequestHead, clientAddress } from "./request-head.js";
import type { UpgradeConnection } from "./upgrade.js";

/**
 * Turns each request node parsed into an `HTTPServerRequest` for the delegate (`HTTPServer`
 * makes one).
 *
 * @example
 * const dispatcher = new RequestDispatcher(app, options, resolveLimits(options));
 * dispatcher.serve(req, new NodeHTTPConnection(host, req, res));
 */
export class RequestDispatcher {
  private readonly trusted: ReadonlySet<string>;
  private readonly bodyLimits: BodyLimits;

  constructor(
    private readonly delegate: RequestDelegate,
    private readonly options: HTTPServerOptions,
    limits: ServerLimits,
  ) {
    this.trusted = new Set(options.trustedDownstream ?? []);
    this.bodyLimits = { maxFields: limits.maxFormFields, maxParts: limits.maxMultipartParts };
  }

  /**
   * Serves one request on `connection`: a 400 for a malformed head, else the delegate's answer
   * (a 500 if the delegate throws before answering).
   *
   * @example
   * dispatcher.serve(req, connection);
   */
  serve(req: IncomingMessage, connection: NodeHTTPConnection | UpgradeConnection): void {
    const headers = HTTPHeaders.fromFlat(req.rawHeaders);
    const version = req.httpVersionMinor === 1 && req.httpVersionMajor === 1 ? "HTTP/1.1" : `HTTP/${req.httpVersion}`;
    const problem = checkRequestHead(headers, version);
    if (problem !== null) {
      genLog.info(`Malformed HTTP message from ${clientAddress(req)}: ${problem}`);
      connection.closeAfterResponse();
      connection.respond(400, "Bad Request", errorHeaders(), errorPage(400));
      return;
    }
    let remoteIp = clientAddress(req);
    // A request id is taken from a proxy we trust, never from any client.
    const requestId = this.trusted.size > 0 && this.trusted.has(remoteIp) ? headers.get("X-Request-Id") : undefined;
    let protocol = this.options.protocol ?? ((req.socket as TLSSocket).encrypted ? "https" : "http");
    if (this.options.xheaders) {
      [remoteIp, protocol] = applyXheaders(headers, this.trusted, remoteIp, protocol);
    }
    if (
      this.options.decompressRequest &&
      connection instanceof NodeHTTPConnection &&
      headers.get("Content-Encoding")?.toLowerCase() === "gzip"
    ) {
      connection.gunzip = true;
      headers.delete("Content-Encoding");
      headers.add("X-Consumed-Content-Encoding", "gzip");
    }
    const request = new HTTPServerRequest({
      method: req.method,
      uri: req.url,
      version,
      headers,
      remoteIp,
      protocol,
      connection,
      raw: req,
      bodyLimits: this.bodyLimits,
      requestId,
    });
    try {
      const done = typeof this.delegate === "function" ? this.delegate(request) : this.delegate.handleRequest(request);
      if (done) done.catch((e: unknown) => delegateFailed(connection, e));
    } catch (e) {
      delegateFailed(connection, e);
    }
  }
}

function delegateFailed(connection: NodeHTTPConnection | UpgradeConnection, error: unknown): void {
  appLog.error("Uncaught exception while handling a request", error);
  if (!connection.headersSent) connection.respond(500, "Internal Server Error", errorHeaders(), errorPage(500));
  else connection.abort();
}

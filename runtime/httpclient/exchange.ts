/**
 * One request/response exchange on node:http(s): Tornado's timeouts (connect, then the whole
 * request), redirects detected, gzip undone, the header and streaming callbacks called.
 */

import { readFileSync } from "node:fs";
import http, { type ClientRequest, type IncomingMessage } from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import type { ConnectionOptions } from "node:tls";
import { performance } from "node:perf_hooks";
import { pipeline, type Readable } from "node:stream";
import { finished } from "node:stream/promises";
import { constants as zlibConstants, createGunzip } from "node:zlib";
import { HTTPHeaders } from "../httputil/headers.js";
import { HTTPClientError, HTTPTimeoutError, networkError } from "./errors.js";
import { followsRedirect, proxyAuthorization, redirectHop, requestHeaders, type Hop } from "./hop.js";
import { DEFAULT_PROXY_PORT, openTunnel } from "./proxy.js";
import { HTTPResponse } from "./response.js";

/** What an exchange needs from its client. @internal */
export interface ExchangeContext {
  readonly httpAgent: http.Agent;
  readonly httpsAgent: https.Agent;
  readonly maxBodySize: number;
  readonly maxHeaderSize: number;
  readonly lookup: LookupFunction | undefined;
}

/** How an exchange ended: a response, or a redirect to follow. @internal */
export type Outcome = { response: HTTPResponse } | { redirect: Hop };

// A request on a kept-alive socket that the server closed meanwhile fails before any byte
// came back; RFC 9110 §9.2.2 lets a client retry it when the method is idempotent.
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);
const pemFiles = new Map<string, Buffer>();

/**
 * Runs `hop`: connects within `connectTimeout` (and what is left of `requestTimeout`), then
 * must finish by `queuedAt + requestTimeout`. Rejects with an `HTTPClientError` (599) for
 * network failures and timeouts, the signal's reason on abort, or what a callback threw.
 * @internal
 */
export function exchange(hop: Hop, context: ExchangeContext, queuedAt: number): Promise<Outcome> {
  return new Promise<Outcome>((resolve, reject) => {
    const startedAt = performance.now();
    const startTime = Date.now();
    const signal = hop.signal;
    let timer: NodeJS.Timeout | undefined;
    let request: ClientRequest | undefined;
    // The CONNECT request, then the TLS socket inside the tunnel, until the request takes over.
    let tunnel: { destroy(): void } | undefined;
    let settled = false;

    const settle = (error: unknown, outcome?: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      if (outcome === undefined) {
        request?.destroy();
        tunnel?.destroy();
        reject(error);
      } else {
        resolve(outcome);
      }
    };
    const onAbort = () => settle(signal!.reason);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });

    // Tornado: the connect phase gets min(connectTimeout, requestTimeout), 0 meaning none.
    const requestDeadline = hop.requestTimeout > 0 ? queuedAt + hop.requestTimeout : Infinity;
    const connectDeadline = Math.min(hop.connectTimeout > 0 ? startedAt + hop.connectTimeout : Infinity, requestDeadline);
    const arm = (deadline: number, message: string) => {
      clearTimeout(timer);
      if (deadline === Infinity) return;
      timer = setTimeout(() => settle(new HTTPTimeoutError(message)), Math.max(0, deadline - performance.now()));
    };
    let connecting = true;
    const connected = () => {
      if (!connecting || settled) return;
      connecting = false;
      arm(requestDeadline, "Timeout during request");
    };
    arm(connectDeadline, "Timeout while connecting");

    const send = (isRetry: boolean) => {
      const secure = hop.url.protocol === "https:";
      const proxied = hop.proxyHost !== undefined;
      const options: https.RequestOptions = {
        protocol: hop.url.protocol,
        hostname: hop.url.hostname.replace(/^\[(.*)\]$/, "$1"),
        port: hop.url.port || (secure ? 443 : 80),
        path: hop.url.pathname + hop.url.search,
        method: hop.method,
        headers: requestHeaders(hop).toFlat() as string[],
        agent: secure ? context.httpsAgent : context.httpAgent,
        maxHeaderSize: context.maxHeaderSize,
      };
      if (context.lookup) options.lookup = context.lookup;
      const tls: ConnectionOptions = {};
      if (secure) {
        tls.rejectUnauthorized = hop.validateCert;
        if (hop.caCerts !== undefined) tls.ca = readPemFile(hop.caCerts);
        if (hop.clientCert !== undefined) {
          tls.cert = readPemFile(hop.clientCert);
          tls.key = readPemFile(hop.clientKey ?? hop.clientCert);
        }
        Object.assign(options, tls);
      }
      if (proxied && !secure) {
        // Absolute form to the proxy; the Host header still names the server.
        options.hostname = hop.proxyHost;
        options.port = hop.proxyPort ?? DEFAULT_PROXY_PORT;
        options.path = `http://${hop.url.host}${options.path}`;
        const auth = proxyAuthorization(hop);
        if (auth !== undefined) (options.headers as string[]).push("Proxy-Authorization", auth);
      }
      if (proxied && secure) {
        // One tunnel per request: kept-alive connections are the agent's, and tunnels are not.
        openTunnel(hop, tls, context.lookup, (pending) => (tunnel = pending)).then(
          (socket) => {
            if (settled) return socket.destroy();
            connected();
            // No agent: node then makes the connection with createConnection.
            issue({ ...options, agent: undefined, createConnection: () => socket }, secure, isRetry, true);
          },
          (error: unknown) => settle(networkError(error)),
        );
        return;
      }
      issue(options, secure, isRetry, false);
    };
    const issue = (options: https.RequestOptions, secure: boolean, isRetry: boolean, tunnelled: boolean) => {
      const req = (secure ? https : http).request(options);
      request = req;
      let answered = false;
      req.on("socket", (socket) => {
        // A kept-alive socket is connected (and its TLS established) already.
        if (req.reusedSocket || tunnelled) connected();
        else socket.once(secure ? "secureConnect" : "connect", connected);
      });
      req.on("response", (res: IncomingMessage) => {
        answered = true;
        connected();
        readResponse(hop, context, res, startedAt, startTime).then(
          (outcome) => settle(undefined, outcome),
          (error) =>
            settle(
              error instanceof PassThrough ? error.error : error instanceof HTTPClientError ? error : networkError(error),
            ),
        );
      });
      req.on("error", (error: NodeJS.ErrnoException) => {
        if (settled || request !== req) return;
        const stale = req.reusedSocket && !answered && (error.code === "ECONNRESET" || error.code === "EPIPE");
        if (stale && !isRetry && IDEMPOTENT.has(hop.method)) {
          // The retry opens a new connection, which gets its own connect timeout.
          connecting = true;
          const now = performance.now();
          arm(Math.min(hop.connectTimeout > 0 ? now + hop.connectTimeout : Infinity, requestDeadline), "Timeout while connecting");
          send(true);
        } else {
          settle(networkError(error));
        }
      });
      req.end(hop.body);
    };
    try {
      send(false);
    } catch (error) {
      settle(error);
    }
  });
}

// Errors thrown by the caller's own callbacks (as in Tornado), and a redirect that cannot be
// followed, reach the caller as they are rather than as a 599.
class PassThrough {
  constructor(readonly error: unknown) {}
}
function passThrough(error: unknown): PassThrough {
  return new PassThrough(error);
}

async function readResponse(
  hop: Hop,
  context: ExchangeContext,
  res: IncomingMessage,
  startedAt: number,
  startTime: number,
): Promise<Outcome> {
  const code = res.statusCode ?? 0;
  const headers = HTTPHeaders.fromFlat(res.rawHeaders);
  const location = headers.get("Location");
  if (followsRedirect(hop, code, location)) {
    res.resume();
    await finished(res);
    try {
      return { redirect: redirectHop(hop, code, location!) };
    } catch (error) {
      throw passThrough(error);
    }
  }
  let body: Readable = res;
  const encoding = headers.get("Content-Encoding");
  if (hop.decompressResponse && encoding?.toLowerCase() === "gzip") {
    // Downstream sees plain bytes, so the header moves aside, as in Tornado's _GzipMessageDelegate.
    headers.add("X-Consumed-Content-Encoding", encoding);
    headers.delete("Content-Encoding");
    // Z_SYNC_FLUSH: an empty body (HEAD, 304) is not a truncated stream.
    const gunzip = createGunzip({ finishFlush: zlibConstants.Z_SYNC_FLUSH });
    pipeline(res, gunzip, () => {});
    body = gunzip;
  }
  if (hop.headerCallback) {
    try {
      hop.headerCallback(`HTTP/${res.httpVersion} ${code} ${res.statusMessage ?? ""}\r\n`);
      for (const [name, value] of headers) hop.headerCallback(`${name}: ${value}\r\n`);
      hop.headerCallback("\r\n");
    } catch (error) {
      throw passThrough(error);
    }
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > context.maxBodySize) {
      throw new HTTPClientError(599, `HTTP 599: Response body larger than maxBodySize (${context.maxBodySize} bytes)`);
    }
    if (hop.streamingCallback) {
      try {
        const pending = hop.streamingCallback(chunk);
        if (pending) await pending;
      } catch (error) {
        throw passThrough(error);
      }
    } else {
      chunks.push(chunk);
    }
  }
  const response = new HTTPResponse({
    request: hop.original,
    code,
    reason: res.statusMessage,
    headers,
    body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size),
    effectiveUrl: hop.url.href,
    requestTime: performance.now() - startedAt,
    startTime,
  });
  return { response };
}

// CA bundles, certificates and keys, read once per path.
function readPemFile(path: string): Buffer {
  let pem = pemFiles.get(path);
  if (pem === undefined) {
    pem = readFileSync(path);
    pemFiles.set(path, pem);
  }
  return pem;
}

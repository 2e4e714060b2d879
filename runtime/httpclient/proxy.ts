/**
 * Reaching a server through an HTTP proxy: `http://` URLs as absolute-form requests to the
 * proxy (RFC 9112 §3.2.2), `https://` ones through a `CONNECT` tunnel (RFC 9110 §9.3.6) with
 * TLS from the client to the server inside it.
 */

import http from "node:http";
import type { LookupFunction, Socket } from "node:net";
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from "node:tls";
import { HTTPClientError } from "./errors.js";
import { proxyAuthorization, type Hop } from "./hop.js";

/** Libcurl's default proxy port, which Tornado's curl client inherits. @internal */
export const DEFAULT_PROXY_PORT = 1080;

/** `host:port` of the hop's server, as a CONNECT target (IPv6 in brackets). @internal */
export function authorityOf(url: URL): string {
  return `${url.hostname}:${url.port || (url.protocol === "https:" ? 443 : 80)}`;
}

/**
 * Opens a CONNECT tunnel to the hop's server through its proxy, then TLS inside it; resolves
 * with the TLS socket once the handshake is done. A proxy that answers anything but 2xx rejects
 * with an `HTTPClientError` of that code (407 when it wants credentials), naming the proxy.
 * `track` receives the CONNECT request, then the TLS socket, so that the caller can cancel them.
 * @internal
 */
export function openTunnel(
  hop: Hop,
  tls: ConnectionOptions,
  lookup: LookupFunction | undefined,
  track: (pending: { destroy(): void }) => void,
): Promise<TLSSocket> {
  const proxy = `${hop.proxyHost}:${hop.proxyPort ?? DEFAULT_PROXY_PORT}`;
  const target = authorityOf(hop.url);
  return new Promise<TLSSocket>((resolve, reject) => {
    const headers: Record<string, string> = { Host: target };
    const auth = proxyAuthorization(hop);
    if (auth !== undefined) headers["Proxy-Authorization"] = auth;
    const request = http.request({
      host: hop.proxyHost,
      port: hop.proxyPort ?? DEFAULT_PROXY_PORT,
      method: "CONNECT",
      path: target,
      headers,
      agent: false,
      ...(lookup ? { lookup } : {}),
    });
    track(request);
    request.once("error", reject);
    request.once("connect", (res, socket: Socket, head: Buffer) => {
      const code = res.statusCode ?? 0;
      if (code < 200 || code >= 300) {
        socket.destroy();
        const hint = code === 407 ? (auth === undefined ? ": set proxyUsername and proxyPassword" : ": check proxyUsername and proxyPassword") : "";
        reject(new HTTPClientError(code, `HTTP ${code}: ${res.statusMessage ?? "Proxy error"} (the proxy ${proxy} refused to tunnel to ${target}${hint})`));
        return;
      }
      if (head.length > 0) socket.unshift(head);
      const secure = tlsConnect({ ...tls, socket, servername: hop.url.hostname.replace(/^\[(.*)\]$/, "$1") });
      track(secure);
      secure.once("error", reject);
      secure.once("secureConnect", () => {
        secure.off("error", reject);
        resolve(secure);
      });
    });
    request.end();
  });
}

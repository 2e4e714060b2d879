/**
 * A request head as the server reads it once, before any handler sees it: Tornado's checks that
 * node's parser does not make, the client's address, and the proxy headers (`xheaders`).
 */

import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";
import type { HTTPHeaders } from "../httputil/headers.js";

// RFC 3986 host (simplified as Tornado does: brackets and colons anywhere) with an optional port.
const VALID_HOST = /^(?:[[\]:A-Za-z0-9\-._~!$&'()*+;=]|%[0-9A-Fa-f]{2})*$/;
// The last Host value found valid: most requests to a server carry the same one.
let validHost = "";

/**
 * Why a request head is malformed by Tornado's rules (RFC 9112 §2.3, §3.2, §6.1), or `null`
 * when it is fine. Node's parser has checked the syntax already; this is what it lets through.
 *
 * @example
 * checkRequestHead(headers, "HTTP/2.0") // "Unexpected HTTP version HTTP/2.0"
 */
export function checkRequestHead(headers: HTTPHeaders, version: string): string | null {
  // llhttp also takes HTTP/0.9 and HTTP/2.0 request lines; Tornado answers those 400.
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") return `Unexpected HTTP version ${version}`;
  const te = headers.get("Transfer-Encoding");
  if (te !== undefined && te.toLowerCase() !== "chunked") return `Unsupported Transfer-Encoding ${te}`;
  // Several Host headers come back joined with commas, as one with a comma in it would.
  const host = headers.get("Host");
  if (host === undefined) return version === "HTTP/1.0" ? null : "Missing Host header";
  if (host === validHost) return null;
  if (host.includes(",")) return "Multiple host headers not allowed";
  if (!VALID_HOST.test(host)) return `Invalid Host header: ${JSON.stringify(host)}`;
  validHost = host;
  return null;
}

/**
 * The peer's address, with an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`) written as IPv4;
 * `0.0.0.0` when it has none (a Unix socket), as Tornado fakes it.
 *
 * @example
 * clientAddress(req) // "127.0.0.1"
 */
export function clientAddress(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? "0.0.0.0";
  return address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/**
 * The client's address and scheme as a proxy reports them (`X-Real-Ip`, `X-Forwarded-For`
 * skipping `trusted` hops, `X-Scheme`, `X-Forwarded-Proto`); what is missing or not valid
 * keeps the value given.
 *
 * @example
 * applyXheaders(headers, new Set(["10.0.0.1"]), "10.0.0.1", "http") // ["203.0.113.7", "https"]
 */
export function applyXheaders(headers: HTTPHeaders, trusted: ReadonlySet<string>, remoteIp: string, protocol: string): [string, string] {
  let ip = remoteIp;
  const forwarded = headers.get("X-Forwarded-For");
  if (forwarded !== undefined) {
    const hops = forwarded.split(",").map((hop) => hop.trim());
    // The last hop that is not one of our own proxies is the client.
    ip = hops[0]!;
    for (let i = hops.length - 1; i >= 0; i--) {
      ip = hops[i]!;
      if (!trusted.has(ip)) break;
    }
  }
  ip = headers.get("X-Real-Ip") ?? ip;
  const scheme = headers.get("X-Scheme") ?? headers.get("X-Forwarded-Proto");
  const lastScheme = scheme?.split(",").pop()?.trim();
  return [isIP(ip) ? ip : remoteIp, lastScheme === "http" || lastScheme === "https" ? lastScheme : protocol];
}

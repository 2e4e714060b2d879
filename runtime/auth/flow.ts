/**
 * The login flow's cookie: what the callback must find again (the `state`, the PKCE verifier,
 * the OpenID nonce, the redirect URI and where to go next), signed with `cookieSecret` and
 * short-lived, so that a callback the visitor's own browser did not start is refused.
 */

import type { RequestHandler } from "../web/handler.js";

/** What a login in progress keeps in its cookie. @internal */
export interface FlowState {
  /** `state`, compared with the callback's (RFC 6749 §10.12: CSRF on the redirect URI). */
  state: string;
  /** The PKCE code verifier (RFC 7636), sent with the code; the provider checks its hash. */
  verifier: string;
  /** The OpenID Connect `nonce`, compared with the ID token's. */
  nonce?: string;
  /** The `redirect_uri` sent to the provider, sent again with the code. */
  redirectUri: string;
  /** A path on this site to go to after the login. */
  next?: string;
  /** When the flow expires (ms since the epoch). */
  expires: number;
}

/**
 * Writes the flow's cookie: signed, `HttpOnly`, `SameSite=Lax` (a top-level redirect back from
 * the provider still carries it), `Secure` on HTTPS, for `maxAgeMs`.
 *
 * @example
 * writeFlow(handler, "_oauth_github", flow, 600_000);
 * @internal
 */
export function writeFlow(handler: RequestHandler, cookieName: string, flow: FlowState, maxAgeMs: number): void {
  handler.setSignedCookie(cookieName, JSON.stringify(flow), {
    httpOnly: true,
    sameSite: "Lax",
    secure: handler.request.protocol === "https",
    maxAge: Math.ceil(maxAgeMs / 1000),
  });
}

/**
 * Reads the flow's cookie back: `null` when it is absent, forged, or expired.
 *
 * @example
 * const flow = readFlow(handler, "_oauth_github");
 * @internal
 */
export function readFlow(handler: RequestHandler, cookieName: string): FlowState | null {
  // maxAgeDays bounds the signature's own timestamp; `expires` is the flow's tighter limit.
  const raw = handler.getSignedCookie(cookieName, undefined, { maxAgeDays: 1 });
  if (raw === null) return null;
  let flow: unknown;
  try {
    flow = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof flow !== "object" || flow === null) return null;
  const { state, verifier, redirectUri, expires } = flow as Partial<FlowState>;
  if (typeof state !== "string" || typeof verifier !== "string" || typeof redirectUri !== "string" || typeof expires !== "number") return null;
  return Date.now() <= expires ? (flow as FlowState) : null;
}

/** The longest `next` kept: the flow's cookie must stay well under browsers' 4 KiB. @internal */
export const MAX_NEXT_LENGTH = 1024;

/**
 * `next` if it is a path on this site of at most `MAX_NEXT_LENGTH` characters, else
 * `undefined`: a login must not end on another site (an open redirect). `//host` and `/\host`
 * are other sites to a browser.
 *
 * @example
 * localPath("/account") // "/account"
 * localPath("https://evil.example/") // undefined
 * @internal
 */
export function localPath(next: string | null | undefined): string | undefined {
  if (typeof next !== "string" || next.length > MAX_NEXT_LENGTH || !next.startsWith("/") || /^.[/\\]/.test(next)) return undefined;
  return /[\x00-\x1f\x7f]/.test(next) ? undefined : next;
}

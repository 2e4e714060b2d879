/** The error a failed login raises (Tornado's `tornado.auth.AuthError`), with the status it answers. */

import { HTTPError } from "../web/errors.js";

/**
 * Stable codes of `AuthError`, one per way a login fails.
 *
 * @example
 * if (error instanceof AuthError && error.code === "ERR_AUTH_DENIED") this.redirect("/?cancelled=1");
 */
export type AuthErrorCode =
  /** The visitor refused consent at the provider (`error=access_denied`): 403. */
  | "ERR_AUTH_DENIED"
  /** The callback's `state` is missing, or no flow cookie matches it (expired, another browser, forged): 400. */
  | "ERR_AUTH_STATE"
  /** The callback has neither `code` nor `error`, or the provider refused the code (used twice, expired, PKCE mismatch): 400. */
  | "ERR_AUTH_INVALID_GRANT"
  /** The provider refused this app (wrong client id or secret, redirect URI not registered, bad scope): 502. */
  | "ERR_AUTH_PROVIDER_REFUSED"
  /** The provider answered with a 5xx, or with something that fails validation (ID token, issuer): 502 (503 for its 503). */
  | "ERR_AUTH_BAD_GATEWAY"
  /** The provider could not be reached (connection refused, DNS): 503. */
  | "ERR_AUTH_UNREACHABLE"
  /** The provider did not answer within `requestTimeout`: 504. */
  | "ERR_AUTH_TIMEOUT";

/**
 * A login that failed: an `HTTPError` whose status and reason say why (the visitor sees
 * `403: Login cancelled at GitHub`), with the detail in its log message and a stable `code`.
 * Thrown by `getAuthenticatedUser` and `oauth2Request`; catch it to answer with a page of
 * your own.
 *
 * @example
 * try {
 *   const login = await github.getAuthenticatedUser(this);
 * } catch (error) {
 *   if (error instanceof AuthError && error.code === "ERR_AUTH_DENIED") return this.redirect("/");
 *   throw error;
 * }
 */
export class AuthError extends HTTPError {
  /** Which way the login failed (see `AuthErrorCode`). @example error.code // "ERR_AUTH_STATE" */
  override readonly code: AuthErrorCode;

  constructor(code: AuthErrorCode, status: number, reason: string, logMessage: string, options: { cause?: unknown } = {}) {
    super(status, logMessage, { reason, cause: options.cause });
    this.name = "AuthError";
    this.code = code;
  }
}

/**
 * The OAuth 2.0 / OpenID Connect client library underneath (`oauth4webapi`), loaded on first
 * use so that apps without a login do not install it, and the mapping of its errors (and of
 * network failures) to the statuses a visitor sees.
 */

import { createRequire } from "node:module";
import { AuthError } from "./errors.js";

/** The `oauth4webapi` module. @internal */
export type OAuthLibrary = typeof import("oauth4webapi");

let loading: Promise<OAuthLibrary> | undefined;

const MISSING = "Logging in with tornado/auth needs oauth4webapi, which this app does not install: run `npm install oauth4webapi`";

/**
 * Throws the sentence that says how to install `oauth4webapi` when the app cannot load it: a
 * client is made when the app starts, so a missing library is found then, not at the first login.
 *
 * @example
 * assertOAuthLibraryInstalled();
 * @internal
 */
export function assertOAuthLibraryInstalled(): void {
  try {
    createRequire(import.meta.url).resolve("oauth4webapi");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "MODULE_NOT_FOUND") throw new Error(MISSING, { cause: error });
    throw error;
  }
}

/**
 * Loads `oauth4webapi` from the app's dependencies, or says how to add it.
 *
 * @example
 * const oauth = await loadOAuthLibrary();
 * @internal
 */
export function loadOAuthLibrary(): Promise<OAuthLibrary> {
  loading ??= import("oauth4webapi").catch((error: NodeJS.ErrnoException) => {
    loading = undefined;
    if (error.code !== "ERR_MODULE_NOT_FOUND") throw error;
    throw new Error(MISSING, { cause: error });
  });
  return loading;
}

// Token endpoint errors (RFC 6749 §5.2; GitHub's own names too) that mean "this code cannot be
// used" — expired, used twice, issued for another PKCE verifier or redirect URI: the visitor can
// start again. Every other error code means the app's registration is wrong (client id/secret,
// redirect URI, scope): nothing the visitor can fix.
const VISITOR_CAN_RETRY = new Set(["invalid_grant", "invalid_request", "bad_verification_code"]);

function oauthErrorCode(value: unknown): { error: string; description?: string } | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { error, error_description: description } = value as { error?: unknown; error_description?: unknown };
  return typeof error === "string" ? { error, description: typeof description === "string" ? description : undefined } : undefined;
}

/**
 * Turns what a call to the provider threw into the `AuthError` the visitor gets: a timeout is a
 * 504, a provider that cannot be reached a 503, a provider's 5xx or an answer that fails
 * validation a 502, a refused code a 400, a refused client a 502. Errors that are not about the
 * provider (bugs) come back unchanged.
 *
 * @example
 * try { … } catch (error) { throw toAuthError(oauth, error, "GitHub", "the token endpoint"); }
 * @internal
 */
export function toAuthError(oauth: OAuthLibrary, error: unknown, provider: string, step: string): unknown {
  if (error instanceof AuthError) return error;
  const cause = { cause: error };
  if (error instanceof DOMException && (error.name === "TimeoutError" || error.name === "AbortError")) {
    return new AuthError("ERR_AUTH_TIMEOUT", 504, `${provider} did not answer in time`, `${step} of ${provider} did not answer within the requestTimeout`, cause);
  }
  // fetch() rejects with a TypeError whose cause is the socket's error (ECONNREFUSED, ENOTFOUND…),
  // or, when the connection drops while the body is read, "terminated".
  if (error instanceof TypeError && (error.message === "fetch failed" || error.message === "terminated")) {
    const reason = (error.cause as NodeJS.ErrnoException | undefined)?.code ?? String(error.cause ?? "unknown");
    return new AuthError("ERR_AUTH_UNREACHABLE", 503, `Cannot reach ${provider} to log in`, `${step} of ${provider} cannot be reached (${reason})`, cause);
  }
  const refused =
    error instanceof oauth.ResponseBodyError
      ? { error: error.error, description: error.error_description }
      : error instanceof oauth.OperationProcessingError
        ? oauthErrorCode((error.cause as { body?: unknown } | undefined)?.body) // GitHub: HTTP 200 with an error body
        : undefined;
  if (refused) {
    const detail = `${step} of ${provider} answered ${refused.error}${refused.description ? ` (${refused.description})` : ""}`;
    return VISITOR_CAN_RETRY.has(refused.error)
      ? new AuthError("ERR_AUTH_INVALID_GRANT", 400, `${provider} refused the login code, please log in again`, detail, cause)
      : new AuthError("ERR_AUTH_PROVIDER_REFUSED", 502, `${provider} refused this app's login request`, detail, cause);
  }
  if (error instanceof oauth.WWWAuthenticateChallengeError) {
    return new AuthError("ERR_AUTH_PROVIDER_REFUSED", 502, `${provider} refused this app's login request`, `${step} of ${provider} answered ${error.status} with a challenge (${error.message})`, cause);
  }
  if (error instanceof oauth.OperationProcessingError) {
    const status = error.cause instanceof Response ? error.cause.status : undefined;
    if (status !== undefined && status >= 500) {
      return new AuthError("ERR_AUTH_BAD_GATEWAY", status === 503 ? 503 : 502, `${provider} failed to answer the login`, `${step} of ${provider} answered HTTP ${status}`, cause);
    }
    // A 4xx without an OAuth error body (RFC 6749 §5.2 asks for one; some servers send
    // problem+json or HTML): a 400 refuses this request's code, anything else refuses the app.
    if (status === 400) {
      return new AuthError("ERR_AUTH_INVALID_GRANT", 400, `${provider} refused the login code, please log in again`, `${step} of ${provider} answered HTTP 400 (${error.message})`, cause);
    }
    if (status !== undefined && status > 400 && status < 500) {
      return new AuthError("ERR_AUTH_PROVIDER_REFUSED", 502, `${provider} refused this app's login request`, `${step} of ${provider} answered HTTP ${status} (${error.message})`, cause);
    }
    return new AuthError("ERR_AUTH_BAD_GATEWAY", 502, `${provider} gave an invalid login answer`, `${step} of ${provider}: ${error.message}${error.code ? ` (${error.code})` : ""}`, cause);
  }
  return error;
}

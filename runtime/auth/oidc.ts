/**
 * OpenID Connect login (authorization code flow with PKCE and a nonce): the provider's
 * endpoints come from its issuer's discovery document, the ID token is validated (issuer,
 * audience, expiry, nonce, and its signature against the provider's published keys).
 */

import { AuthError } from "./errors.js";
import { toAuthError, type OAuthLibrary } from "./library.js";
import { OAuth2Client, type OAuth2ClientOptions, type OAuth2Endpoints } from "./oauth2.js";

type AuthorizationServer = import("oauth4webapi").AuthorizationServer;
type TokenEndpointResponse = import("oauth4webapi").TokenEndpointResponse;

/**
 * Options of an OpenID Connect client: the credentials, plus the issuer.
 *
 * @example
 * const options: OpenIDConnectOptions = { issuer: "https://login.example.com", clientId, clientSecret };
 */
export interface OpenIDConnectOptions extends OAuth2ClientOptions {
  /** The issuer identifier; its discovery document is `<issuer>/.well-known/openid-configuration`. */
  issuer: string;
  /** The provider's name in error pages (default: the issuer's host). */
  name?: string;
  /** Read the user info endpoint after the ID token (default true); else `user` is the ID token's claims. */
  fetchUserinfo?: boolean;
  /** How long the discovery document is reused, in ms (default 3 600 000: an hour). */
  discoveryMaxAge?: number;
}

/**
 * A login through any OpenID Connect provider, found by discovery from its issuer URL. As
 * `OAuth2Client` (state, PKCE, signed flow cookie, `AuthError`s), plus a `nonce` and a validated
 * ID token: `getAuthenticatedUser` gives its claims (`sub`, `email`…) in `claims`, and the user
 * info endpoint's answer (checked to be about the same `sub`) in `user`.
 *
 * @example
 * const sso = new OpenIDConnectClient({ issuer: "https://login.example.com", clientId, clientSecret, name: "Example SSO" });
 * class Login extends RequestHandler {
 *   async get() {
 *     if (!sso.isCallback(this)) return sso.authorizeRedirect(this);
 *     const { claims, next } = await sso.getAuthenticatedUser(this);
 *     this.setSignedCookie("user", String(claims!.sub), { httpOnly: true });
 *     this.redirect(next ?? "/");
 *   }
 * }
 */
export class OpenIDConnectClient extends OAuth2Client {
  /** The issuer identifier, as configured. @example sso.issuer // "https://login.example.com" */
  readonly issuer: string;
  private discovered: { as: AuthorizationServer; until: number } | undefined;

  constructor(options: OpenIDConnectOptions) {
    if (typeof options?.issuer !== "string" || !URL.canParse(options.issuer)) {
      throw new TypeError(`${new.target.name} needs an issuer URL (its discovery document is <issuer>/.well-known/openid-configuration)`);
    }
    super({ name: new URL(options.issuer).host, ...options } as OpenIDConnectOptions & OAuth2Endpoints);
    this.issuer = options.issuer;
  }

  protected override get defaultScope(): string[] {
    return ["openid", "email", "profile"];
  }

  protected override get usesNonce(): boolean {
    return true;
  }

  /** The discovery document, fetched once and reused for `discoveryMaxAge`; a failure is not kept. @internal */
  protected override async metadata(oauth: OAuthLibrary, step: string): Promise<AuthorizationServer> {
    if (this.discovered !== undefined && Date.now() < this.discovered.until) return this.discovered.as;
    const issuer = new URL(this.issuer);
    let as: AuthorizationServer;
    try {
      const response = await oauth.discoveryRequest(issuer, { algorithm: "oidc", ...this.requestOptions(oauth) });
      as = await oauth.processDiscoveryResponse(issuer, response);
    } catch (error) {
      throw toAuthError(oauth, error, this.name, step);
    }
    if (as.authorization_endpoint === undefined || as.token_endpoint === undefined) {
      throw new AuthError("ERR_AUTH_BAD_GATEWAY", 502, `${this.name} gave an invalid login answer`, `the discovery document of ${this.issuer} has no authorization or token endpoint`);
    }
    const options = this.options as OpenIDConnectOptions;
    this.discovered = { as, until: Date.now() + (options.discoveryMaxAge ?? 3_600_000) };
    return as;
  }

  /** Checks the ID token's signature with the provider's JWKS (its claims were checked by oauth4webapi). @internal */
  protected override async validateTokens(oauth: OAuthLibrary, as: AuthorizationServer, response: Response, _result: TokenEndpointResponse): Promise<void> {
    await oauth.validateApplicationLevelSignature(as, response, this.requestOptions(oauth));
  }

  protected override async fetchUser(oauth: OAuthLibrary, as: AuthorizationServer, result: TokenEndpointResponse, claims: Record<string, unknown> | undefined): Promise<Record<string, unknown>> {
    if ((this.options as OpenIDConnectOptions).fetchUserinfo === false) return { ...claims };
    return super.fetchUser(oauth, as, result, claims);
  }
}

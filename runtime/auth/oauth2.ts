/**
 * The OAuth 2.0 authorization code flow for a `RequestHandler` (Tornado's `OAuth2Mixin`): the
 * redirect to the provider with `state` and PKCE, the callback's checks, the code exchange and
 * the user's profile. A handler composes a client rather than inheriting a mixin: one client,
 * made once with the app's credentials, serves every request.
 */

import type { RequestHandler } from "../web/handler.js";
import { AuthError } from "./errors.js";
import { localPath, readFlow, writeFlow, type FlowState } from "./flow.js";
import { assertOAuthLibraryInstalled, loadOAuthLibrary, toAuthError, type OAuthLibrary } from "./library.js";

type AuthorizationServer = import("oauth4webapi").AuthorizationServer;
type TokenEndpointResponse = import("oauth4webapi").TokenEndpointResponse;

// The parameters that carry the flow's protections: extraParams must not replace them.
const PROTECTED_PARAMS = new Set(["response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method", "nonce"]);

/**
 * The credentials and limits every OAuth 2.0 client takes.
 *
 * @example
 * const options: OAuth2ClientOptions = { clientId: env.GITHUB_CLIENT_ID, clientSecret: env.GITHUB_CLIENT_SECRET };
 */
export interface OAuth2ClientOptions {
  /** The client id the provider gave the app. */
  clientId: string;
  /** The client secret the provider gave the app (keep it out of the source: an environment variable). */
  clientSecret: string;
  /**
   * The callback URL registered with the provider (absolute). Default: the URL of the request
   * that calls `authorizeRedirect`, without its query — so one handler both starts the login
   * and receives the callback. Set it when a proxy changes the scheme or host.
   */
  redirectUri?: string;
  /** The scopes asked for (default: the provider's, e.g. `["openid", "email", "profile"]`). */
  scope?: string[];
  /** How long a call to the provider may take, in ms (default 10 000): then a 504. */
  requestTimeout?: number;
  /** How long a visitor has to come back from the provider, in ms (default 600 000: 10 minutes). */
  flowMaxAge?: number;
  /** The signed cookie holding the login in progress (default `_oauth_<provider name>`). */
  cookieName?: string;
  /** How the app proves itself at the token endpoint (default `client_secret_basic`; GitHub's `client_secret_post`). */
  clientAuthMethod?: "client_secret_basic" | "client_secret_post";
  /** Allow `http://` provider URLs: for a local provider in tests only (default false: HTTPS only). */
  allowInsecureRequests?: boolean;
}

/**
 * The endpoints of a plain OAuth 2.0 provider.
 *
 * @example
 * const endpoints: OAuth2Endpoints = { authorizationEndpoint: "https://auth.example/authorize", tokenEndpoint: "https://auth.example/token" };
 */
export interface OAuth2Endpoints {
  /** Where the visitor is sent to log in and consent. */
  authorizationEndpoint: string;
  /** Where the code is exchanged for tokens. */
  tokenEndpoint: string;
  /** Where the user's profile is read with the access token (optional: without it, `user` is `{}`). */
  userinfoEndpoint?: string;
  /** The provider's issuer identifier, when it has one (default: the authorization endpoint's origin). */
  issuer?: string;
}

/**
 * Options of one `authorizeRedirect`.
 *
 * @example
 * await github.authorizeRedirect(this, { scope: ["read:user", "user:email"], next: "/settings" });
 */
export interface AuthorizeRedirectOptions {
  /** The scopes for this login (default: the client's `scope`). */
  scope?: string[];
  /** More authorization request parameters (`prompt`, `login_hint`, `allow_signup`…); not those the flow sets (`state`, `code_challenge`, `nonce`, `redirect_uri`…). */
  extraParams?: Record<string, string>;
  /** A path on this site to go to after the login (default: the request's `next` argument, as `@authenticated` sets it). Other sites are ignored. */
  next?: string | null;
  /** The callback URL for this login (default: the client's `redirectUri`). */
  redirectUri?: string;
}

/**
 * The tokens of a login.
 *
 * @example
 * const { accessToken, expiresIn } = login.tokens;
 */
export interface OAuth2Tokens {
  accessToken: string;
  /** `bearer`, lower-case. */
  tokenType: string;
  /** Seconds the access token lives, when the provider says. */
  expiresIn?: number;
  refreshToken?: string;
  /** The OpenID Connect ID token (a JWT), validated. */
  idToken?: string;
  /** The scopes granted, when the provider says (they may differ from those asked for). */
  scope?: string;
}

/**
 * What `getAuthenticatedUser` returns: who logged in, the tokens, and where to go next.
 *
 * @example
 * const { user, tokens, next } = await github.getAuthenticatedUser(this);
 */
export interface LoginResult {
  /** The user's profile as the provider gives it (GitHub's `/user`; OpenID Connect user info, else the ID token's claims). */
  user: Record<string, unknown>;
  tokens: OAuth2Tokens;
  /** The ID token's validated claims (OpenID Connect only). */
  claims?: Record<string, unknown>;
  /** The local path `authorizeRedirect` was given as `next`, if any. */
  next?: string;
}

/**
 * Options of `oauth2Request`.
 *
 * @example
 * await github.oauth2Request("https://api.github.com/user/emails", token, { headers: { Accept: "application/vnd.github+json" } });
 */
export interface OAuth2RequestOptions {
  /** Default `GET`, or `POST` when `postArgs` is given. */
  method?: string;
  /** Form arguments to POST (Tornado's `post_args`). */
  postArgs?: Record<string, string>;
  headers?: Record<string, string>;
}

/**
 * A login through a plain OAuth 2.0 provider, from a `RequestHandler`: `authorizeRedirect`
 * sends the visitor to the provider with a fresh `state` and a PKCE (S256) challenge, kept in a
 * signed short-lived cookie (the app needs `cookieSecret`); `getAuthenticatedUser` checks the
 * callback against that cookie, exchanges the code with the verifier, and reads the user's
 * profile. Failures are `AuthError`s with a clear status (see `AuthErrorCode`). The protocol
 * work is `oauth4webapi`'s, which the app installs.
 *
 * @example
 * const provider = new OAuth2Client({
 *   clientId: env.CLIENT_ID, clientSecret: env.CLIENT_SECRET,
 *   authorizationEndpoint: "https://auth.example/authorize",
 *   tokenEndpoint: "https://auth.example/token",
 *   userinfoEndpoint: "https://auth.example/userinfo",
 * });
 * class Login extends RequestHandler {
 *   async get() {
 *     if (!provider.isCallback(this)) return provider.authorizeRedirect(this);
 *     const { user, next } = await provider.getAuthenticatedUser(this);
 *     this.setSignedCookie("user", String(user.sub), { httpOnly: true });
 *     this.redirect(next ?? "/");
 *   }
 * }
 */
export class OAuth2Client {
  /** The provider's name, as visitors read it in error pages. @example github.name // "GitHub" */
  readonly name: string;
  protected readonly options: OAuth2ClientOptions & Partial<OAuth2Endpoints>;

  constructor(options: OAuth2ClientOptions & OAuth2Endpoints & { name?: string }) {
    if (typeof options?.clientId !== "string" || options.clientId === "") throw new TypeError(`${new.target.name} needs a clientId (the one the provider gave your app)`);
    if (typeof options.clientSecret !== "string" || options.clientSecret === "") throw new TypeError(`${new.target.name} needs a clientSecret (the one the provider gave your app)`);
    // Subclasses that discover their endpoints (OpenID Connect) override metadata().
    if (this.metadata === OAuth2Client.prototype.metadata && (!options.authorizationEndpoint || !options.tokenEndpoint)) {
      throw new TypeError(`${new.target.name} needs an authorizationEndpoint and a tokenEndpoint`);
    }
    assertOAuthLibraryInstalled();
    this.name = options.name ?? "the login provider";
    this.options = options;
  }

  /**
   * Whether this request is the provider's callback (it carries `code`, `error` or `state`)
   * rather than a visitor starting to log in.
   *
   * @example
   * if (!github.isCallback(this)) return github.authorizeRedirect(this);
   */
  isCallback(handler: RequestHandler): boolean {
    const query = new URLSearchParams(handler.request.query);
    return query.has("code") || query.has("error") || query.has("state");
  }

  /**
   * Sends the visitor to the provider to log in (a 302), with `state`, a PKCE S256 challenge
   * (and a nonce for OpenID Connect), after saving them in the flow's signed cookie.
   *
   * @example
   * async get() {
   *   if (!github.isCallback(this)) return github.authorizeRedirect(this, { scope: ["read:user"] });
   *   …
   * }
   */
  async authorizeRedirect(handler: RequestHandler, options: AuthorizeRedirectOptions = {}): Promise<void> {
    handler.requireSetting("cookieSecret", "an OAuth 2.0 login (its state cookie is signed)");
    const oauth = await loadOAuthLibrary();
    const as = await this.metadata(oauth, "the discovery document");
    const request = handler.request;
    const redirectUri = options.redirectUri ?? this.options.redirectUri ?? `${request.protocol}://${request.host}${request.path}`;
    const next = localPath(options.next === undefined ? new URLSearchParams(request.query).get("next") : options.next);
    const flow: FlowState = {
      state: oauth.generateRandomState(),
      verifier: oauth.generateRandomCodeVerifier(),
      redirectUri,
      expires: Date.now() + (this.options.flowMaxAge ?? 600_000),
      ...(next === undefined ? {} : { next }),
      ...(this.usesNonce ? { nonce: oauth.generateRandomNonce() } : {}),
    };
    const url = new URL(as.authorization_endpoint!);
    const params = url.searchParams;
    params.set("response_type", "code");
    params.set("client_id", this.options.clientId);
    params.set("redirect_uri", redirectUri);
    const scope = options.scope ?? this.options.scope ?? this.defaultScope;
    if (scope.length > 0) params.set("scope", scope.join(" "));
    params.set("state", flow.state);
    params.set("code_challenge", await oauth.calculatePKCECodeChallenge(flow.verifier));
    params.set("code_challenge_method", "S256");
    if (flow.nonce !== undefined) params.set("nonce", flow.nonce);
    for (const [name, value] of Object.entries(options.extraParams ?? {})) {
      if (PROTECTED_PARAMS.has(name)) throw new TypeError(`authorizeRedirect's extraParams cannot set ${name}: the flow sets it (use the scope or redirectUri option where there is one)`);
      params.set(name, value);
    }
    writeFlow(handler, this.cookieName, flow, this.options.flowMaxAge ?? 600_000);
    handler.redirect(url.href);
  }

  /**
   * Completes the login on the callback: checks `state` against the flow's cookie (400 when it
   * is missing or differs), turns a refused consent into a 403, exchanges the code with the
   * PKCE verifier, validates the answer (the ID token for OpenID Connect) and reads the user's
   * profile. Clears the flow's cookie on success. Failures are `AuthError`s.
   *
   * @example
   * const { user, tokens, next } = await github.getAuthenticatedUser(this);
   * this.setSignedCookie("user", JSON.stringify({ id: user.id, login: user.login }), { httpOnly: true });
   * this.redirect(next ?? "/");
   */
  async getAuthenticatedUser(handler: RequestHandler): Promise<LoginResult> {
    handler.requireSetting("cookieSecret", "an OAuth 2.0 login (its state cookie is signed)");
    const oauth = await loadOAuthLibrary();
    const flow = readFlow(handler, this.cookieName);
    if (flow === null) {
      throw new AuthError("ERR_AUTH_STATE", 400, "Login expired or was not started here, please log in again", `no valid ${this.cookieName} cookie on the callback from ${this.name} (expired, forged, or another browser)`);
    }
    const as = await this.metadata(oauth, "the discovery document");
    const client = this.client();
    let params: URLSearchParams;
    try {
      params = oauth.validateAuthResponse(as, client, new URLSearchParams(handler.request.query), flow.state);
    } catch (error) {
      throw this.callbackError(oauth, error);
    }
    if (!params.get("code")) throw new AuthError("ERR_AUTH_INVALID_GRANT", 400, `No login code from ${this.name}, please log in again`, `the callback from ${this.name} has no code`);
    let step = "the token endpoint";
    try {
      const auth = this.options.clientAuthMethod === "client_secret_post" ? oauth.ClientSecretPost(this.options.clientSecret) : oauth.ClientSecretBasic(this.options.clientSecret);
      const response = await oauth.authorizationCodeGrantRequest(as, client, auth, params, flow.redirectUri, flow.verifier, this.requestOptions(oauth));
      const result = await oauth.processAuthorizationCodeResponse(as, client, response, {
        expectedNonce: flow.nonce ?? oauth.expectNoNonce,
        requireIdToken: this.usesNonce,
      });
      step = "the ID token check";
      await this.validateTokens(oauth, as, response, result);
      const claims = oauth.getValidatedIdTokenClaims(result) as Record<string, unknown> | undefined;
      step = "the user info endpoint";
      const user = await this.fetchUser(oauth, as, result, claims);
      handler.clearCookie(this.cookieName);
      return {
        user,
        tokens: {
          accessToken: result.access_token,
          tokenType: result.token_type,
          ...(result.expires_in === undefined ? {} : { expiresIn: result.expires_in }),
          ...(result.refresh_token === undefined ? {} : { refreshToken: result.refresh_token }),
          ...(result.id_token === undefined ? {} : { idToken: result.id_token }),
          ...(result.scope === undefined ? {} : { scope: result.scope }),
        },
        ...(claims === undefined ? {} : { claims: { ...claims } }),
        ...(flow.next === undefined ? {} : { next: flow.next }),
      };
    } catch (error) {
      throw toAuthError(oauth, error, this.name, step);
    }
  }

  /**
   * Calls the provider's API with an access token (Tornado's `oauth2_request`) and returns the
   * JSON answer; a failure is an `AuthError` (502/503/504), a timeout after `requestTimeout`.
   *
   * @example
   * const emails = await github.oauth2Request("https://api.github.com/user/emails", login.tokens.accessToken);
   */
  async oauth2Request(url: string, accessToken: string, options: OAuth2RequestOptions = {}): Promise<unknown> {
    const oauth = await loadOAuthLibrary();
    try {
      return await this.resourceJson(oauth, url, accessToken, options);
    } catch (error) {
      throw toAuthError(oauth, error, this.name, url);
    }
  }

  /** The scopes asked for when neither the client nor the call says. @internal */
  protected get defaultScope(): string[] {
    return [];
  }

  /** Whether the flow carries an OpenID Connect nonce (and the answer must have an ID token). @internal */
  protected get usesNonce(): boolean {
    return false;
  }

  /** The flow cookie's name. @internal */
  protected get cookieName(): string {
    return this.options.cookieName ?? `_oauth_${this.name.toLowerCase().replace(/[^a-z0-9]+/g, "_")}`;
  }

  /** The provider's metadata: the configured endpoints here; discovered for OpenID Connect. @internal */
  protected async metadata(_oauth: OAuthLibrary, _step: string): Promise<AuthorizationServer> {
    const endpoints = this.options as OAuth2Endpoints;
    return {
      issuer: endpoints.issuer ?? new URL(endpoints.authorizationEndpoint).origin,
      authorization_endpoint: endpoints.authorizationEndpoint,
      token_endpoint: endpoints.tokenEndpoint,
      ...(endpoints.userinfoEndpoint === undefined ? {} : { userinfo_endpoint: endpoints.userinfoEndpoint }),
    };
  }

  /** Extra checks of the token endpoint's answer (the ID token's signature for OpenID Connect). @internal */
  protected async validateTokens(_oauth: OAuthLibrary, _as: AuthorizationServer, _response: Response, _result: TokenEndpointResponse): Promise<void> {}

  /** Reads the user's profile: the user info endpoint when there is one, else the ID token's claims, else `{}`. @internal */
  protected async fetchUser(oauth: OAuthLibrary, as: AuthorizationServer, result: TokenEndpointResponse, claims: Record<string, unknown> | undefined): Promise<Record<string, unknown>> {
    if (as.userinfo_endpoint === undefined) return { ...claims };
    const response = await oauth.userInfoRequest(as, this.client(), result.access_token, this.requestOptions(oauth));
    const subject = typeof claims?.sub === "string" ? claims.sub : oauth.skipSubjectCheck;
    return { ...(await oauth.processUserInfoResponse(as, this.client(), subject, response)) };
  }

  /** GET (or POST) a JSON resource with the access token; a non-2xx answer is an error. @internal */
  protected async resourceJson(oauth: OAuthLibrary, url: string, accessToken: string, options: OAuth2RequestOptions = {}): Promise<unknown> {
    const method = options.method ?? (options.postArgs ? "POST" : "GET");
    const headers = new Headers({ Accept: "application/json", ...options.headers });
    const body = options.postArgs ? new URLSearchParams(options.postArgs) : null;
    const response = await oauth.protectedResourceRequest(accessToken, method, new URL(url), headers, body, this.requestOptions(oauth));
    if (!response.ok) {
      await response.body?.cancel();
      // Reported as the token endpoint's non-conform answers are: toAuthError reads the status.
      throw new oauth.OperationProcessingError(`${url} answered HTTP ${response.status}`, { cause: response });
    }
    return await response.json();
  }

  /** oauth4webapi's client metadata. @internal */
  protected client(): import("oauth4webapi").Client {
    return { client_id: this.options.clientId };
  }

  /** Per-request options: the timeout, and plain HTTP when allowed. @internal */
  protected requestOptions(oauth: OAuthLibrary): { signal: () => AbortSignal; [key: symbol]: boolean } {
    const timeout = this.options.requestTimeout ?? 10_000;
    return { signal: () => AbortSignal.timeout(timeout), [oauth.allowInsecureRequests]: this.options.allowInsecureRequests === true };
  }

  private callbackError(oauth: OAuthLibrary, error: unknown): unknown {
    if (error instanceof oauth.AuthorizationResponseError) {
      const detail = `${this.name} answered the authorization request with ${error.error}${error.error_description ? ` (${error.error_description})` : ""}`;
      if (error.error === "access_denied") return new AuthError("ERR_AUTH_DENIED", 403, `Login cancelled at ${this.name}`, detail, { cause: error });
      if (error.error === "temporarily_unavailable") return new AuthError("ERR_AUTH_BAD_GATEWAY", 503, `${this.name} cannot log you in right now`, detail, { cause: error });
      return new AuthError("ERR_AUTH_PROVIDER_REFUSED", 502, `${this.name} refused this app's login request`, detail, { cause: error });
    }
    if (error instanceof oauth.OperationProcessingError) {
      return new AuthError("ERR_AUTH_STATE", 400, "Login state does not match, please log in again", `callback from ${this.name}: ${error.message}`, { cause: error });
    }
    return error;
  }
}

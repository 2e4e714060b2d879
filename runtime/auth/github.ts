/** GitHub login: plain OAuth 2.0 (GitHub is not an OpenID Connect provider for users), the user from GitHub's REST API. */

import type { OAuthLibrary } from "./library.js";
import { OAuth2Client, type OAuth2ClientOptions } from "./oauth2.js";

type AuthorizationServer = import("oauth4webapi").AuthorizationServer;
type TokenEndpointResponse = import("oauth4webapi").TokenEndpointResponse;

/**
 * Options of `GitHubOAuth2`: the credentials of a GitHub OAuth app (Settings → Developer settings
 * → OAuth Apps, with the callback URL registered), and where GitHub is.
 *
 * @example
 * const options: GitHubOAuth2Options = { clientId: env.GITHUB_CLIENT_ID, clientSecret: env.GITHUB_CLIENT_SECRET };
 */
export interface GitHubOAuth2Options extends OAuth2ClientOptions {
  /** Where `/login/oauth/authorize` and `/login/oauth/access_token` are (default `https://github.com`; GitHub Enterprise: `https://HOST`). */
  baseUrl?: string;
  /** Where the REST API is (default `https://api.github.com`; GitHub Enterprise: `https://HOST/api/v3`). */
  apiUrl?: string;
}

/**
 * A "Sign in with GitHub" login: GitHub's OAuth 2.0 endpoints with `state` and PKCE (S256), the
 * code exchanged with `client_secret_post`, and `user` read from the API's `/user` (`id`, `login`,
 * `name`, `email` when public, `avatar_url`…). Ask for `user:email` and call
 * `oauth2Request(apiUrl + "/user/emails", …)` for private addresses.
 *
 * @example
 * const github = new GitHubOAuth2({ clientId: env.GITHUB_CLIENT_ID, clientSecret: env.GITHUB_CLIENT_SECRET });
 * class GitHubLogin extends RequestHandler {
 *   async get() {
 *     if (!github.isCallback(this)) return github.authorizeRedirect(this);
 *     const { user, next } = await github.getAuthenticatedUser(this);
 *     this.setSignedCookie("user", JSON.stringify({ id: user.id, login: user.login }), { httpOnly: true });
 *     this.redirect(next ?? "/");
 *   }
 * }
 */
export class GitHubOAuth2 extends OAuth2Client {
  /** The REST API's base URL, without a trailing slash. @example await github.oauth2Request(`${github.apiUrl}/user/emails`, token) */
  readonly apiUrl: string;

  constructor(options: GitHubOAuth2Options) {
    const baseUrl = (options?.baseUrl ?? "https://github.com").replace(/\/+$/, "");
    super({
      name: "GitHub",
      clientAuthMethod: "client_secret_post",
      ...options,
      authorizationEndpoint: `${baseUrl}/login/oauth/authorize`,
      tokenEndpoint: `${baseUrl}/login/oauth/access_token`,
      issuer: baseUrl,
    });
    this.apiUrl = (options.apiUrl ?? "https://api.github.com").replace(/\/+$/, "");
  }

  protected override get defaultScope(): string[] {
    return ["read:user"];
  }

  protected override async fetchUser(oauth: OAuthLibrary, _as: AuthorizationServer, result: TokenEndpointResponse): Promise<Record<string, unknown>> {
    const user = await this.resourceJson(oauth, `${this.apiUrl}/user`, result.access_token, {
      headers: { Accept: "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28" },
    });
    if (typeof user !== "object" || user === null || Array.isArray(user)) {
      throw new oauth.OperationProcessingError(`${this.apiUrl}/user did not answer a JSON object`);
    }
    return { ...(user as Record<string, unknown>) };
  }
}

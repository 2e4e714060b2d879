/**
 * Logging in through another site (Tornado's `tornado.auth`): the OAuth 2.0 authorization code
 * flow with `state` and PKCE, ready for GitHub (`GitHubOAuth2`) and Google (`GoogleOAuth2`,
 * OpenID Connect), any OpenID Connect provider (`OpenIDConnectClient`) or any OAuth 2.0 one
 * (`OAuth2Client`). The protocol work is done by `oauth4webapi`, which an app that logs in
 * installs (`npm install oauth4webapi`); it is loaded on first use.
 *
 * @example
 * import { GitHubOAuth2 } from "tornado/auth";
 * const github = new GitHubOAuth2({ clientId: env.GITHUB_CLIENT_ID, clientSecret: env.GITHUB_CLIENT_SECRET });
 * class Login extends RequestHandler {
 *   async get() {
 *     if (!github.isCallback(this)) return github.authorizeRedirect(this);
 *     const { user, next } = await github.getAuthenticatedUser(this);
 *     this.setSignedCookie("user", String(user.login), { httpOnly: true });
 *     this.redirect(next ?? "/");
 *   }
 * }
 */
export { AuthError, type AuthErrorCode } from "./auth/errors.js";
export {
  OAuth2Client,
  type AuthorizeRedirectOptions,
  type LoginResult,
  type OAuth2ClientOptions,
  type OAuth2Endpoints,
  type OAuth2RequestOptions,
  type OAuth2Tokens,
} from "./auth/oauth2.js";
export { OpenIDConnectClient, type OpenIDConnectOptions } from "./auth/oidc.js";
export { GitHubOAuth2, type GitHubOAuth2Options } from "./auth/github.js";
export { GoogleOAuth2, type GoogleOAuth2Options } from "./auth/google.js";

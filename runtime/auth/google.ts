/** Google login (Tornado's `GoogleOAuth2Mixin`), through OpenID Connect. */

import { OpenIDConnectClient, type OpenIDConnectOptions } from "./oidc.js";

/**
 * Options of `GoogleOAuth2`: the credentials from Google Cloud's console (APIs & Services →
 * Credentials → OAuth client ID, type "Web application", with the callback URL registered).
 *
 * @example
 * const options: GoogleOAuth2Options = { clientId: env.GOOGLE_CLIENT_ID, clientSecret: env.GOOGLE_CLIENT_SECRET };
 */
export interface GoogleOAuth2Options extends Omit<OpenIDConnectOptions, "issuer"> {
  /** Default `https://accounts.google.com`; a test points it at a local OpenID Connect provider. */
  issuer?: string;
}

/**
 * A "Sign in with Google" login: OpenID Connect with Google's issuer, scopes
 * `openid email profile`, PKCE, a nonce, and a validated ID token. `user` holds Google's
 * user info (`sub`, `email`, `email_verified`, `name`, `picture`…).
 *
 * @example
 * const google = new GoogleOAuth2({ clientId: env.GOOGLE_CLIENT_ID, clientSecret: env.GOOGLE_CLIENT_SECRET });
 * class GoogleLogin extends RequestHandler {
 *   async get() {
 *     if (!google.isCallback(this)) return google.authorizeRedirect(this, { extraParams: { prompt: "select_account" } });
 *     const { user, next } = await google.getAuthenticatedUser(this);
 *     this.setSignedCookie("user", JSON.stringify({ id: user.sub, email: user.email }), { httpOnly: true });
 *     this.redirect(next ?? "/");
 *   }
 * }
 */
export class GoogleOAuth2 extends OpenIDConnectClient {
  /** Google's issuer identifier. @example GoogleOAuth2.ISSUER // "https://accounts.google.com" */
  static readonly ISSUER = "https://accounts.google.com";

  constructor(options: GoogleOAuth2Options) {
    super({ name: "Google", cookieName: "_oauth_google", ...options, issuer: options?.issuer ?? GoogleOAuth2.ISSUER });
  }
}

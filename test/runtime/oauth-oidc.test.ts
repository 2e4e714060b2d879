/**
 * tornado/auth against a real local OpenID Connect provider (oauth2-mock-server on an ephemeral
 * port): GoogleOAuth2 pointed at it through `issuer` (discovery, PKCE, nonce, ID token checked
 * with the provider's JWKS), the browser played by fetch following each redirect by hand.
 */

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Events, type OAuth2Server } from "oauth2-mock-server";
import { GoogleOAuth2, OpenIDConnectClient, type OpenIDConnectOptions } from "../../runtime/auth.js";
import { createTestServer, expectLog, type TestServer } from "../../runtime/testing.js";
import { Browser, loginApp, s256, startProvider, startSilentServer, stopProvider } from "../helpers/oauth.js";

// Letters and digits only: oauth4webapi form-encodes the id in HTTP Basic auth (RFC 6749 §2.3.1)
// and the mock provider does not decode it (`-` would arrive as `%2D`); real providers do.
const CLIENT_ID = "tornadotestclient";
let provider: OAuth2Server;
let app: TestServer | undefined;

beforeEach(async () => {
  provider = await startProvider();
  // Google's user info carries the profile; the mock's carries only `sub`.
  provider.service.on(Events.BeforeUserinfo, (userinfo) => {
    Object.assign(userinfo.body as object, { email: "john@example.com", email_verified: true, name: "John Doe" });
  });
});

afterEach(async () => {
  await app?.close();
  app = undefined;
  await stopProvider(provider);
});

// Starts a login in `browser` and lets the provider answer: the callback URL it sends back.
async function callbackUrl(browser: Browser, t: TestServer): Promise<URL> {
  const [toProvider, toCallback] = await browser.navigate(t.url("/login"), 2);
  expect(toProvider!.response.status).toBe(302);
  expect(toCallback!.response.status).toBe(302);
  return new URL(toCallback!.response.headers.get("Location")!);
}

async function serve(options: Partial<OpenIDConnectOptions> = {}) {
  const google = new GoogleOAuth2({ clientId: CLIENT_ID, clientSecret: "s3cret", allowInsecureRequests: true, issuer: provider.issuer.url!, ...options });
  app = await createTestServer(loginApp(google));
  return app;
}

// Expected failures: the HTTPError warning on tornado.general and the access log line.
function expectFailure<T>(status: number, detail: RegExp, fn: () => Promise<T>): Promise<T> {
  return expectLog("tornado.general", detail, () => expectLog("tornado.access", new RegExp(`^${status} GET /login`), fn));
}

describe("GoogleOAuth2 (OpenID Connect) against a local provider", () => {
  it("logs in: /account → /login → provider → callback → /account, with the user in a signed cookie and currentUser", async () => {
    const t = await serve();
    let verifierSent: string | undefined;
    provider.service.once(Events.BeforeResponse, (_response, req) => {
      verifierSent = (req.body as Record<string, string>).code_verifier;
    });
    const browser = new Browser();
    const hops = await browser.navigate(t.url("/account"));
    expect(hops.map((hop) => hop.response.status)).toEqual([302, 302, 302, 302, 200]);
    expect(hops[0]!.response.headers.get("Location")).toBe("/login?next=%2Faccount");

    const authorize = new URL(hops[1]!.response.headers.get("Location")!);
    expect(authorize.origin + authorize.pathname).toBe(`${provider.issuer.url}/authorize`);
    const query = authorize.searchParams;
    expect(query.get("response_type")).toBe("code");
    expect(query.get("client_id")).toBe(CLIENT_ID);
    expect(query.get("redirect_uri")).toBe(t.url("/login"));
    expect(query.get("scope")).toBe("openid email profile");
    expect(query.get("code_challenge_method")).toBe("S256");
    expect(query.get("state")).toMatch(/^[\w-]{20,}$/);
    expect(query.get("nonce")).toMatch(/^[\w-]{20,}$/);
    const flowCookie = hops[1]!.response.headers.getSetCookie().find((line) => line.startsWith("_oauth_google="));
    expect(flowCookie).toMatch(/HttpOnly/i);
    expect(flowCookie).toMatch(/SameSite=Lax/i);
    expect(flowCookie).toMatch(/Max-Age=600/i);

    // The provider sent the browser back with the code and the same state.
    const callback = new URL(hops[2]!.response.headers.get("Location")!);
    expect(callback.searchParams.get("state")).toBe(query.get("state"));
    expect(callback.searchParams.get("code")).toBeTruthy();

    // The code was exchanged with the verifier whose S256 hash was the challenge.
    expect(verifierSent).toBeDefined();
    expect(s256(verifierSent!)).toBe(query.get("code_challenge"));
    expect(hops[3]!.response.headers.get("Location")).toBe("/account");
    expect(browser.cookies.has("_oauth_google")).toBe(false); // cleared once used
    expect(JSON.parse(hops[4]!.body)).toEqual({
      currentUser: { user: { sub: "johndoe", email: "john@example.com", email_verified: true, name: "John Doe" }, hasIdToken: true },
    });
  });

  it("gives the validated ID token claims with a nonce equal to the one sent", async () => {
    const oidc = new OpenIDConnectClient({ issuer: provider.issuer.url!, clientId: CLIENT_ID, clientSecret: "s3cret", allowInsecureRequests: true, fetchUserinfo: false });
    app = await createTestServer(loginApp(oidc));
    const hops = await new Browser().navigate(app.url("/account"));
    const nonce = new URL(hops[1]!.response.headers.get("Location")!).searchParams.get("nonce");
    const { currentUser } = JSON.parse(hops.at(-1)!.body);
    expect(currentUser.user.sub).toBe("johndoe");
    expect(currentUser.user.aud).toBe(CLIENT_ID);
    expect(currentUser.user.iss).toBe(provider.issuer.url);
    expect(currentUser.user.nonce).toBe(nonce);
  });

  it("answers 403 with a clear message when the visitor refuses consent (error=access_denied)", async () => {
    const t = await serve();
    provider.service.once(Events.BeforeAuthorizeRedirect, ({ url }) => {
      url.searchParams.delete("code");
      url.searchParams.set("error", "access_denied");
      url.searchParams.set("error_description", "The user denied the request");
    });
    const hops = await expectFailure(403, /access_denied \(The user denied the request\)/, () => new Browser().navigate(t.url("/login")));
    const last = hops.at(-1)!;
    expect(last.response.status).toBe(403);
    expect(last.body).toContain("403: Login cancelled at Google");
    expect((await t.fetch("/")).status).toBe(200); // still serving
  });

  it("answers 400 when the callback's state differs from the cookie's", async () => {
    const t = await serve();
    const browser = new Browser();
    const callback = await callbackUrl(browser, t);
    callback.searchParams.set("state", "forged-state-value-0123456789");
    const hop = await expectFailure(400, /unexpected "state"/, () => browser.get(callback.href));
    expect(hop.response.status).toBe(400);
    expect(hop.body).toContain("400: Login state does not match, please log in again");
  });

  it("answers 400 when the callback comes without the flow's cookie (another browser, expired, or forged)", async () => {
    const t = await serve();
    const callback = await callbackUrl(new Browser(), t);
    const stranger = new Browser();
    const hop = await expectFailure(400, /no valid _oauth_google cookie/, () => stranger.get(callback.href));
    expect(hop.response.status).toBe(400);
    expect(hop.body).toContain("Login expired or was not started here, please log in again");
  });

  it("answers 400 for a code issued for another login: the provider checks the PKCE verifier", async () => {
    const t = await serve();
    // The victim's code, injected into the attacker's own login (its cookie and state).
    const victimCode = (await callbackUrl(new Browser(), t)).searchParams.get("code")!;
    const attacker = new Browser();
    const callback = await callbackUrl(attacker, t);
    callback.searchParams.set("code", victimCode);
    // The mock answers a verifier that does not match with a 400 problem+json (a real provider:
    // 400 invalid_grant, RFC 7636 §4.6); either way the code is refused.
    const hop = await expectFailure(400, /the token endpoint of Google answered HTTP 400/, () => attacker.get(callback.href));
    expect(hop.response.status).toBe(400);
    expect(hop.body).toContain("Google refused the login code, please log in again");
    expect(attacker.cookies.has("user")).toBe(false);
  });

  it("answers 502 when the ID token is not for this app (aud), and never logs the visitor in", async () => {
    const t = await serve();
    provider.service.on(Events.BeforeTokenSigning, (token) => {
      if ("nonce" in token.payload) token.payload.aud = "another-app";
    });
    const browser = new Browser();
    const hops = await expectFailure(502, /ID token|aud/, () => browser.navigate(t.url("/login")));
    expect(hops.at(-1)!.response.status).toBe(502);
    expect(hops.at(-1)!.body).toContain("Google gave an invalid login answer");
    expect(browser.cookies.has("user")).toBe(false);
  });

  it("answers 502 when the ID token's nonce is not the one sent", async () => {
    const t = await serve();
    provider.service.on(Events.BeforeTokenSigning, (token) => {
      if ("nonce" in token.payload) token.payload.nonce = "replayed-nonce";
    });
    const hops = await expectFailure(502, /nonce/, () => new Browser().navigate(t.url("/login")));
    expect(hops.at(-1)!.response.status).toBe(502);
  });

  it("answers 502 when the token endpoint answers a 5xx", async () => {
    const t = await serve();
    provider.service.once(Events.BeforeResponse, (response) => {
      response.statusCode = 500;
      response.body = { message: "internal error" };
    });
    const hops = await expectFailure(502, /the token endpoint of Google answered HTTP 500/, () => new Browser().navigate(t.url("/login")));
    expect(hops.at(-1)!.response.status).toBe(502);
    expect(hops.at(-1)!.body).toContain("502: Google failed to answer the login");
  });

  it("answers 400 when the callback has the right state but no code", async () => {
    const t = await serve();
    const browser = new Browser();
    const callback = await callbackUrl(browser, t);
    callback.searchParams.delete("code");
    const hop = await expectFailure(400, /has no code/, () => browser.get(callback.href));
    expect(hop.response.status).toBe(400);
    expect(hop.body).toContain("No login code from Google, please log in again");
  });

  it("answers 503 when the token endpoint answers 503 (the provider is overloaded)", async () => {
    const t = await serve();
    provider.service.once(Events.BeforeResponse, (response) => {
      response.statusCode = 503;
      response.body = {};
    });
    const hops = await expectFailure(503, /answered HTTP 503/, () => new Browser().navigate(t.url("/login")));
    expect(hops.at(-1)!.response.status).toBe(503);
  });

  it("answers 503 when the provider has gone away between the redirect and the callback", async () => {
    const t = await serve();
    const browser = new Browser();
    const callback = await callbackUrl(browser, t);
    await provider.stop();
    const hop = await expectFailure(503, /the token endpoint of Google cannot be reached/, () => browser.get(callback.href));
    expect(hop.response.status).toBe(503);
    expect(hop.body).toContain("503: Cannot reach Google to log in");
    expect((await t.fetch("/")).status).toBe(200);
  });

  it("answers 503 at the start when the issuer cannot be reached for discovery", async () => {
    const { port } = provider.address();
    await provider.stop();
    const t = await serve({ issuer: `http://127.0.0.1:${port}` });
    const hop = await expectFailure(503, /the discovery document of Google cannot be reached/, () => new Browser().get(t.url("/login")));
    expect(hop.response.status).toBe(503);
  });

  it("answers 504 after requestTimeout when the token endpoint never answers", async () => {
    const silent = await startSilentServer();
    try {
      provider.service.on(Events.BeforeWellKnownOpenIdConfiguration, (document) => {
        (document.body as Record<string, unknown>).token_endpoint = `${silent.url}/token`;
      });
      const t = await serve({ requestTimeout: 500 });
      const hops = await expectFailure(504, /did not answer within the requestTimeout/, () => new Browser().navigate(t.url("/login")));
      expect(hops.at(-1)!.response.status).toBe(504);
      expect(hops.at(-1)!.body).toContain("504: Google did not answer in time");
    } finally {
      await silent.close();
    }
  });

  it("keeps a login on this site: next=//evil.example is dropped, next=/account kept, a next over 1024 characters dropped", async () => {
    const t = await serve();
    const kept = await new Browser().navigate(t.url("/login?next=%2Faccount"));
    expect(kept.at(-1)!.url).toBe(t.url("/account"));
    expect(kept.at(-1)!.response.status).toBe(200);
    const dropped = await new Browser().navigate(t.url("/login?next=%2F%2Fevil.example%2F"));
    expect(dropped.at(-1)!.url).toBe(t.url("/"));
    // At most 1024 characters, so the flow's cookie stays well under browsers' 4 KiB.
    const longest = `/account?${"x".repeat(1024 - "/account?".length)}`;
    expect((await new Browser().navigate(t.url(`/login?next=${encodeURIComponent(longest)}`))).at(-1)!.url).toBe(t.url(longest));
    const tooLong = `${longest}x`;
    expect((await new Browser().navigate(t.url(`/login?next=${encodeURIComponent(tooLong)}`))).at(-1)!.url).toBe(t.url("/"));
  });
});

describe("OpenIDConnectClient construction", () => {
  it("refuses a missing issuer, client id or secret with a sentence", () => {
    expect(() => new OpenIDConnectClient({ issuer: "", clientId: "x", clientSecret: "y" })).toThrow(/needs an issuer URL/);
    expect(() => new GoogleOAuth2({ clientId: "", clientSecret: "y" })).toThrow(/GoogleOAuth2 needs a clientId/);
    expect(() => new GoogleOAuth2({ clientId: "x", clientSecret: "" })).toThrow(/GoogleOAuth2 needs a clientSecret/);
  });
});

/**
 * GitHubOAuth2 against a local provider that behaves like GitHub. What is simulated: GitHub's
 * OAuth paths (`/login/oauth/authorize`, `/login/oauth/access_token`) served by oauth2-mock-server
 * with PKCE checked; its token answer without an ID token; its habit of answering errors at the
 * token endpoint with HTTP 200 and an `error` field; and its REST API's `GET /user` (and
 * `/user/emails`) as routes on the same server, which require the issued access token.
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Application, RequestHandler, interceptLogs } from "../../runtime/index.js";
import { Events, type OAuth2Server } from "oauth2-mock-server";
import { AuthError, GitHubOAuth2, type GitHubOAuth2Options } from "../../runtime/auth.js";
import { createTestServer, expectLog, type TestServer } from "../../runtime/testing.js";
import { Browser, loginApp, s256, startProvider, startSilentServer, stopProvider } from "../helpers/oauth.js";

const OCTOCAT = { login: "octocat", id: 583231, name: "The Octocat", email: null, avatar_url: "https://avatars.githubusercontent.com/u/583231" };
let provider: OAuth2Server;
let app: TestServer | undefined;
let issuedTokens: string[];
let tokenRequests: Record<string, string>[];
let userRequests: string[];

beforeEach(async () => {
  provider = await startProvider({ authorize: "/login/oauth/authorize", token: "/login/oauth/access_token" });
  issuedTokens = [];
  tokenRequests = [];
  userRequests = [];
  provider.service.on(Events.BeforeResponse, (response, req) => {
    tokenRequests.push({ ...(req.body as Record<string, string>) });
    const body = response.body as Record<string, unknown>;
    delete body.id_token; // GitHub is not an OpenID Connect provider
    delete body.refresh_token;
    if (typeof body.access_token === "string") issuedTokens.push(body.access_token);
  });
  const api = (answer: unknown) => (req: { headers: Record<string, string | string[] | undefined> }, res: import("node:http").ServerResponse) => {
    const authorization = String(req.headers.authorization ?? "");
    userRequests.push(authorization);
    const known = issuedTokens.some((token) => authorization === `Bearer ${token}`) || authorization === "Bearer test-token";
    res.writeHead(known ? 200 : 401, { "Content-Type": "application/json; charset=utf-8" });
    res.end(JSON.stringify(known ? answer : { message: "Bad credentials" }));
  };
  provider.service.addRoute("GET", "/user", api(OCTOCAT));
  provider.service.addRoute("GET", "/user/emails", api([{ email: "octocat@github.com", primary: true, verified: true }]));
});

afterEach(async () => {
  await app?.close();
  app = undefined;
  await stopProvider(provider);
});

function github(options: Partial<GitHubOAuth2Options> = {}) {
  return new GitHubOAuth2({ clientId: "Iv1.8a61f9b3a7aba766", clientSecret: "gh-s3cret", baseUrl: provider.issuer.url!, apiUrl: provider.issuer.url!, allowInsecureRequests: true, ...options });
}

async function serve(options: Partial<GitHubOAuth2Options> = {}) {
  app = await createTestServer(loginApp(github(options)));
  return app;
}

function expectFailure<T>(status: number, detail: RegExp, fn: () => Promise<T>): Promise<T> {
  return expectLog("tornado.general", detail, () => expectLog("tornado.access", new RegExp(`^${status} GET /login`), fn));
}

describe("GitHubOAuth2 against a local GitHub-like provider", () => {
  it("logs in: GitHub's authorize URL with state and PKCE, the code posted with the secret and verifier, the user from GET /user", async () => {
    const t = await serve();
    const browser = new Browser();
    const hops = await browser.navigate(t.url("/account"));
    expect(hops.map((hop) => hop.response.status)).toEqual([302, 302, 302, 302, 200]);
    const authorize = new URL(hops[1]!.response.headers.get("Location")!);
    expect(authorize.pathname).toBe("/login/oauth/authorize");
    expect(authorize.searchParams.get("client_id")).toBe("Iv1.8a61f9b3a7aba766");
    expect(authorize.searchParams.get("scope")).toBe("read:user");
    expect(authorize.searchParams.get("code_challenge_method")).toBe("S256");
    expect(authorize.searchParams.has("nonce")).toBe(false);
    expect(hops[1]!.response.headers.getSetCookie().some((line) => line.startsWith("_oauth_github="))).toBe(true);

    expect(tokenRequests).toHaveLength(1);
    const sent = tokenRequests[0]!;
    expect(sent.client_id).toBe("Iv1.8a61f9b3a7aba766"); // client_secret_post, as GitHub documents
    expect(sent.client_secret).toBe("gh-s3cret");
    expect(sent.redirect_uri).toBe(t.url("/login"));
    expect(s256(sent.code_verifier!)).toBe(authorize.searchParams.get("code_challenge"));
    expect(userRequests).toEqual([`Bearer ${issuedTokens[0]}`]);

    expect(hops[4]!.url).toBe(t.url("/account"));
    expect(JSON.parse(hops[4]!.body)).toEqual({ currentUser: { user: OCTOCAT, hasIdToken: false } });
  });

  it("answers 403 when the visitor clicks Cancel at GitHub (error=access_denied)", async () => {
    const t = await serve();
    provider.service.once(Events.BeforeAuthorizeRedirect, ({ url }) => {
      url.searchParams.delete("code");
      url.searchParams.set("error", "access_denied");
      url.searchParams.set("error_description", "The user has denied your application access.");
      url.searchParams.set("error_uri", "https://docs.github.com/apps/troubleshooting-authorization-request-errors/#access-denied");
    });
    const hops = await expectFailure(403, /answered the authorization request with access_denied/, () => new Browser().navigate(t.url("/login")));
    expect(hops.at(-1)!.response.status).toBe(403);
    expect(hops.at(-1)!.body).toContain("403: Login cancelled at GitHub");
    expect(tokenRequests).toEqual([]);
  });

  it("answers 400 for GitHub's HTTP 200 bad_verification_code (an expired or reused code)", async () => {
    const t = await serve();
    provider.service.once(Events.BeforeResponse, (response) => {
      response.statusCode = 200;
      response.body = { error: "bad_verification_code", error_description: "The code passed is incorrect or expired.", error_uri: "https://docs.github.com/" };
    });
    const hops = await expectFailure(400, /answered bad_verification_code \(The code passed is incorrect or expired\.\)/, () => new Browser().navigate(t.url("/login")));
    expect(hops.at(-1)!.response.status).toBe(400);
    expect(hops.at(-1)!.body).toContain("GitHub refused the login code, please log in again");
  });

  it("answers 502 for GitHub's HTTP 200 incorrect_client_credentials (the app's secret is wrong)", async () => {
    const t = await serve();
    provider.service.once(Events.BeforeResponse, (response) => {
      response.statusCode = 200;
      response.body = { error: "incorrect_client_credentials", error_description: "The client_id and/or client_secret passed are incorrect." };
    });
    const hops = await expectFailure(502, /incorrect_client_credentials/, () => new Browser().navigate(t.url("/login")));
    expect(hops.at(-1)!.response.status).toBe(502);
    expect(hops.at(-1)!.body).toContain("GitHub refused this app&#39;s login request");
  });

  it("answers 502 when GitHub's API answers /user with a 5xx", async () => {
    const t = await serve({ apiUrl: `${provider.issuer.url}/broken-api` });
    provider.service.addRoute("GET", "/broken-api/user", (_req, res) => {
      res.writeHead(500, { "Content-Type": "text/html" });
      res.end("<h1>Unicorn!</h1>");
    });
    const hops = await expectFailure(502, /the user info endpoint of GitHub answered HTTP 500/, () => new Browser().navigate(t.url("/login")));
    expect(hops.at(-1)!.response.status).toBe(502);
    expect(hops.at(-1)!.body).toContain("502: GitHub failed to answer the login");
  });

  it("answers 503 when GitHub cannot be reached for the code exchange", async () => {
    const t = await serve();
    const browser = new Browser();
    const [, toCallback] = await browser.navigate(t.url("/login"), 2);
    await provider.stop();
    const hop = await expectFailure(503, /the token endpoint of GitHub cannot be reached/, () => browser.get(new URL(toCallback!.response.headers.get("Location")!).href));
    expect(hop.response.status).toBe(503);
    expect(hop.body).toContain("503: Cannot reach GitHub to log in");
    expect((await t.fetch("/")).status).toBe(200);
  });
});

describe("GitHubOAuth2.oauth2Request(url, accessToken)", () => {
  it("calls GitHub's API with the token and returns its JSON", async () => {
    const emails = await github().oauth2Request(`${provider.issuer.url}/user/emails`, "test-token");
    expect(emails).toEqual([{ email: "octocat@github.com", primary: true, verified: true }]);
    expect(userRequests).toEqual(["Bearer test-token"]);
  });

  it("rejects with an AuthError: 502 for a refused token, 504 after requestTimeout", async () => {
    const refused = await github().oauth2Request(`${provider.issuer.url}/user/emails`, "revoked").catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(AuthError);
    expect(refused).toMatchObject({ status: 502, code: "ERR_AUTH_PROVIDER_REFUSED" });
    const silent = await startSilentServer();
    try {
      const late = await github({ requestTimeout: 300 }).oauth2Request(`${silent.url}/user`, "test-token").catch((error: unknown) => error);
      expect(late).toMatchObject({ status: 504, code: "ERR_AUTH_TIMEOUT", reason: "GitHub did not answer in time" });
    } finally {
      await silent.close();
    }
  });
});

describe("GitHubOAuth2.authorizeRedirect(handler, { extraParams })", () => {
  it("passes extra parameters, and refuses to let them replace state, the PKCE challenge or the callback URL", async () => {
    const client = github();
    const extraParams: Record<string, string> = { allow_signup: "false" };
    class Login extends RequestHandler {
      async get() {
        await client.authorizeRedirect(this, { extraParams });
      }
    }
    app = await createTestServer(new Application([["/login", Login]], { cookieSecret: "a test secret that is long enough" }));
    const ok = await app.fetch("/login", { redirect: "manual" });
    expect(new URL(ok.headers.get("Location")!).searchParams.get("allow_signup")).toBe("false");
    for (const name of ["state", "code_challenge", "redirect_uri"]) {
      extraParams[name] = "attacker-chosen";
      const errors: unknown[] = [];
      // Installed inside expectLog, so it sees the record first (and leaves it to expectLog).
      const fetchWatching = async () => {
        const stop = interceptLogs((record) => {
          if (record.logger === "tornado.application") errors.push(record.error);
          return false;
        });
        try {
          return await app!.fetch("/login", { redirect: "manual" });
        } finally {
          stop();
        }
      };
      const res = await expectLog("tornado.application", "Uncaught exception GET /login", () => expectLog("tornado.access", /^500 GET \/login/, fetchWatching));
      expect(res.status).toBe(500);
      expect(String(errors[0])).toContain(`extraParams cannot set ${name}: the flow sets it`);
      delete extraParams[name];
    }
  });
});

describe("GitHubOAuth2 construction", () => {
  it("points at github.com and api.github.com by default, and at GitHub Enterprise when told", () => {
    expect(new GitHubOAuth2({ clientId: "a", clientSecret: "b" }).apiUrl).toBe("https://api.github.com");
    expect(new GitHubOAuth2({ clientId: "a", clientSecret: "b", baseUrl: "https://ghe.example/", apiUrl: "https://ghe.example/api/v3/" }).apiUrl).toBe("https://ghe.example/api/v3");
  });
});

describe("README: the login example", () => {
  it("logs in with GitHub as written (pointed at the local provider)", async () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("### Logging in with GitHub or Google"));
    let source = /```ts\n([\s\S]*?)```/.exec(section)![1]!;
    const runtime = fileURLToPath(new URL("../../runtime/", import.meta.url));
    // As an app imports the package; here "tornado" is runtime/index.ts and "tornado/auth" runtime/auth.ts.
    source = source
      .replace(/from "tornado"/, `from "${pathToFileURL(join(runtime, "index.ts")).href}"`)
      .replace(/from "tornado\/auth"/, `from "${pathToFileURL(join(runtime, "auth.ts")).href}"`)
      .replace("clientSecret: process.env.GITHUB_CLIENT_SECRET! }", "clientSecret: process.env.GITHUB_CLIENT_SECRET!, baseUrl: process.env.GITHUB_URL, apiUrl: process.env.GITHUB_URL, allowInsecureRequests: true }")
      .replace("new Application(", "export const app = new Application(");
    expect(source).toContain("baseUrl: process.env.GITHUB_URL");
    const dir = mkdtempSync(join(tmpdir(), "tornado-readme-login-"));
    const env = { GITHUB_CLIENT_ID: "readme-client", GITHUB_CLIENT_SECRET: "readme-secret", GOOGLE_CLIENT_ID: "g", GOOGLE_CLIENT_SECRET: "g", COOKIE_SECRET: "the README example's secret", GITHUB_URL: provider.issuer.url! };
    const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
    try {
      writeFileSync(join(dir, "app.mts"), source);
      Object.assign(process.env, env);
      const { app: readmeApp } = (await import(pathToFileURL(join(dir, "app.mts")).href)) as { app: Application };
      app = await createTestServer(readmeApp);
      const hops = await new Browser().navigate(app.url("/account"));
      expect(hops.map((hop) => hop.response.status)).toEqual([302, 302, 302, 302, 200]);
      expect(tokenRequests[0]!.client_id).toBe("readme-client");
      expect(JSON.parse(hops.at(-1)!.body)).toEqual({ user: { id: OCTOCAT.id, name: OCTOCAT.login } });
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

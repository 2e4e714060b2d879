/**
 * What the login tests share: a real local OAuth 2.0 / OpenID Connect provider (the
 * `oauth2-mock-server` package, an HTTP server on an ephemeral port of this process), a browser
 * that keeps cookies and follows redirects by hand, and an app with a login route, an account
 * page behind `authenticated`, and a home page.
 */

import { createHash } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import { OAuth2Server, type OAuth2EndpointsInput } from "oauth2-mock-server";
import { Application, RequestHandler, authenticated } from "../../runtime/index.js";
import type { OAuth2Client } from "../../runtime/auth.js";

/** A provider listening on 127.0.0.1 on a free port, with one RS256 signing key. */
export async function startProvider(endpoints?: OAuth2EndpointsInput): Promise<OAuth2Server> {
  const provider = new OAuth2Server(undefined, undefined, endpoints ? { endpoints } : undefined);
  await provider.issuer.keys.generate("RS256");
  await provider.start(0, "127.0.0.1");
  return provider;
}

/** Stops a provider if it is still listening. */
export async function stopProvider(provider: OAuth2Server | undefined): Promise<void> {
  if (provider?.listening) await provider.stop();
}

/** A TCP server that accepts connections and never answers: a provider that hangs. */
export async function startSilentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The S256 PKCE challenge of a verifier (RFC 7636 §4.2), to check what the provider was sent. */
export function s256(verifier: string): string {
  return createHash("sha256").update(verifier).digest("base64url");
}

/** One hop of a browser's navigation. */
export interface Hop {
  url: string;
  response: Response;
  body: string;
}

/**
 * A browser's part in a login: a cookie jar (by cookie name; the app and the provider both live
 * on 127.0.0.1 and the provider sets none) and navigation that follows redirects one by one.
 */
export class Browser {
  readonly cookies = new Map<string, string>();

  async get(url: string): Promise<Hop> {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
    const response = await fetch(url, { redirect: "manual", headers: cookie ? { Cookie: cookie } : {} });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expires = /expires=([^;]+)/i.exec(line)?.[1];
      const gone = value === "" || /max-age=0(;|$)/i.test(line) || (expires !== undefined && Date.parse(expires) < Date.now());
      if (gone) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return { url, response, body: await response.text() };
  }

  /** Follows redirects from `url` until a page that is not a redirect (or `maxHops`), returning every hop. */
  async navigate(url: string, maxHops = 6): Promise<Hop[]> {
    const hops: Hop[] = [];
    let next: string | null = url;
    while (next !== null && hops.length < maxHops) {
      const hop = await this.get(next);
      hops.push(hop);
      const location = hop.response.headers.get("Location");
      next = hop.response.status >= 300 && hop.response.status < 400 && location ? new URL(location, next).href : null;
    }
    return hops;
  }
}

/** The app of the tests: `/login` (start and callback), `/account` (logged in only), `/`. */
export function loginApp(client: OAuth2Client, settings: Record<string, unknown> = {}): Application {
  class Login extends RequestHandler {
    async get() {
      if (!client.isCallback(this)) return client.authorizeRedirect(this);
      const { user, tokens, next } = await client.getAuthenticatedUser(this);
      this.setSignedCookie("user", JSON.stringify({ user, hasIdToken: tokens.idToken !== undefined }), { httpOnly: true });
      this.redirect(next ?? "/");
    }
  }
  class Account extends RequestHandler {
    override getCurrentUser() {
      const raw = this.getSignedCookie("user");
      return raw === null ? null : JSON.parse(raw);
    }
    @authenticated
    get() {
      this.write({ currentUser: this.currentUser });
    }
  }
  class Home extends RequestHandler {
    get() {
      this.write("home");
    }
  }
  return new Application(
    [
      ["/login", Login],
      ["/account", Account],
      ["/", Home],
    ],
    { cookieSecret: "a test secret that is long enough", loginUrl: "/login", ...settings },
  );
}

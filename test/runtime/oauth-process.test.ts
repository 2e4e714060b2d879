/**
 * tornado/auth against an OpenID Connect provider in a process of its own: oauth2-mock-server's
 * command, started on an ephemeral port and killed by the test — the app and the provider share
 * nothing but sockets.
 */

import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { GoogleOAuth2 } from "../../runtime/auth.js";
import { createTestServer, expectLog, type TestServer } from "../../runtime/testing.js";
import { Browser, loginApp } from "../helpers/oauth.js";

const PROVIDER_BIN = fileURLToPath(new URL("../../node_modules/oauth2-mock-server/dist/oauth2-mock-server.mjs", import.meta.url));
let child: ChildProcess | undefined;
let app: TestServer | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill("SIGKILL");
    await once(child, "exit");
  }
  child = undefined;
});

// Starts the provider's command on a free port of 127.0.0.1 and resolves to its issuer URL.
async function startProviderProcess(): Promise<string> {
  child = spawn(process.execPath, [PROVIDER_BIN, "-a", "127.0.0.1", "-p", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  return await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the provider did not start in 15 s:\n${output}`)), 15_000);
    child!.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
      const issuer = /OAuth 2 issuer is (\S+)/.exec(output)?.[1];
      if (issuer) {
        clearTimeout(timer);
        resolve(issuer);
      }
    });
    child!.stderr!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    child!.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the provider exited (${code}) before it listened:\n${output}`));
    });
  });
}

describe("GoogleOAuth2 against a provider process", () => {
  it("logs in, then answers 503 once the provider process is killed, and keeps serving", async () => {
    const issuer = await startProviderProcess();
    const google = new GoogleOAuth2({ issuer, clientId: "processclient", clientSecret: "s3cret", allowInsecureRequests: true });
    app = await createTestServer(loginApp(google));

    const browser = new Browser();
    const hops = await browser.navigate(app.url("/account"));
    expect(hops.map((hop) => hop.response.status)).toEqual([302, 302, 302, 302, 200]);
    expect(JSON.parse(hops.at(-1)!.body)).toEqual({ currentUser: { user: { sub: "johndoe" }, hasIdToken: true } });

    // A second login gets as far as the callback; then the provider dies.
    const second = new Browser();
    const [, toCallback] = await second.navigate(app.url("/login"), 2);
    const callback = new URL(toCallback!.response.headers.get("Location")!);
    child!.kill("SIGKILL");
    await once(child!, "exit");
    const hop = await expectLog("tornado.general", /the token endpoint of Google cannot be reached/, () =>
      expectLog("tornado.access", /^503 GET \/login/, () => second.get(callback.href)),
    );
    expect(hop.response.status).toBe(503);
    expect(hop.body).toContain("503: Cannot reach Google to log in");
    expect(second.cookies.has("user")).toBe(false);
    expect((await browser.get(app.url("/account"))).response.status).toBe(200); // the first login still holds
  });
});

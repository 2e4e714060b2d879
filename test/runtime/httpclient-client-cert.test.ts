/** AsyncHTTPClient with client certificates (mutual TLS) against a real TLS server that requires them. */

import { execFile } from "node:child_process";
import https from "node:https";
import { promisify } from "node:util";
import type { TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AsyncHTTPClient, HTTPClientError } from "../../runtime/index.js";
import { makePki, opensslAvailable, type Pki } from "../helpers/pki.js";

const run = promisify(execFile);

describe.skipIf(!opensslAvailable())("AsyncHTTPClient: clientCert, clientKey and caCerts", () => {
  let pki: Pki;
  let server: https.Server;
  let url: string;
  const client = new AsyncHTTPClient();

  beforeAll(async () => {
    pki = makePki();
    // Requires a certificate signed by our CA, and says whose it got.
    server = https.createServer(
      { key: pki.read("server.key"), cert: pki.read("server.crt"), ca: pki.read("ca.crt"), requestCert: true, rejectUnauthorized: true },
      (req, res) => res.end(`hello ${(req.socket as TLSSocket).getPeerCertificate().subject.CN}`),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `https://127.0.0.1:${(server.address() as { port: number }).port}/`;
  });

  afterAll(async () => {
    client.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    pki.remove();
  });

  it("presents the client certificate and trusts the server through caCerts", async () => {
    const response = await client.fetch(url, { caCerts: pki.path("ca.crt"), clientCert: pki.path("client.crt"), clientKey: pki.path("client.key") });
    expect(response.code).toBe(200);
    expect(response.body.toString()).toBe("hello test-client");
  });

  it("reads the key from the certificate file when clientKey is not given", async () => {
    const response = await client.fetch(url, { caCerts: pki.path("ca.crt"), clientCert: pki.path("client-bundle.pem") });
    expect(response.body.toString()).toBe("hello test-client");
  });

  it("takes them from the client's defaults", async () => {
    const configured = new AsyncHTTPClient({ defaults: { caCerts: pki.path("ca.crt"), clientCert: pki.path("client.crt"), clientKey: pki.path("client.key") } });
    try {
      expect((await configured.fetch(url)).body.toString()).toBe("hello test-client");
    } finally {
      configured.close();
    }
  });

  it("fails with 599 without a certificate, or with one the server's CA did not sign", async () => {
    for (const options of [{}, { clientCert: pki.path("stranger.crt"), clientKey: pki.path("stranger.key") }]) {
      const error = await client.fetch(url, { caCerts: pki.path("ca.crt"), ...options }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HTTPClientError);
      expect((error as HTTPClientError).code).toBe(599);
    }
    // And the server's certificate is still checked: without caCerts it is not trusted.
    const untrusted = await client.fetch(url, { clientCert: pki.path("client.crt"), clientKey: pki.path("client.key") }).catch((e: unknown) => e);
    expect(untrusted).toMatchObject({ code: 599, message: expect.stringMatching(/certificate/) });
  });

  it("fails clearly when a certificate file is missing", async () => {
    const error = await client.fetch(url, { caCerts: pki.path("ca.crt"), clientCert: pki.path("nope.crt") }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ENOENT", message: expect.stringContaining("nope.crt") });
  });

  it("works from the blocking HTTPClient too (in a child process: it blocks its thread)", async () => {
    const script = [
      `import { HTTPClient } from ${JSON.stringify(new URL("../../runtime/index.ts", import.meta.url).pathname)};`,
      "const [url, options] = [process.argv[1], JSON.parse(process.argv[2])];",
      "const client = new HTTPClient();",
      "try { console.log(JSON.stringify({ body: client.fetch(url, options).body.toString() })); } finally { client.close(); }",
    ].join("\n");
    const options = { caCerts: pki.path("ca.crt"), clientCert: pki.path("client.crt"), clientKey: pki.path("client.key") };
    const { stdout } = await run(process.execPath, ["--import", import.meta.resolve("tsx"), "--input-type=module", "-e", script, url, JSON.stringify(options)]);
    expect(JSON.parse(stdout)).toEqual({ body: "hello test-client" });
  });
});

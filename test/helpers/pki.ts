/** Certificates for TLS tests, made with the openssl CLI: a CA, a server and clients it signs. */

import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Whether the openssl CLI is here; CI (CI=true) must have it. */
export function opensslAvailable(): boolean {
  const ok = spawnSync("openssl", ["version"]).status === 0;
  if (!ok && process.env.CI === "true") throw new Error("the openssl CLI is needed for the TLS tests (CI installs it)");
  if (!ok) console.warn("Skipping TLS tests: the openssl CLI was not found on PATH");
  return ok;
}

/** A folder of PEM files: `path(name)` and `read(name)`. */
export interface Pki {
  dir: string;
  path(name: string): string;
  read(name: string): Buffer;
  remove(): void;
}

/**
 * Makes `ca` (a CA), `server` (signed by it, for 127.0.0.1 and localhost), `client` (signed by
 * it, CN=test-client), `client-bundle` (that certificate and its key in one file) and
 * `stranger` (a client signed by another CA): `<name>.crt` and `<name>.key` each.
 */
export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), "tornado-pki-"));
  const run = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const ca = (name: string) => run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.crt`, "-days", "2", "-subj", `/CN=${name}`);
  const signed = (name: string, cn: string, by: string, ext: string) => {
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`);
    writeFileSync(join(dir, `${name}.ext`), ext);
    run("x509", "-req", "-in", `${name}.csr`, "-CA", `${by}.crt`, "-CAkey", `${by}.key`, "-CAcreateserial", "-out", `${name}.crt`, "-days", "2", "-extfile", `${name}.ext`);
  };
  ca("ca");
  ca("other-ca");
  signed("server", "127.0.0.1", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  signed("client", "test-client", "ca", "extendedKeyUsage=clientAuth\n");
  signed("stranger", "stranger", "other-ca", "extendedKeyUsage=clientAuth\n");
  writeFileSync(join(dir, "client-bundle.pem"), Buffer.concat([readFileSync(join(dir, "client.crt")), readFileSync(join(dir, "client.key"))]));
  return {
    dir,
    path: (name) => join(dir, name),
    read: (name) => readFileSync(join(dir, name)),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

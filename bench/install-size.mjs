// The production install of a new app, next to a new Nest app's and a new Fastify app's: the
// size of node_modules and the number of packages `npm install --omit=dev` puts there.
//
// Ours: each template, as create-tornado-app writes it (package.json and vendor/), installed with
// --omit=dev. Nest: the dependencies `nest new` writes (@nestjs/common, core, platform-express,
// reflect-metadata, rxjs). Fastify: those `npm init fastify` (create-fastify) writes (fastify,
// fastify-plugin, @fastify/autoload, @fastify/sensible, fastify-cli). Their versions are the
// newest on the registry at the time of the run, as a new app of theirs would get.
//
//   node bench/install-size.mjs

import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT_DIR, childEnv, machine, removeDirs } from "./lib.mjs";

const PEERS = {
  nest: ["@nestjs/common", "@nestjs/core", "@nestjs/platform-express", "reflect-metadata", "rxjs"],
  fastify: ["fastify", "fastify-plugin", "@fastify/autoload", "@fastify/sensible", "fastify-cli"],
};
const dirs = new Set();
process.on("exit", () => removeDirs(dirs));

// Bytes on disk (apparent sizes) and packages (folders with a package.json) under node_modules.
function measure(nodeModules) {
  let bytes = 0;
  let packages = 0;
  const walk = (dir, depthInModules) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isSymbolicLink()) continue;
      if (entry.isDirectory()) {
        const isPackageDir = path.basename(dir) === "node_modules" || (path.basename(path.dirname(dir)) === "node_modules" && path.basename(dir).startsWith("@"));
        if (isPackageDir && entry.name !== ".bin" && !entry.name.startsWith("@") && !entry.name.startsWith(".")) packages++;
        walk(full, depthInModules + 1);
      } else bytes += statSync(full).size;
    }
  };
  walk(nodeModules, 0);
  return { bytes, packages };
}

function install(dir, args) {
  execFileSync("npm", ["install", "--omit=dev", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error", ...args], { cwd: dir, env: childEnv(), stdio: ["ignore", "ignore", "inherit"] });
  return measure(path.join(dir, "node_modules"));
}

const rows = [];
for (const template of ["rest", "websocket", "slow-db"]) {
  const dir = mkdtempSync(path.join(os.tmpdir(), `size-${template}-`));
  dirs.add(dir);
  execFileSync(process.execPath, [path.join(ROOT_DIR, "bin/create-tornado-app.js"), path.join(dir, "app"), "--template", template, "--yes", "--no-install", "--no-git"], { stdio: "ignore" });
  rows.push({ name: `tornado ${template}`, ...install(path.join(dir, "app"), []) });
}
for (const [name, deps] of Object.entries(PEERS)) {
  const dir = mkdtempSync(path.join(os.tmpdir(), `size-${name}-`));
  dirs.add(dir);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: `size-${name}`, private: true }));
  rows.push({ name, ...install(dir, deps) });
}

const facts = machine();
console.log(`${facts.date}, ${facts.node}, npm ${execFileSync("npm", ["--version"], { encoding: "utf8" }).trim()}`);
console.log("| app | production node_modules | packages |");
console.log("| --- | --- | --- |");
for (const row of rows) console.log(`| ${row.name} | ${(row.bytes / 1024 / 1024).toFixed(1)} MB | ${row.packages} |`);

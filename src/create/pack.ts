/**
 * Packs this package for a new app as two files in its `vendor/`, so the app installs them from
 * inside itself (no network beyond the npm registry, no absolute path, and the app keeps working
 * when its folder moves):
 * - `tornado-<version>.tgz`, the runtime and the `tornado` command, depending on what every app
 *   needs at run time only (`ws`; `handlebars`, `ioredis`, `prom-client`… are loaded when used,
 *   and the app lists them when it uses them): a production install stays small;
 * - `tornado-tools-<version>.tgz`, a development dependency holding nothing but the
 *   dependencies of the commands other than `start` (TypeScript, tsx, chokidar, commander…).
 */

import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { gzipSync } from "node:zlib";
import { packageRoot } from "../cli/paths.js";

// npm packs every file with this date so tarballs are reproducible; so do we.
const FIXED_MTIME = Math.floor(Date.UTC(1985, 9, 26, 8, 15, 0) / 1000);
const PACKED_FIELDS = ["version", "description", "license", "type", "engines", "bin", "exports"] as const;
// What an app needs at run time, whatever it does. Everything else the runtime loads only when
// it is used (handlebars for templates, ioredis for REDIS_URL, prom-client for metrics…) and
// says which package to install when it is missing. They are not declared as optional peers:
// npm would then keep tornado-tools' handlebars in a production install.
const RUNTIME_DEPENDENCIES = ["ws"];
// What `tornado dev`, `generate`, `destroy`, `routes`, `openapi` load, in tornado-tools.
const TOOLS_DEPENDENCIES = ["chokidar", "commander", "diff", "handlebars", "oxc-parser", "tsx", "typescript"];

/**
 * The file name of the packed runtime for this version.
 *
 * @example
 * runtimeTarballName() // "tornado-0.1.0.tgz"
 */
export function runtimeTarballName(): string {
  return `tornado-${readManifest().version}.tgz`;
}

/**
 * The file name of the packed development tools for this version.
 *
 * @example
 * toolsTarballName() // "tornado-tools-0.1.0.tgz"
 */
export function toolsTarballName(): string {
  return `tornado-tools-${readManifest().version}.tgz`;
}

function readManifest(): Record<string, unknown> & { version: string } {
  return JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8"));
}

function listFiles(dir: string, skip: (rel: string) => boolean, root = dir): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    const rel = relative(root, full).split(sep).join("/");
    if (skip(rel)) continue;
    if (entry.isDirectory()) out.push(...listFiles(full, skip, root));
    else if (entry.isFile()) out.push(rel);
  }
  return out;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, "0") + "\0";
}

function tarHeader(path: string, size: number, mode: number): Buffer {
  const header = Buffer.alloc(512);
  let name = path;
  let prefix = "";
  if (Buffer.byteLength(name) > 100) {
    const cut = path.lastIndexOf("/", 155);
    prefix = path.slice(0, cut);
    name = path.slice(cut + 1);
    if (cut < 0 || Buffer.byteLength(name) > 100) throw new Error(`path too long to pack: ${path}`);
  }
  header.write(name, 0, 100);
  header.write(octal(mode, 8), 100);
  header.write(octal(0, 8), 108);
  header.write(octal(0, 8), 116);
  header.write(octal(size, 12), 124);
  header.write(octal(FIXED_MTIME, 12), 136);
  header.write("        ", 148);
  header.write("0", 156);
  header.write("ustar\0", 257);
  header.write("00", 263);
  header.write(prefix, 345, 155);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(octal(sum, 7) + " ", 148);
  return header;
}

/**
 * Builds the runtime tarball in memory: the package's `bin/`, `dist/` (runtime and CLI) and the
 * generators' templates, under a `package.json` named `tornado` whose dependencies are the
 * runtime's own.
 *
 * @example
 * await writeFile("vendor/" + runtimeTarballName(), packRuntime());
 */
export function packRuntime(): Buffer {
  const root = packageRoot();
  const manifest = readManifest();
  const packed: Record<string, unknown> = { name: "tornado" };
  for (const field of PACKED_FIELDS) if (manifest[field] !== undefined) packed[field] = manifest[field];
  const dependencies = manifest.dependencies as Record<string, string>;
  packed.dependencies = Object.fromEntries(RUNTIME_DEPENDENCIES.map((name) => [name, dependencies[name]!]));
  const entries: [string, Buffer, number][] = [["package.json", Buffer.from(JSON.stringify(packed, null, 2) + "\n"), 0o644]];
  const skip = (rel: string) => rel.endsWith(".tsbuildinfo") || /(^|\/)(node_modules|\.git)(\/|$)/.test(rel);
  for (const folder of ["bin", "dist", "templates"]) {
    // Apps generate code from templates/generators; the app templates are create-tornado-app's.
    const leaveOut = (rel: string) => skip(rel) || (folder === "dist" && rel.startsWith("test/")) || (folder === "templates" && rel !== "generators" && !rel.startsWith("generators/"));
    const files = listFiles(join(root, folder), leaveOut);
    for (const rel of files.sort()) {
      const full = join(root, folder, rel);
      const executable = (statSync(full).mode & 0o111) !== 0;
      entries.push([`${folder}/${rel}`, readFileSync(full), executable ? 0o755 : 0o644]);
    }
  }
  return tarball(entries);
}

/**
 * Builds the development tools' tarball in memory: a `package.json` named `tornado-tools`
 * whose dependencies are what the `tornado` commands other than `start` load, and a README.
 *
 * @example
 * await writeFile("vendor/" + toolsTarballName(), packTools());
 */
export function packTools(): Buffer {
  const manifest = readManifest();
  const dependencies = manifest.dependencies as Record<string, string>;
  const packed = {
    name: "tornado-tools",
    version: manifest.version,
    description: "What the tornado command needs in development (dev, generate, destroy, routes, openapi): a development dependency of every app.",
    license: manifest.license,
    engines: manifest.engines,
    dependencies: Object.fromEntries(TOOLS_DEPENDENCIES.map((name) => [name, dependencies[name]!])),
  };
  const readme =
    "# tornado-tools\n\nThe dependencies of the `tornado` commands an app runs in development (`dev`, `generate`, `destroy`,\n" +
    "`routes`, `openapi`): TypeScript, tsx, oxc-parser, chokidar, commander, diff, Handlebars. Apps list it in `devDependencies`,\n" +
    "so that a production install (`npm ci --omit=dev`) holds the runtime alone; `tornado start` needs nothing from here.\n";
  return tarball([
    ["package.json", Buffer.from(JSON.stringify(packed, null, 2) + "\n"), 0o644],
    ["README.md", Buffer.from(readme), 0o644],
  ]);
}

function tarball(entries: [string, Buffer, number][]): Buffer {
  const chunks: Buffer[] = [];
  for (const [path, content, mode] of entries) {
    chunks.push(tarHeader(`package/${path}`, content.length, mode), content);
    const pad = (512 - (content.length % 512)) % 512;
    if (pad) chunks.push(Buffer.alloc(pad));
  }
  chunks.push(Buffer.alloc(1024));
  // Speed over size: the tarball never leaves the machine.
  return gzipSync(Buffer.concat(chunks), { level: 1 });
}

/** npm package names: check one, or derive one from a folder name. */

import { builtinModules } from "node:module";

const MAX_LENGTH = 214;
const RESERVED = new Set(["node_modules", "favicon.ico"]);

/**
 * Why `name` cannot be an npm package name, or `null` when it can.
 *
 * @example
 * packageNameProblem("my-api")   // null
 * packageNameProblem("My App")   // "it must be lower-case…"
 */
export function packageNameProblem(name: string): string | null {
  if (name.length === 0) return "it is empty";
  if (name.length > MAX_LENGTH) return `it is longer than ${MAX_LENGTH} characters`;
  if (RESERVED.has(name)) return `${name} is a reserved name`;
  if (builtinModules.includes(name)) return `${name} is the name of a Node.js built-in module`;
  const scoped = /^@([^/]+)\/([^/]+)$/.exec(name);
  const parts = scoped ? [scoped[1]!, scoped[2]!] : [name];
  for (const part of parts) {
    if (part.startsWith(".") || part.startsWith("_")) return "it cannot start with a dot or an underscore";
    if (!/^[a-z0-9][a-z0-9\-._~]*$/.test(part)) return "it must be lower-case letters, digits and - . _ ~ only";
  }
  return null;
}

/**
 * The npm package name closest to `input`: lower-case, runs of other characters become one
 * `-`, no leading or trailing punctuation. Returns `input` itself when it is already valid.
 *
 * @example
 * toPackageName("My App!")  // "my-app"
 * toPackageName("@acme/API") // "@acme/api"
 */
export function toPackageName(input: string): string {
  const trimmed = input.trim();
  if (packageNameProblem(trimmed) === null) return trimmed;
  const scoped = /^@([^/]+)\/([^/]+)$/.exec(trimmed);
  const clean = (part: string) =>
    part
      .toLowerCase()
      .replace(/[^a-z0-9\-._~]+/g, "-")
      .replace(/-{2,}/g, "-")
      .replace(/^[-._~]+|[-._~]+$/g, "");
  return scoped ? `@${clean(scoped[1]!)}/${clean(scoped[2]!)}` : clean(trimmed);
}

/**
 * What a request that fails its schemas is told: each issue with its location (`body.email`,
 * `query.limit`, `path.id`), and the checks the runtime makes on a JSON body before any
 * library sees it (depth, NUL, integers past 2^53, prototype keys, unknown fields).
 */

import { HTTPError } from "../errors.js";
import { objectProperties, resolveRef, type JSONSchema } from "./jsonschema.js";
import type { StandardSchemaV1 } from "./standard.js";

/**
 * One reason a request was refused: where (`body.items[2].name`) and why.
 *
 * @example
 * const issue: ValidationIssue = { location: "query.limit", message: "Too big: expected number to be <=100" };
 */
export interface ValidationIssue {
  location: string;
  message: string;
}

/** At most this many issues are listed in a 400 (the rest are counted in its message). @internal */
export const MAX_LISTED_ISSUES = 100;

/**
 * The 400 of a request that failed its schemas; `issues` lists each failure. A handler that
 * overrides `writeError` finds it in `details.error`.
 *
 * @example
 * writeError(status: number, { error }: ErrorDetails) {
 *   if (error instanceof RequestValidationError) this.finish({ errors: error.issues });
 *   else super.writeError(status, { error });
 * }
 */
export class RequestValidationError extends HTTPError {
  override readonly code: string = "ERR_VALIDATION";
  readonly issues: readonly ValidationIssue[];
  constructor(issues: readonly ValidationIssue[], total = issues.length) {
    const shown = issues.slice(0, 3).map((i) => `${i.location}: ${i.message}`).join("; ");
    super(400, `Invalid request: ${shown}${total > 3 ? ` (and ${total - 3} more)` : ""}`);
    this.issues = issues.slice(0, MAX_LISTED_ISSUES);
  }
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * `prefix` followed by an issue path: `.key` for a name, `[2]` for an index, `["a b"]` otherwise.
 *
 * @example
 * issueLocation("body", ["items", 2, "name"]) // "body.items[2].name"
 */
export function issueLocation(prefix: string, path: StandardSchemaV1.Issue["path"]): string {
  let out = prefix;
  for (const segment of path ?? []) {
    const raw = typeof segment === "object" && segment !== null ? segment.key : segment;
    if (typeof raw === "number") {
      out += `[${raw}]`;
      continue;
    }
    // A key comes from the client: a long one is cut, so that a 400 body and its log line stay
    // small whatever the body holds.
    const text = String(raw);
    const cut = text.length > MAX_KEY_IN_LOCATION;
    const key = cut ? text.slice(0, MAX_KEY_IN_LOCATION) : text;
    if (IDENTIFIER.test(key)) out += `.${key}${cut ? "…" : ""}`;
    else out += `[${JSON.stringify(cut ? `${key}…` : key)}]`;
  }
  return out.length > MAX_LOCATION ? `${out.slice(0, MAX_LOCATION)}…` : out;
}

// How much of a client's key, and of a whole location, an issue repeats.
const MAX_KEY_IN_LOCATION = 60;
const MAX_LOCATION = 300;

// Keys that reach an object's prototype when code copies them with `obj[key] = …`.
const PROTOTYPE_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/**
 * Checks a parsed JSON body before validation, iteratively (no recursion, whatever its depth):
 * nesting deeper than `maxDepth`, a NUL in a string or key, an integer past 2^53 (JSON.parse
 * has rounded it), a `__proto__`/`constructor`/`prototype` key. Adds an issue for each.
 *
 * @example
 * const issues: ValidationIssue[] = [];
 * checkJsonBody(JSON.parse('{"n": 9007199254740993}'), 64, issues); // body.n: integer past 2^53
 */
export function checkJsonBody(value: unknown, maxDepth: number, issues: ValidationIssue[]): void {
  // One frame per open array or object (its depth is its place on the stack); a location is
  // spelled out only for an issue, so a body of millions of values makes no string per value.
  const stack: JsonFrame[] = [];
  checkJsonValue(value, null, 0, stack, maxDepth, issues);
  while (stack.length > 0 && issues.length < MAX_LISTED_ISSUES) {
    const frame = stack[stack.length - 1]!;
    const i = frame.next++;
    if (frame.keys === null) {
      if (i < (frame.node as unknown as unknown[]).length) checkJsonValue((frame.node as unknown as unknown[])[i], frame, i, stack, maxDepth, issues);
      else stack.pop();
    } else if (i < frame.keys.length) {
      const key = frame.keys[i]!;
      if (PROTOTYPE_KEYS.has(key)) issues.push({ location: locate(frame, i), message: `The key ${key} is not allowed` });
      else if (key.includes("\0")) issues.push({ location: locate(frame, i), message: "NUL characters are not allowed" });
      else checkJsonValue(frame.node[key], frame, i, stack, maxDepth, issues);
    } else {
      stack.pop();
    }
  }
}

// One value of checkJsonBody: a string, a number, or an array or object pushed on `stack`.
function checkJsonValue(node: unknown, parent: JsonFrame | null, index: number, stack: JsonFrame[], maxDepth: number, issues: ValidationIssue[]): void {
  if (typeof node === "string") {
    if (node.includes("\0")) issues.push({ location: locate(parent, index), message: "NUL characters are not allowed" });
  } else if (typeof node === "number") {
    if (Number.isInteger(node) && !Number.isSafeInteger(node)) {
      issues.push({ location: locate(parent, index), message: "Integer beyond ±(2^53 − 1): it cannot be represented exactly" });
    }
  } else if (node !== null && typeof node === "object") {
    if (stack.length >= maxDepth) issues.push({ location: locate(parent, index), message: `Nested deeper than ${maxDepth} levels` });
    else stack.push({ node: node as Record<string, unknown>, keys: Array.isArray(node) ? null : Object.keys(node), next: 0, parent, index });
  }
}

interface JsonFrame {
  node: Record<string, unknown>;
  keys: string[] | null; // null for an array
  next: number;
  parent: JsonFrame | null;
  index: number; // where this container sits in its parent
}

// The location of child `index` of `frame` ("body" for the body itself).
function locate(frame: JsonFrame | null, index: number): string {
  const path: (string | number)[] = [];
  for (let f = frame, i = index; f !== null; i = f.index, f = f.parent) path.push(f.keys === null ? i : f.keys[i]!);
  return issueLocation("body", path.reverse());
}

/**
 * Adds an issue for each field of `value` that its JSON Schema does not declare, in objects
 * with `properties` that do not allow more (`additionalProperties` absent or false). Inside
 * `anyOf`/`oneOf` it does not look (which branch applies is the library's to say).
 *
 * @example
 * unknownFields({ name: "a", admin: true }, root, root, "body", issues) // body.admin: Unknown field
 */
export function unknownFields(value: unknown, root: JSONSchema, schema: unknown, where: string, issues: ValidationIssue[], depth = 0): void {
  if (value === null || typeof value !== "object" || issues.length >= MAX_LISTED_ISSUES || depth > 256) return;
  const resolved = resolveRef(root, schema);
  if (resolved === null) return;
  if (Array.isArray(value)) {
    const items = resolved.items;
    const prefix = Array.isArray(resolved.prefixItems) ? resolved.prefixItems : [];
    value.forEach((item, i) => {
      const itemSchema = i < prefix.length ? prefix[i] : items;
      if (item !== null && typeof item === "object" && itemSchema !== undefined && typeof itemSchema === "object") unknownFields(item, root, itemSchema, `${where}[${i}]`, issues, depth + 1);
    });
    return;
  }
  const properties = objectProperties(root, resolved);
  if (properties === null) return;
  const extra = resolved.additionalProperties;
  const closed = (extra === undefined || extra === false) && resolved.patternProperties === undefined;
  // A location is spelled out only where it is needed: for an issue, or to look inside a field.
  for (const key of Object.keys(value)) {
    const field = (value as Record<string, unknown>)[key];
    if (properties.has(key)) {
      if (field !== null && typeof field === "object") unknownFields(field, root, properties.get(key), issueLocation(where, [key]), issues, depth + 1);
    } else if (closed) {
      issues.push({ location: issueLocation(where, [key]), message: "Unknown field" });
    }
  }
}

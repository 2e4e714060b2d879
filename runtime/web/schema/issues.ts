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
 * has rounded it), a `__proto__`/`constructor`/`prototype` key. Adds an issue for each. Given
 * the body's JSON Schema (`root`), the same walk adds an issue for each field that the schema
 * does not declare, in objects with `properties` that do not allow more (`additionalProperties`
 * absent or false; inside `anyOf`/`oneOf` it does not look: which branch applies is the
 * library's to say). Returns true when the body may go on to the library: no issue but unknown
 * fields (those are listed together with the library's own; the others are listed alone).
 *
 * @example
 * const issues: ValidationIssue[] = [];
 * checkJsonBody(JSON.parse('{"n": 9007199254740993}'), 64, issues); // body.n: integer past 2^53
 * checkJsonBody({ name: "a", admin: true }, 64, issues, root);      // body.admin: Unknown field
 */
export function checkJsonBody(value: unknown, maxDepth: number, issues: ValidationIssue[], root: JSONSchema | null = null): boolean {
  // One frame per open array or object (its depth is its place on the stack); a location is
  // spelled out only for an issue, so a body of millions of values makes no string per value.
  const walk: JsonWalk = { stack: [], maxDepth, issues, root, unknown: null, hostile: false };
  checkJsonValue(walk, value, null, 0, root);
  const stack = walk.stack;
  while (stack.length > 0 && issues.length < MAX_LISTED_ISSUES) {
    const frame = stack[stack.length - 1]!;
    const i = frame.next++;
    if (frame.keys === null) {
      const items = frame.node as unknown as unknown[];
      if (i < items.length) checkJsonValue(walk, items[i], frame, i, frame.prefix !== null && i < frame.prefix.length ? frame.prefix[i] : frame.items);
      else stack.pop();
    } else if (i < frame.keys.length) {
      const key = frame.keys[i]!;
      if (PROTOTYPE_KEYS.has(key)) hostile(walk, frame, i, `The key ${key} is not allowed`);
      else if (key.includes("\0")) hostile(walk, frame, i, "NUL characters are not allowed");
      else {
        const properties = frame.properties;
        if (properties === null) checkJsonValue(walk, frame.node[key], frame, i, undefined);
        else if (properties.has(key)) checkJsonValue(walk, frame.node[key], frame, i, properties.get(key));
        else {
          if (frame.closed && !walk.hostile && issues.length + (walk.unknown?.length ?? 0) < MAX_LISTED_ISSUES) (walk.unknown ??= []).push({ location: locate(frame, i), message: "Unknown field" });
          checkJsonValue(walk, frame.node[key], frame, i, undefined);
        }
      }
    } else {
      stack.pop();
    }
  }
  if (walk.hostile) return false;
  if (walk.unknown !== null) issues.push(...walk.unknown);
  return true;
}

interface JsonWalk {
  stack: JsonFrame[];
  maxDepth: number;
  issues: ValidationIssue[];
  root: JSONSchema | null;
  unknown: ValidationIssue[] | null; // unknown fields, listed only when nothing hostile is found
  hostile: boolean;
}

function hostile(walk: JsonWalk, parent: JsonFrame | null, index: number, message: string): void {
  walk.hostile = true;
  walk.issues.push({ location: locate(parent, index), message });
}

// One value of checkJsonBody: a string, a number, or an array or object pushed on the stack
// with what its schema (when known) says of its fields or items.
function checkJsonValue(walk: JsonWalk, node: unknown, parent: JsonFrame | null, index: number, schema: unknown): void {
  if (typeof node === "string") {
    if (node.includes("\0")) hostile(walk, parent, index, "NUL characters are not allowed");
  } else if (typeof node === "number") {
    if (Number.isInteger(node) && !Number.isSafeInteger(node)) hostile(walk, parent, index, "Integer beyond ±(2^53 − 1): it cannot be represented exactly");
  } else if (node !== null && typeof node === "object") {
    if (walk.stack.length >= walk.maxDepth) return hostile(walk, parent, index, `Nested deeper than ${walk.maxDepth} levels`);
    const resolved = walk.root === null || schema === undefined ? null : resolveRef(walk.root, schema);
    const frame: JsonFrame = { node: node as Record<string, unknown>, keys: null, next: 0, parent, index, properties: null, closed: false, items: undefined, prefix: null };
    if (Array.isArray(node)) {
      if (resolved !== null) {
        frame.items = resolved.items;
        frame.prefix = Array.isArray(resolved.prefixItems) ? resolved.prefixItems : null;
      }
    } else {
      frame.keys = Object.keys(node);
      if (resolved !== null) {
        frame.properties = objectProperties(walk.root!, resolved);
        const extra = resolved.additionalProperties;
        frame.closed = frame.properties !== null && (extra === undefined || extra === false) && resolved.patternProperties === undefined;
      }
    }
    walk.stack.push(frame);
  }
}

interface JsonFrame {
  node: Record<string, unknown>;
  keys: string[] | null; // null for an array
  next: number;
  parent: JsonFrame | null;
  index: number; // where this container sits in its parent
  properties: Map<string, unknown> | null; // an object's declared fields (null: not known)
  closed: boolean; // an object that allows no other fields
  items: unknown; // an array's item schema
  prefix: unknown[] | null; // an array's prefixItems
}

// The location of child `index` of `frame` ("body" for the body itself).
function locate(frame: JsonFrame | null, index: number): string {
  const path: (string | number)[] = [];
  for (let f = frame, i = index; f !== null; i = f.index, f = f.parent) path.push(f.keys === null ? i : f.keys[i]!);
  return issueLocation("body", path.reverse());
}

/**
 * Where a generator's import goes in an app file: where Biome's organize-imports (the lint of
 * every app) wants it, so `npm run lint` passes after `tornado generate`; and how to take it out
 * again byte for byte.
 */

import { literalText, trailingCommentsEnd, type Edit, type SyntaxNode } from "./syntax.js";

// Biome's categories, farthest first: URLs, sources with a protocol (node:, bun:, npm:),
// packages, aliases (@/, #, ~, $, %), then absolute and relative paths.
function category(source: string): number {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) return 0;
  if (/^[a-z][a-z0-9+.-]*:/i.test(source)) return 1;
  if (/^(@\/|[#~$%])/.test(source)) return 3;
  if (source.startsWith("/") || source.startsWith(".")) return 4;
  return 2;
}

// Biome's order of characters: "/" < "." < "_" < "-" < other punctuation < digits (a run of them
// by its value: a9 < a10) < letters (A < a < B < b).
function rank(char: string): number {
  const index = "/._-".indexOf(char);
  if (index !== -1) return index;
  if (/[0-9]/.test(char)) return 5;
  if (/[a-z]/i.test(char)) return 6;
  return 4;
}

/**
 * Biome's natural order of two names or sources, character by character.
 *
 * @example
 * ["OxHandler", "OxesHandler"].sort(naturalCompare) // ["OxesHandler", "OxHandler"]
 */
export function naturalCompare(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    const rx = rank(x);
    const ry = rank(y);
    if (rx !== ry) return rx - ry;
    if (rx === 5) {
      const left = /^\d+/.exec(a.slice(i))![0];
      const right = /^\d+/.exec(b.slice(j))![0];
      const diff = Number(left) - Number(right);
      if (diff !== 0) return diff;
      i += left.length;
      j += right.length;
      continue;
    }
    if (x !== y) {
      const lx = x.toLowerCase();
      const ly = y.toLowerCase();
      if (lx !== ly) return lx < ly ? -1 : 1;
      return x < y ? -1 : 1; // the capital first
    }
    i++;
    j++;
  }
  return a.length - i - (b.length - j);
}

/**
 * How Biome orders two import sources: by category, then in natural order.
 *
 * @example
 * compareSources("tornado", "./handlers/users.js") < 0 // true
 */
export function compareSources(a: string, b: string): number {
  const ups = (source: string) => /^(\.\.\/)*/.exec(source)![0].length;
  // Of two paths, the farther (more ../) first.
  return category(a) - category(b) || ups(b) - ups(a) || naturalCompare(a, b);
}

const lineStartOf = (text: string, pos: number) => text.lastIndexOf("\n", pos - 1) + 1;
const ownsLine = (text: string, node: SyntaxNode) => /^[ \t]*$/.test(text.slice(lineStartOf(text, node.start), node.start));

// The start of the comment lines right above a line (none: the line's own start).
function commentBlockStart(text: string, lineStart: number): number {
  let start = lineStart;
  while (start > 0) {
    const previous = lineStartOf(text, start - 1);
    const line = text.slice(previous, start - 1).trim();
    if (!(line.startsWith("//") || (line.startsWith("/*") && line.endsWith("*/")))) break;
    start = previous;
  }
  return start;
}

/**
 * The edit that adds `declaration` (an import, without its semicolon) to the file: before the
 * first import of the last run of imports that Biome sorts after it (above that import's
 * comments), else after the run's last import; with a semicolon when its neighbour has one.
 *
 * @example
 * importInsertion(text, program, "./handlers/orders.js", 'import { OrdersHandler } from "./handlers/orders.js"')
 */
export function importInsertion(text: string, program: SyntaxNode, from: string, declaration: string): Edit {
  const body = program.body as SyntaxNode[];
  // Biome sorts runs of imports; a side-effect import (`import "x"`) or any other statement ends one.
  let run: SyntaxNode[] = [];
  let current: SyntaxNode[] = [];
  for (const statement of body) {
    if (statement.type === "ImportDeclaration" && (statement.specifiers as SyntaxNode[]).length > 0) {
      current.push(statement);
      run = current;
    } else {
      current = [];
    }
  }
  const semi = (node: SyntaxNode | undefined) => (node === undefined || text.slice(node.start, node.end).endsWith(";") ? ";" : "");
  if (run.length === 0) {
    const last = body.filter((s) => s.type === "ImportDeclaration").at(-1);
    if (last === undefined) return { start: 0, end: 0, text: `${declaration};\n` };
    const at = trailingCommentsEnd(text, last.end);
    return { start: at, end: at, text: `\n${declaration}${semi(last)}` };
  }
  const next = run.find((node) => compareSources(literalText(node.source) ?? "", from) > 0);
  if (next !== undefined && ownsLine(text, next)) {
    const at = commentBlockStart(text, lineStartOf(text, next.start));
    return { start: at, end: at, text: `${declaration}${semi(next)}\n` };
  }
  const after = next !== undefined ? run[run.indexOf(next) - 1] ?? run.at(-1)! : run.at(-1)!;
  const at = trailingCommentsEnd(text, after.end);
  return { start: at, end: at, text: `\n${declaration}${semi(after)}` };
}

/**
 * The edit that takes an import out, undoing `importInsertion` byte for byte: its line when it
 * has one to itself, else from the end of the statement before it.
 *
 * @example
 * importRemoval(text, program, declaration) // { start: 120, end: 178, text: "" }
 */
export function importRemoval(text: string, program: SyntaxNode, declaration: SyntaxNode): Edit {
  const lineStart = lineStartOf(text, declaration.start);
  if (lineStart === declaration.start && text[declaration.end] === "\n") return { start: declaration.start, end: declaration.end + 1, text: "" };
  const body = program.body as SyntaxNode[];
  const previous = body[body.indexOf(declaration) - 1];
  if (previous !== undefined) return { start: Math.min(trailingCommentsEnd(text, previous.end), declaration.start), end: declaration.end, text: "" };
  return { start: declaration.start, end: text.startsWith("\n", declaration.end) ? declaration.end + 1 : declaration.end, text: "" };
}

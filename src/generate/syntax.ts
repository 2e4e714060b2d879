/**
 * The syntax tree of an app file, from oxc's parser (native code: a few milliseconds to load
 * and parse, where the TypeScript compiler took a third of a second): ESTree nodes with UTF-16
 * offsets, so `text.slice(node.start, node.end)` is the node's source.
 */

import { parseSync } from "oxc-parser";

/**
 * A node of the tree: its ESTree `type`, where it starts and ends in the text, and its fields.
 *
 * @example
 * const node: SyntaxNode = { type: "Identifier", start: 0, end: 3, name: "url" };
 */
export interface SyntaxNode {
  type: string;
  start: number;
  end: number;
  // ESTree's fields differ by node type; readers check `type` first.
  [field: string]: any;
}

/**
 * The app file is not valid TypeScript (so no edit is safe).
 *
 * @example
 * new AppFileSyntaxError("line 3, column 5: Unexpected token")
 */
export class AppFileSyntaxError extends Error {
  readonly code = "ERR_APP_FILE_SYNTAX";
  constructor(readonly detail: string) {
    super(detail);
    this.name = "AppFileSyntaxError";
  }
}

/**
 * Line and column (both from 1) of an offset in the text.
 *
 * @example
 * lineAndColumn("a\nbc", 3) // { line: 2, column: 2 }
 */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf("\n") + 1;
  return { line: before.split("\n").length, column: offset - lineStart + 1 };
}

/**
 * Parses TypeScript (or JavaScript, by the file's extension) into its program node; a syntax
 * error throws `AppFileSyntaxError` naming its line and column.
 *
 * @example
 * parseProgram('import { url } from "tornado";\n', "src/app.ts").body[0].type // "ImportDeclaration"
 */
export function parseProgram(text: string, fileName: string): SyntaxNode {
  const extension = /\.([cm]?[jt]sx?)$/.exec(fileName)?.[1] ?? "ts";
  const lang = extension.endsWith("tsx") ? "tsx" : extension.endsWith("jsx") ? "jsx" : extension.endsWith("js") ? "js" : "ts";
  const result = parseSync(fileName, text, { lang, preserveParens: true });
  const first = result.errors[0];
  if (first !== undefined) {
    const { line, column } = lineAndColumn(text, first.labels[0]?.start ?? 0);
    throw new AppFileSyntaxError(`line ${line}, column ${column}: ${first.message}`);
  }
  return result.program as unknown as SyntaxNode;
}

const isNode = (value: unknown): value is SyntaxNode =>
  typeof value === "object" && value !== null && typeof (value as SyntaxNode).type === "string" && typeof (value as SyntaxNode).start === "number";

/**
 * The node's child nodes, in source order.
 *
 * @example
 * children(program).length === program.body.length // true
 */
export function children(node: SyntaxNode): SyntaxNode[] {
  const found: SyntaxNode[] = [];
  for (const key in node) {
    if (key === "type" || key === "start" || key === "end") continue;
    const value = node[key] as unknown;
    if (Array.isArray(value)) {
      for (const item of value) if (isNode(item)) found.push(item);
    } else if (isNode(value)) found.push(value);
  }
  return found.sort((a, b) => a.start - b.start);
}

/**
 * The first node (in source order, a parent before its children) for which `test` holds; its
 * children are not searched.
 *
 * @example
 * findFirst(program, (n) => n.type === "NewExpression")
 */
export function findFirst(root: SyntaxNode, test: (node: SyntaxNode) => boolean): SyntaxNode | undefined {
  if (test(root)) return root;
  for (const child of children(root)) {
    const found = findFirst(child, test);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * The program's statements with `export` and `export default` taken off: `export function f`
 * is the function declaration.
 *
 * @example
 * declarations(program).find((s) => s.type === "FunctionDeclaration")
 */
export function declarations(program: SyntaxNode): SyntaxNode[] {
  return (program.body as SyntaxNode[]).map((s) =>
    (s.type === "ExportNamedDeclaration" || s.type === "ExportDefaultDeclaration") && isNode(s.declaration) ? s.declaration : s,
  );
}

/**
 * The string a string literal (or a template without substitutions) holds.
 *
 * @example
 * literalText(importDeclaration.source) // "tornado"
 */
export function literalText(node: SyntaxNode | null | undefined): string | undefined {
  if (node == null) return undefined;
  if (node.type === "Literal" && typeof node.value === "string") return node.value;
  if (node.type === "TemplateLiteral" && node.expressions.length === 0) return node.quasis[0]?.value?.cooked ?? undefined;
  return undefined;
}

/**
 * An identifier's name, or undefined for any other node.
 *
 * @example
 * identifierName(call.callee) // "url"
 */
export function identifierName(node: SyntaxNode | null | undefined): string | undefined {
  return node?.type === "Identifier" ? (node.name as string) : undefined;
}

/**
 * Where the comments that follow `pos` on its line end (the same comments TypeScript calls
 * trailing): `pos` itself when there are none.
 *
 * @example
 * trailingCommentsEnd("a, // note\nb", 2) // 10
 */
export function trailingCommentsEnd(text: string, pos: number): number {
  let end = pos;
  let at = pos;
  for (;;) {
    while (text[at] === " " || text[at] === "\t") at++;
    if (text.startsWith("//", at)) {
      const newline = text.indexOf("\n", at);
      end = newline === -1 ? text.length : text[newline - 1] === "\r" ? newline - 1 : newline;
      return end;
    }
    if (!text.startsWith("/*", at)) return end;
    const close = text.indexOf("*/", at + 2);
    if (close === -1) return end;
    end = at = close + 2;
  }
}

/**
 * The offset of the next token at or after `pos`: whitespace, newlines and comments skipped.
 *
 * @example
 * skipTrivia("a /* b *\/ , c", 1) // 10
 */
export function skipTrivia(text: string, pos: number): number {
  let at = pos;
  for (;;) {
    while (/\s/.test(text[at] ?? "")) at++;
    if (text.startsWith("//", at)) {
      const newline = text.indexOf("\n", at);
      if (newline === -1) return text.length;
      at = newline;
    } else if (text.startsWith("/*", at)) {
      const close = text.indexOf("*/", at + 2);
      if (close === -1) return text.length;
      at = close + 2;
    } else {
      return at;
    }
  }
}

/**
 * One replacement in a text: `text` in place of what is between `start` and `end`.
 *
 * @example
 * const edit: Edit = { start: 10, end: 10, text: "\nimport { A } from \"./a.js\";" };
 */
export interface Edit {
  start: number;
  end: number;
  text: string;
}

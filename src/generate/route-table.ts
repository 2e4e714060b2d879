/**
 * Editing an app's route table through its syntax tree (oxc's parser, see syntax.ts): find the
 * list `makeApp` hands to `new Application(...)`, add or remove an import and routes, and touch
 * no other byte, so the user's formatting and comments survive and a removal undoes an addition
 * exactly.
 */

import { expandPathParameters } from "../../runtime/routing/path.js";
import { importInsertion, importRemoval, naturalCompare } from "./import-order.js";
import { AppFileSyntaxError, declarations, findFirst, identifierName, literalText, parseProgram, skipTrivia, trailingCommentsEnd, type Edit, type SyntaxNode } from "./syntax.js";

export { AppFileSyntaxError, type Edit };

/**
 * One route as a generator writes it.
 *
 * @example
 * const route: RouteEntry = { pattern: "/users/:id", handler: "UserHandler", name: "user" };
 */
export interface RouteEntry {
  pattern: string;
  handler: string;
  name?: string;
}

/**
 * What a generator registers in the app: one import and its routes.
 *
 * @example
 * const reg: RouteRegistration = { importFrom: "./handlers/users.js", names: ["UserHandler", "UsersHandler"], routes };
 */
export interface RouteRegistration {
  /** The module specifier, as written in the import: `./handlers/users.js`. */
  importFrom: string;
  /** The names imported from it. */
  names: string[];
  routes: RouteEntry[];
}

/**
 * The route list could not be found; `looked` says where the search went.
 *
 * @example
 * try { locateRoutes(text, "src/app.ts") } catch (e) { if (e instanceof RouteListNotFound) console.log(e.looked) }
 */
export class RouteListNotFound extends Error {
  readonly code = "ERR_ROUTE_LIST_NOT_FOUND";
  constructor(readonly looked: string) {
    super(`no route list found: ${looked}`);
    this.name = "RouteListNotFound";
  }
}

/**
 * A route found in the list: its pattern, handler identifier and name when written literally.
 *
 * @example
 * locateRoutes(text, "src/app.ts").routes[0] // { pattern: "/health", handler: "HealthHandler", name: "health", … }
 */
export interface ExistingRoute extends Partial<RouteEntry> {
  node: SyntaxNode;
  style: "url" | "tuple" | "other";
}

/**
 * The parsed app file with its route list.
 *
 * @example
 * const table = locateRoutes(readFileSync("src/app.ts", "utf8"), "src/app.ts");
 */
export interface RouteTable {
  /** The whole file's syntax tree (its program node) and text. */
  source: SyntaxNode;
  text: string;
  /** The array literal: its `elements` are the routes' nodes. */
  list: SyntaxNode;
  routes: ExistingRoute[];
  /** The identifier `url` is bound to, when the file imports it from "tornado". */
  urlName: string | undefined;
}

const WRAPPERS = new Set(["ParenthesizedExpression", "TSAsExpression", "TSSatisfiesExpression", "TSTypeAssertion"]);

const unwrap = (node: SyntaxNode): SyntaxNode => {
  let current = node;
  while (WRAPPERS.has(current.type)) current = current.expression as SyntaxNode;
  return current;
};

const imports = (source: SyntaxNode): SyntaxNode[] => (source.body as SyntaxNode[]).filter((s) => s.type === "ImportDeclaration");

function importedName(source: SyntaxNode, exported: string): string | undefined {
  for (const statement of imports(source)) {
    const from = literalText(statement.source);
    if (!(from === "tornado" || from?.startsWith("tornado/"))) continue;
    for (const spec of statement.specifiers as SyntaxNode[]) {
      if (spec.type !== "ImportSpecifier") continue;
      if ((identifierName(spec.imported) ?? literalText(spec.imported)) === exported) return identifierName(spec.local);
    }
  }
  return undefined;
}

function findMakeApp(source: SyntaxNode): SyntaxNode | undefined {
  for (const statement of declarations(source)) {
    if (statement.type === "FunctionDeclaration" && identifierName(statement.id) === "makeApp") return statement;
    if (statement.type === "VariableDeclaration") {
      for (const decl of statement.declarations as SyntaxNode[]) {
        if (identifierName(decl.id) === "makeApp" && decl.init != null) return decl.init as SyntaxNode;
      }
    }
  }
  return undefined;
}

function findArrayVariable(scopes: SyntaxNode[], name: string): SyntaxNode | undefined {
  for (const scope of scopes) {
    const found = findFirst(scope, (node) => node.type === "VariableDeclarator" && identifierName(node.id) === name && node.init != null && unwrap(node.init).type === "ArrayExpression");
    if (found !== undefined) return unwrap(found.init);
  }
  return undefined;
}

function describeRoute(node: SyntaxNode, urlName: string | undefined): ExistingRoute {
  const expr = unwrap(node);
  const callee = expr.type === "CallExpression" ? identifierName(expr.callee) : undefined;
  if (callee !== undefined && (callee === urlName || callee === "url")) {
    const [pattern, handler, options] = expr.arguments as (SyntaxNode | undefined)[];
    let name: string | undefined;
    if (options?.type === "ObjectExpression") {
      for (const prop of options.properties as SyntaxNode[]) {
        if (prop.type === "Property" && prop.kind === "init" && !prop.method && !prop.shorthand && !prop.computed && identifierName(prop.key) === "name") name = literalText(prop.value);
      }
    }
    return { node, style: "url", pattern: literalText(pattern), handler: identifierName(handler), name };
  }
  if (expr.type === "ArrayExpression") {
    const [pattern, handler] = expr.elements as (SyntaxNode | null)[];
    return { node, style: "tuple", pattern: literalText(pattern), handler: identifierName(handler) };
  }
  return { node, style: "other" };
}

/**
 * Parses an app file and finds its route list: the array passed first to
 * `new Application(...)` inside `makeApp` (written inline, or a variable declared in `makeApp`
 * or at the top of the file).
 *
 * @example
 * locateRoutes(text, "src/app.ts").routes.map((r) => r.pattern) // ["/health", "/users", …]
 */
export function locateRoutes(text: string, fileName: string): RouteTable {
  const source = parseProgram(text, fileName);
  const makeApp = findMakeApp(source);
  if (makeApp === undefined) throw new RouteListNotFound(`${fileName} declares no function named makeApp`);
  const applicationName = importedName(source, "Application") ?? "Application";
  const creation = findFirst(makeApp, (node) => node.type === "NewExpression" && identifierName(node.callee) === applicationName);
  if (creation === undefined) throw new RouteListNotFound(`makeApp in ${fileName} has no \`new ${applicationName}(...)\``);
  const first = (creation.arguments as SyntaxNode[])[0];
  if (first === undefined) throw new RouteListNotFound(`\`new ${applicationName}()\` in makeApp (${fileName}) is given no route list`);
  const routesArg = unwrap(first);
  let list: SyntaxNode | undefined;
  if (routesArg.type === "ArrayExpression") list = routesArg;
  else if (routesArg.type === "Identifier") list = findArrayVariable([makeApp, source], routesArg.name as string);
  if (list === undefined) {
    throw new RouteListNotFound(
      `the first argument of \`new ${applicationName}(...)\` in makeApp (${fileName}) is \`${text.slice(first.start, first.end)}\`, not an array literal or a variable holding one`,
    );
  }
  if ((list.elements as (SyntaxNode | null)[]).includes(null)) {
    throw new RouteListNotFound(`the route list in makeApp (${fileName}) has an empty slot (two commas in a row), which Application cannot take`);
  }
  const urlName = importedName(source, "url");
  return { source, text, list, routes: (list.elements as SyntaxNode[]).map((node) => describeRoute(node, urlName)), urlName };
}

/**
 * Whether two route patterns match the same paths (`/users/:id` is `/users/(?<id>[^/]+)`).
 *
 * @example
 * samePattern("/users/:id", "/users/(?<id>[^/]+)") // true
 */
export function samePattern(a: string, b: string): boolean {
  return expandPathParameters(a) === expandPathParameters(b);
}

function applyEdits(text: string, edits: Edit[]): string {
  let out = text;
  // From the end backwards; of two edits at one place, the one listed first ends up first.
  const ordered = edits.map((edit, index) => ({ edit, index })).sort((a, b) => b.edit.start - a.edit.start || b.index - a.index);
  for (const { edit } of ordered) out = out.slice(0, edit.start) + edit.text + out.slice(edit.end);
  return out;
}

const isCatchAll = (pattern: string | undefined) => pattern !== undefined && /^\^?\/?\(?\.\*\)?\$?$/.test(pattern);

function quoteStyle(source: SyntaxNode, text: string): string {
  const first = imports(source)[0];
  return first !== undefined && text[first.source.start] === "'" ? "'" : '"';
}

/** The line width of Biome's formatter in every app (biome.json): a longer line is wrapped as Biome wraps it. */
const LINE_WIDTH = 120;

function renderRoute(route: RouteEntry, style: "url" | "tuple", urlName: string, q: string, indent?: string): string {
  const str = (s: string) => `${q}${s.replace(/\\/g, "\\\\").replace(new RegExp(q, "g"), `\\${q}`)}${q}`;
  if (style === "tuple") return `[${str(route.pattern)}, ${route.handler}]`;
  const line = `${urlName}(${str(route.pattern)}, ${route.handler}${route.name !== undefined ? `, { name: ${str(route.name)} }` : ""})`;
  if (indent === undefined || route.name === undefined || indent.length + line.length + 1 <= LINE_WIDTH) return line;
  // Biome's wrapping of a call whose last argument is an object: the object opened on the line.
  return `${urlName}(${str(route.pattern)}, ${route.handler}, {\n${indent}  name: ${str(route.name)},\n${indent}})`;
}

// The indent of the list's elements when it has one element a line (else none: no wrapping).
function multilineIndent(text: string, list: SyntaxNode): string | undefined {
  const first = (list.elements as SyntaxNode[])[0];
  if (!text.slice(list.start, list.end).includes("\n")) return undefined;
  return first !== undefined ? lineIndent(text, first.start) : `${lineIndent(text, list.start)}  `;
}

function lineIndent(text: string, pos: number): string {
  const lineStart = text.lastIndexOf("\n", pos - 1) + 1;
  return /^[ \t]*/.exec(text.slice(lineStart))![0];
}

// Where an element's line ends: past its comma (if any) and same-line comments. `comma` is
// the comma's position, `lineEnd` where a new line may be inserted, and `clean` says whether
// only whitespace follows up to the newline (the element ends its line).
function elementTail(text: string, element: SyntaxNode): { comma: number | undefined; lineEnd: number; clean: boolean } {
  let at = element.end;
  while (/[ \t]/.test(text[at] ?? "")) at++;
  const comma = text[at] === "," ? at : undefined;
  const anchor = comma !== undefined ? comma + 1 : element.end;
  const lineEnd = trailingCommentsEnd(text, anchor);
  const rest = /^[ \t]*/.exec(text.slice(lineEnd))![0].length;
  const clean = lineEnd + rest >= text.length || text[lineEnd + rest] === "\n" || text[lineEnd + rest] === "\r";
  return { comma, lineEnd, clean };
}

// Whether an element starts its own line; gives the position of the newline before it.
function ownLineStart(text: string, element: SyntaxNode): number | undefined {
  const start = element.start;
  const newline = text.lastIndexOf("\n", start - 1);
  return newline !== -1 && /^[ \t]*$/.test(text.slice(newline + 1, start)) ? newline : undefined;
}

/**
 * What `addRoutes` did.
 *
 * @example
 * const { text, added, present } = addRoutes(appText, "src/app.ts", reg);
 */
export interface AddResult {
  text: string;
  importAdded: boolean;
  added: RouteEntry[];
  /** Routes that were already in the list (left as they are). */
  present: RouteEntry[];
}

/**
 * Adds the import and the routes to an app file's route list, before a trailing catch-all
 * route if there is one; a route whose pattern is already listed and an import already
 * present are left alone, so running it twice changes nothing the second time.
 *
 * @example
 * addRoutes(appText, "src/app.ts", { importFrom: "./handlers/orders.js", names: ["OrderHandler", "OrdersHandler"], routes }).text
 */
export function addRoutes(text: string, fileName: string, reg: RouteRegistration): AddResult {
  const table = locateRoutes(text, fileName);
  const { source, list } = table;
  const q = quoteStyle(source, text);
  const edits: Edit[] = [];

  const present = reg.routes.filter((r) => table.routes.some((e) => e.pattern !== undefined && samePattern(e.pattern, r.pattern)));
  const added = reg.routes.filter((r) => !present.includes(r));
  const usedNames = new Set(table.routes.map((e) => e.name).filter((n) => n !== undefined));
  if (added.length > 0) {
    const style = table.routes.some((e) => e.style === "url") || (table.routes.length === 0 && table.urlName !== undefined) ? "url" : "tuple";
    const urlName = table.urlName ?? "url";
    // A route name already taken would make Application throw; such a route is added unnamed.
    const elementIndent = multilineIndent(text, list);
    const rendered = added.map((r) => renderRoute({ ...r, name: r.name !== undefined && usedNames.has(r.name) ? undefined : r.name }, style, urlName, q, elementIndent));
    const elements = list.elements as SyntaxNode[];
    let insertAt = elements.length;
    while (insertAt > 0 && isCatchAll(table.routes[insertAt - 1]!.pattern)) insertAt--;
    const multiline = text.slice(list.start, list.end).includes("\n");
    const separator = (anchor: number) => (multiline ? `\n${lineIndent(text, anchor)}` : " ");
    const previous = insertAt > 0 ? elements[insertAt - 1]! : undefined;
    const tail = previous !== undefined ? elementTail(text, previous) : undefined;
    if (previous !== undefined && multiline && tail!.clean) {
      // One route a line, after the previous route's line and its comments.
      const sep = separator(previous.start);
      if (tail!.comma !== undefined) {
        edits.push({ start: tail!.lineEnd, end: tail!.lineEnd, text: rendered.map((r) => `${sep}${r},`).join("") });
      } else {
        // The list had no trailing comma: the previous route gets one, the last new one none.
        edits.push({ start: previous.end, end: previous.end, text: "," });
        edits.push({ start: tail!.lineEnd, end: tail!.lineEnd, text: rendered.map((r) => `${sep}${r}`).join(",") });
      }
    } else if (previous !== undefined) {
      const sep = separator(previous.start);
      edits.push({ start: previous.end, end: previous.end, text: rendered.map((r) => `,${sep}${r}`).join("") });
    } else if (elements.length > 0) {
      const next = elements[0]!;
      const sep = separator(next.start);
      edits.push({ start: next.start, end: next.start, text: rendered.map((r) => `${r},${sep}`).join("") });
    } else {
      const open = list.start + 1;
      edits.push({ start: open, end: open, text: rendered.join(", ") });
    }
  }

  const existingImport = imports(source).find((s) => literalText(s.source) === reg.importFrom);
  let importAdded = false;
  if (existingImport === undefined && added.length > 0) {
    const names = [...reg.names].sort(naturalCompare);
    let declaration = `import { ${names.join(", ")} } from ${q}${reg.importFrom}${q}`;
    // Past the line width, Biome puts each name on a line of its own.
    if (declaration.length + 1 > LINE_WIDTH) declaration = `import {\n${names.map((n) => `  ${n},\n`).join("")}} from ${q}${reg.importFrom}${q}`;
    edits.push(importInsertion(text, source, reg.importFrom, declaration));
    importAdded = true;
  }
  return { text: applyEdits(text, edits), importAdded, added, present };
}

/**
 * What `removeRoutes` did.
 *
 * @example
 * removeRoutes(appText, "src/app.ts", reg).removed.length // 2
 */
export interface RemoveResult {
  text: string;
  importRemoved: boolean;
  removed: RouteEntry[];
}

/**
 * Removes routes (matched by pattern and handler) and the import a generator added: the exact
 * inverse of `addRoutes`, so a file nobody edited in between comes back byte for byte.
 *
 * @example
 * removeRoutes(appText, "src/app.ts", reg).text === originalText // true
 */
export function removeRoutes(text: string, fileName: string, reg: RouteRegistration): RemoveResult {
  const table = locateRoutes(text, fileName);
  const { source, list } = table;
  const edits: Edit[] = [];
  const removed: RouteEntry[] = [];
  const doomed = new Set<number>();
  table.routes.forEach((route, index) => {
    const match = reg.routes.find((r) => route.pattern !== undefined && samePattern(route.pattern, r.pattern) && route.handler === r.handler);
    if (match !== undefined) {
      doomed.add(index);
      removed.push(match);
    }
  });
  const elements = list.elements as SyntaxNode[];
  const multiline = text.slice(list.start, list.end).includes("\n");
  // Removing element k takes from the end of the last kept element before it to its own
  // end: the inverse of inserting ",<newline><indent>element" after that element.
  let index = 0;
  while (index < elements.length) {
    if (!doomed.has(index)) {
      index++;
      continue;
    }
    let runEnd = index;
    while (doomed.has(runEnd + 1)) runEnd++;
    const last = elements[runEnd]!;
    const run = elements.slice(index, runEnd + 1);
    const lineStart = ownLineStart(text, elements[index]!);
    const ownLines = multiline && index > 0 && lineStart !== undefined && run.every((e) => ownLineStart(text, e) !== undefined && elementTail(text, e).clean);
    const lastTail = elementTail(text, last);
    if (ownLines && lastTail.comma !== undefined) {
      edits.push({ start: lineStart, end: lastTail.comma + 1, text: "" });
    } else if (ownLines && elementTail(text, elements[index - 1]!).comma !== undefined) {
      // The run ends the list and the list has no trailing comma: the route before it gives
      // back the comma it was lent.
      const comma = elementTail(text, elements[index - 1]!).comma!;
      edits.push({ start: comma, end: comma + 1, text: "" });
      edits.push({ start: lineStart, end: last.end, text: "" });
    } else if (index > 0) {
      edits.push({ start: elements[index - 1]!.end, end: last.end, text: "" });
    } else if (runEnd + 1 < elements.length) {
      edits.push({ start: elements[0]!.start, end: elements[runEnd + 1]!.start, text: "" });
    } else {
      // Every element goes: keep the brackets and what is outside the elements.
      const after = skipTrivia(text, last.end);
      const trailingComma = text[after] === "," ? after + 1 : last.end;
      edits.push({ start: elements[0]!.start, end: trailingComma, text: "" });
    }
    index = runEnd + 1;
  }

  let importRemoved = false;
  const declaration = imports(source).find((s) => literalText(s.source) === reg.importFrom);
  if (declaration !== undefined && removed.length > 0) {
    const specifiers = declaration.specifiers as SyntaxNode[];
    const names = specifiers.filter((e) => e.type === "ImportSpecifier").map((e) => identifierName(e.local));
    const ours = names.every((n) => n !== undefined && reg.names.includes(n)) && !specifiers.some((e) => e.type === "ImportDefaultSpecifier");
    if (ours) {
      edits.push(importRemoval(text, source, declaration));
      importRemoved = true;
    }
  }
  return { text: applyEdits(text, edits), importRemoved, removed };
}

/**
 * Whether the file binds `name` at the top level (an import or a declaration), and where from.
 *
 * @example
 * topLevelBinding(source, "UsersHandler") // "./handlers/users.js"
 */
export function topLevelBinding(source: SyntaxNode, name: string): string | undefined {
  for (const statement of declarations(source)) {
    if (statement.type === "ImportDeclaration") {
      if ((statement.specifiers as SyntaxNode[]).some((spec) => identifierName(spec.local) === name)) return literalText(statement.source) ?? "an import";
    } else if ((statement.type === "ClassDeclaration" || statement.type === "FunctionDeclaration") && identifierName(statement.id) === name) {
      return "this file";
    } else if (statement.type === "VariableDeclaration" && (statement.declarations as SyntaxNode[]).some((d) => identifierName(d.id) === name)) {
      return "this file";
    }
  }
  return undefined;
}

/**
 * Editing an app's route table through TypeScript's syntax tree: find the list `makeApp`
 * hands to `new Application(...)`, add or remove an import and routes, and touch no other
 * byte, so the user's formatting and comments survive and a removal undoes an addition
 * exactly.
 */

import type * as TS from "typescript";
import { expandPathParameters } from "../../runtime/routing.js";
import { loadTypeScript } from "./typescript.js";

const ts = loadTypeScript();

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
 * The app file is not valid TypeScript (so no edit is safe).
 *
 * @example
 * new AppFileSyntaxError("line 3: ';' expected")
 */
export class AppFileSyntaxError extends Error {
  readonly code = "ERR_APP_FILE_SYNTAX";
  constructor(readonly detail: string) {
    super(detail);
    this.name = "AppFileSyntaxError";
  }
}

/**
 * A route found in the list: its pattern, handler identifier and name when written literally.
 *
 * @example
 * locateRoutes(text, "src/app.ts").routes[0] // { pattern: "/health", handler: "HealthHandler", name: "health", … }
 */
export interface ExistingRoute extends Partial<RouteEntry> {
  node: TS.Expression;
  style: "url" | "tuple" | "other";
}

/**
 * The parsed app file with its route list.
 *
 * @example
 * const table = locateRoutes(readFileSync("src/app.ts", "utf8"), "src/app.ts");
 */
export interface RouteTable {
  source: TS.SourceFile;
  list: TS.ArrayLiteralExpression;
  routes: ExistingRoute[];
  /** The identifier `url` is bound to, when the file imports it from "tornado". */
  urlName: string | undefined;
}

const unwrap = (node: TS.Expression): TS.Expression => {
  let current = node;
  while (ts.isParenthesizedExpression(current) || ts.isAsExpression(current) || ts.isSatisfiesExpression(current) || ts.isTypeAssertionExpression(current)) {
    current = current.expression;
  }
  return current;
};

const literalText = (node: TS.Node | undefined): string | undefined =>
  node !== undefined && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : undefined;

function parse(text: string, fileName: string): TS.SourceFile {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  // Syntax errors are on the source file itself; no program (and no type check) is needed.
  const diagnostics = (source as unknown as { parseDiagnostics?: TS.Diagnostic[] }).parseDiagnostics ?? [];
  const first = diagnostics[0];
  if (first !== undefined) {
    const { line, character } = source.getLineAndCharacterOfPosition(first.start ?? 0);
    throw new AppFileSyntaxError(`line ${line + 1}, column ${character + 1}: ${ts.flattenDiagnosticMessageText(first.messageText, " ")}`);
  }
  return source;
}

function importedName(source: TS.SourceFile, exported: string): string | undefined {
  for (const statement of source.statements) {
    const from = literalText((statement as TS.ImportDeclaration).moduleSpecifier ?? undefined);
    if (!ts.isImportDeclaration(statement) || !(from === "tornado" || from?.startsWith("tornado/"))) continue;
    const bindings = statement.importClause?.namedBindings;
    if (bindings === undefined || !ts.isNamedImports(bindings)) continue;
    for (const spec of bindings.elements) {
      if ((spec.propertyName ?? spec.name).text === exported) return spec.name.text;
    }
  }
  return undefined;
}

function findMakeApp(source: TS.SourceFile): TS.Node | undefined {
  for (const statement of source.statements) {
    if (ts.isFunctionDeclaration(statement) && statement.name?.text === "makeApp") return statement;
    if (ts.isVariableStatement(statement)) {
      for (const decl of statement.declarationList.declarations) {
        if (ts.isIdentifier(decl.name) && decl.name.text === "makeApp" && decl.initializer !== undefined) return decl.initializer;
      }
    }
  }
  return undefined;
}

function findArrayVariable(scopes: TS.Node[], name: string): TS.ArrayLiteralExpression | undefined {
  let found: TS.ArrayLiteralExpression | undefined;
  const visit = (node: TS.Node) => {
    if (found !== undefined) return;
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.name.text === name && node.initializer !== undefined) {
      const init = unwrap(node.initializer);
      if (ts.isArrayLiteralExpression(init)) found = init;
    }
    ts.forEachChild(node, visit);
  };
  for (const scope of scopes) visit(scope);
  return found;
}

function describeRoute(node: TS.Expression, urlName: string | undefined): ExistingRoute {
  const expr = unwrap(node);
  if (ts.isCallExpression(expr) && ts.isIdentifier(expr.expression) && (expr.expression.text === urlName || expr.expression.text === "url")) {
    const [pattern, handler, options] = expr.arguments;
    let name: string | undefined;
    if (options !== undefined && ts.isObjectLiteralExpression(options)) {
      for (const prop of options.properties) {
        if (ts.isPropertyAssignment(prop) && ts.isIdentifier(prop.name) && prop.name.text === "name") name = literalText(prop.initializer);
      }
    }
    return { node, style: "url", pattern: literalText(pattern), handler: handler !== undefined && ts.isIdentifier(handler) ? handler.text : undefined, name };
  }
  if (ts.isArrayLiteralExpression(expr)) {
    const [pattern, handler] = expr.elements;
    return { node, style: "tuple", pattern: literalText(pattern), handler: handler !== undefined && ts.isIdentifier(handler) ? handler.text : undefined };
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
  const source = parse(text, fileName);
  const makeApp = findMakeApp(source);
  if (makeApp === undefined) throw new RouteListNotFound(`${fileName} declares no function named makeApp`);
  const applicationName = importedName(source, "Application") ?? "Application";
  let creation: TS.NewExpression | undefined;
  const visit = (node: TS.Node) => {
    if (creation !== undefined) return;
    if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === applicationName) creation = node;
    else ts.forEachChild(node, visit);
  };
  visit(makeApp);
  if (creation === undefined) throw new RouteListNotFound(`makeApp in ${fileName} has no \`new ${applicationName}(...)\``);
  const first = creation.arguments?.[0];
  if (first === undefined) throw new RouteListNotFound(`\`new ${applicationName}()\` in makeApp (${fileName}) is given no route list`);
  const routesArg = unwrap(first);
  let list: TS.ArrayLiteralExpression | undefined;
  if (ts.isArrayLiteralExpression(routesArg)) list = routesArg;
  else if (ts.isIdentifier(routesArg)) list = findArrayVariable([makeApp, source], routesArg.text);
  if (list === undefined) {
    throw new RouteListNotFound(
      `the first argument of \`new ${applicationName}(...)\` in makeApp (${fileName}) is \`${first.getText(source)}\`, not an array literal or a variable holding one`,
    );
  }
  const urlName = importedName(source, "url");
  return { source, list, routes: list.elements.map((node) => describeRoute(node, urlName)), urlName };
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

interface Edit {
  start: number;
  end: number;
  text: string;
}

function applyEdits(text: string, edits: Edit[]): string {
  let out = text;
  // From the end backwards; of two edits at one place, the one listed first ends up first.
  const ordered = edits.map((edit, index) => ({ edit, index })).sort((a, b) => b.edit.start - a.edit.start || b.index - a.index);
  for (const { edit } of ordered) out = out.slice(0, edit.start) + edit.text + out.slice(edit.end);
  return out;
}

const isCatchAll = (pattern: string | undefined) => pattern !== undefined && /^\^?\/?\(?\.\*\)?\$?$/.test(pattern);

function quoteStyle(source: TS.SourceFile): string {
  const first = source.statements.find(ts.isImportDeclaration);
  return first?.moduleSpecifier.getText(source).startsWith("'") ? "'" : '"';
}

function renderRoute(route: RouteEntry, style: "url" | "tuple", urlName: string, q: string): string {
  const str = (s: string) => `${q}${s.replace(/\\/g, "\\\\").replace(new RegExp(q, "g"), `\\${q}`)}${q}`;
  if (style === "tuple") return `[${str(route.pattern)}, ${route.handler}]`;
  return `${urlName}(${str(route.pattern)}, ${route.handler}${route.name !== undefined ? `, { name: ${str(route.name)} }` : ""})`;
}

function lineIndent(text: string, pos: number): string {
  const lineStart = text.lastIndexOf("\n", pos - 1) + 1;
  return /^[ \t]*/.exec(text.slice(lineStart))![0];
}

// Where an element's line ends: past its comma (if any) and same-line comments. `comma` is
// the comma's position, `lineEnd` where a new line may be inserted, and `clean` says whether
// only whitespace follows up to the newline (the element ends its line).
function elementTail(text: string, element: TS.Node): { comma: number | undefined; lineEnd: number; clean: boolean } {
  let at = element.end;
  while (/[ \t]/.test(text[at] ?? "")) at++;
  const comma = text[at] === "," ? at : undefined;
  const anchor = comma !== undefined ? comma + 1 : element.end;
  const comments = ts.getTrailingCommentRanges(text, anchor) ?? [];
  const lineEnd = comments.length > 0 ? comments[comments.length - 1]!.end : anchor;
  const rest = /^[ \t]*/.exec(text.slice(lineEnd))![0].length;
  const clean = lineEnd + rest >= text.length || text[lineEnd + rest] === "\n" || text[lineEnd + rest] === "\r";
  return { comma, lineEnd, clean };
}

// Whether an element starts its own line; gives the position of the newline before it.
function ownLineStart(text: string, element: TS.Node, source: TS.SourceFile): number | undefined {
  const start = element.getStart(source);
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
  const q = quoteStyle(source);
  const edits: Edit[] = [];

  const present = reg.routes.filter((r) => table.routes.some((e) => e.pattern !== undefined && samePattern(e.pattern, r.pattern)));
  const added = reg.routes.filter((r) => !present.includes(r));
  const usedNames = new Set(table.routes.map((e) => e.name).filter((n) => n !== undefined));
  if (added.length > 0) {
    const style = table.routes.some((e) => e.style === "url") || (table.routes.length === 0 && table.urlName !== undefined) ? "url" : "tuple";
    const urlName = table.urlName ?? "url";
    // A route name already taken would make Application throw; such a route is added unnamed.
    const rendered = added.map((r) => renderRoute({ ...r, name: r.name !== undefined && usedNames.has(r.name) ? undefined : r.name }, style, urlName, q));
    const elements = list.elements;
    let insertAt = elements.length;
    while (insertAt > 0 && isCatchAll(table.routes[insertAt - 1]!.pattern)) insertAt--;
    const multiline = text.slice(list.getStart(source), list.end).includes("\n");
    const separator = (anchor: number) => (multiline ? `\n${lineIndent(text, anchor)}` : " ");
    const previous = insertAt > 0 ? elements[insertAt - 1]! : undefined;
    const tail = previous !== undefined ? elementTail(text, previous) : undefined;
    if (previous !== undefined && multiline && tail!.clean) {
      // One route a line, after the previous route's line and its comments.
      const sep = separator(previous.getStart(source));
      if (tail!.comma !== undefined) {
        edits.push({ start: tail!.lineEnd, end: tail!.lineEnd, text: rendered.map((r) => `${sep}${r},`).join("") });
      } else {
        // The list had no trailing comma: the previous route gets one, the last new one none.
        edits.push({ start: previous.end, end: previous.end, text: "," });
        edits.push({ start: tail!.lineEnd, end: tail!.lineEnd, text: rendered.map((r) => `${sep}${r}`).join(",") });
      }
    } else if (previous !== undefined) {
      const sep = separator(previous.getStart(source));
      edits.push({ start: previous.end, end: previous.end, text: rendered.map((r) => `,${sep}${r}`).join("") });
    } else if (elements.length > 0) {
      const next = elements[0]!;
      const sep = separator(next.getStart(source));
      edits.push({ start: next.getStart(source), end: next.getStart(source), text: rendered.map((r) => `${r},${sep}`).join("") });
    } else {
      const open = list.getStart(source) + 1;
      edits.push({ start: open, end: open, text: rendered.join(", ") });
    }
  }

  const existingImport = source.statements.find((s): s is TS.ImportDeclaration => ts.isImportDeclaration(s) && literalText(s.moduleSpecifier) === reg.importFrom);
  let importAdded = false;
  if (existingImport === undefined && added.length > 0) {
    const imports = source.statements.filter(ts.isImportDeclaration);
    const last = imports[imports.length - 1];
    const semi = last === undefined || last.getText(source).endsWith(";") ? ";" : "";
    const declaration = `import { ${[...reg.names].sort().join(", ")} } from ${q}${reg.importFrom}${q}${semi}`;
    if (last !== undefined) edits.push({ start: last.end, end: last.end, text: `\n${declaration}` });
    else edits.push({ start: 0, end: 0, text: `${declaration}\n` });
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
  const elements = list.elements;
  const multiline = text.slice(list.getStart(source), list.end).includes("\n");
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
    const lineStart = ownLineStart(text, elements[index]!, source);
    const ownLines = multiline && index > 0 && lineStart !== undefined && run.every((e) => ownLineStart(text, e, source) !== undefined && elementTail(text, e).clean);
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
      edits.push({ start: elements[0]!.getStart(source), end: elements[runEnd + 1]!.getStart(source), text: "" });
    } else {
      // Every element goes: keep the brackets and what is outside the elements.
      const trailingComma = list.elements.hasTrailingComma ? text.indexOf(",", last.end) + 1 : last.end;
      edits.push({ start: elements[0]!.getStart(source), end: trailingComma, text: "" });
    }
    index = runEnd + 1;
  }

  let importRemoved = false;
  const statements = source.statements;
  const at = statements.findIndex((s) => ts.isImportDeclaration(s) && literalText(s.moduleSpecifier) === reg.importFrom);
  if (at !== -1 && removed.length > 0) {
    const declaration = statements[at] as TS.ImportDeclaration;
    const bindings = declaration.importClause?.namedBindings;
    const names = bindings !== undefined && ts.isNamedImports(bindings) ? bindings.elements.map((e) => e.name.text) : [];
    const ours = names.every((n) => reg.names.includes(n)) && declaration.importClause?.name === undefined;
    if (ours) {
      if (at > 0) edits.push({ start: statements[at - 1]!.end, end: declaration.end, text: "" });
      else edits.push({ start: declaration.getStart(source), end: text.startsWith("\n", declaration.end) ? declaration.end + 1 : declaration.end, text: "" });
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
export function topLevelBinding(source: TS.SourceFile, name: string): string | undefined {
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause;
      const bindings = clause?.namedBindings;
      const names = [clause?.name?.text, ...(bindings && ts.isNamedImports(bindings) ? bindings.elements.map((e) => e.name.text) : []), bindings && ts.isNamespaceImport(bindings) ? bindings.name.text : undefined];
      if (names.includes(name)) return literalText(statement.moduleSpecifier) ?? "an import";
    } else if ((ts.isClassDeclaration(statement) || ts.isFunctionDeclaration(statement)) && statement.name?.text === name) {
      return "this file";
    } else if (ts.isVariableStatement(statement) && statement.declarationList.declarations.some((d) => ts.isIdentifier(d.name) && d.name.text === name)) {
      return "this file";
    }
  }
  return undefined;
}

/** The app's route table, read from the app itself: what `tornado routes` prints. */

import { existsSync } from "node:fs";
import { isAbsolute, join, relative, sep } from "node:path";
import { UserError } from "../cli/errors.js";
import { style } from "../cli/output.js";
import { appFileOption, findAppRoot } from "../generate/app.js";
import { importAppSource } from "./app-import.js";

/**
 * One row of the route table.
 *
 * @example
 * const row: RouteRow = { pattern: "/users/:id", handler: "UserHandler", methods: ["get", "put", "delete"], name: "user" };
 */
export interface RouteRow {
  pattern: string;
  handler: string;
  /** The HTTP methods the handler defines (`get`, `post`, …), or `websocket`. */
  methods: string[];
  name: string | null;
}

/** What the CLI reads of an app. @example const app: AppLike = makeApp(); */
export interface AppLike {
  router?: { rules?: { pattern: string; handlerClass: { name: string }; name?: string }[] };
}

/**
 * Loads the app file from TypeScript source (with Node's type stripping where the Node line has
 * it, else through tsx, as `tornado dev` does) and calls its `makeApp()`; `command` names the command in the error for a file without one.
 *
 * @example
 * const app = await loadApp("/home/me/my-api", "src/app.ts", "openapi");
 */
export async function loadApp(root: string, appFile: string, command = "routes"): Promise<AppLike> {
  const file = join(root, appFile);
  if (!existsSync(file)) throw new UserError(`${appFile} not found: pass --app <file> to name the file whose makeApp() builds the app.`);
  // The app's own error is the user's to fix: one line with its message and where it was thrown.
  const failed = (what: string, error: unknown): UserError => {
    const where = (error as Error)?.stack?.split("\n").find((line) => line.includes("    at "))?.trim() ?? "";
    return new UserError(`${what} failed: ${(error as Error)?.message ?? String(error)}${where ? ` (${where})` : ""}`);
  };
  let module: Record<string, unknown>;
  try {
    module = await importAppSource(root, file);
  } catch (error) {
    throw syntaxError(root, error) ?? failed(`Loading ${appFile}`, error);
  }
  const makeApp = module.makeApp;
  if (typeof makeApp !== "function") throw new UserError(`${appFile} does not export a makeApp() function; the ${command} command calls it to build the app.`);
  let app: AppLike;
  try {
    app = (await makeApp()) as AppLike;
  } catch (error) {
    throw failed(`makeApp() in ${appFile}`, error);
  }
  return app;
}

/**
 * Loads the app file from TypeScript source (as {@link loadApp} does), calls its
 * `makeApp()` and lists the routes in the order they are tried.
 *
 * @example
 * await loadRouteTable("/home/me/my-api", "src/app.ts") // [{ pattern: "/health", … }]
 */
export async function loadRouteTable(root: string, appFile: string): Promise<RouteRow[]> {
  const app = await loadApp(root, appFile);
  const rules = app?.router?.rules;
  if (!Array.isArray(rules)) throw new UserError(`makeApp() in ${appFile} did not return an Application.`);
  return rules.map((rule) => ({
    pattern: rule.pattern,
    handler: rule.handlerClass.name || "(anonymous)",
    methods: handlerMethods(rule.handlerClass),
    name: rule.name ?? null,
  }));
}

// esbuild (under tsx) reports "Transform failed with 1 error:\n/abs/file.ts:12:4: ERROR: <message>",
// its column counting from 0.
const ESBUILD_ERROR = /^(.+?):(\d+):(\d+): ERROR: (.+)$/m;

/** A syntax error in the app's source as `src/app.ts:12:5: <message>`, or `null` for any other error. */
function syntaxError(root: string, error: unknown): UserError | null {
  const match = ESBUILD_ERROR.exec(String((error as Error)?.message ?? ""));
  if (match === null) return null;
  const [, file, line, column, message] = match;
  const shown = isAbsolute(file!) ? relative(root, file!).split(sep).join("/") : file!;
  return new UserError(`${shown}:${line}:${Number(column) + 1}: ${message}`);
}

const HTTP_METHODS = ["get", "head", "post", "put", "patch", "delete", "options"] as const;

/**
 * The HTTP methods a handler class defines, lower case, in a fixed order (`["get", "post"]`);
 * `["websocket"]` for a WebSocketHandler. Read from its prototype chain up to RequestHandler,
 * whose own methods are not the app's; only those its `SUPPORTED_METHODS` allow, which may add
 * verbs (`propfind` after the standard ones).
 *
 * @example
 * handlerMethods(UsersHandler) // ["get", "post"]
 */
export function handlerMethods(handlerClass: { name: string; prototype?: unknown; SUPPORTED_METHODS?: readonly string[] }): string[] {
  const supported = (handlerClass.SUPPORTED_METHODS ?? HTTP_METHODS).map((m) => m.toLowerCase());
  const names = [...HTTP_METHODS, ...supported.filter((m) => !(HTTP_METHODS as readonly string[]).includes(m))];
  const defined = new Set<string>();
  let proto = handlerClass.prototype as object | null | undefined;
  while (proto && proto !== Object.prototype) {
    const owner = (proto as { constructor?: { name?: string } }).constructor?.name;
    if (owner === "WebSocketHandler") return ["websocket"];
    if (owner === "RequestHandler") break;
    for (const method of names) {
      if (Object.hasOwn(proto, method) && typeof Object.getOwnPropertyDescriptor(proto, method)?.value === "function") defined.add(method);
    }
    proto = Object.getPrototypeOf(proto) as object | null;
  }
  return names.filter((m) => defined.has(m) && supported.includes(m));
}

/**
 * The table as aligned text: a header, then one route per line.
 *
 * @example
 * formatRouteTable([{ pattern: "/", handler: "Home", methods: ["get"], name: null }])
 */
export function formatRouteTable(rows: readonly RouteRow[]): string {
  const header = ["PATTERN", "HANDLER", "METHODS", "NAME"];
  const all = [header, ...rows.map((r) => [r.pattern, r.handler, r.methods.join(",") || "-", r.name ?? ""])];
  const widths = header.map((_, column) => Math.max(...all.map((cells) => cells[column]!.length)));
  return all
    .map((cells, i) => {
      const line = cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!))).join("  ").trimEnd();
      return i === 0 ? style.bold(line) : line;
    })
    .join("\n");
}

/**
 * What `tornado routes` does once its options are read: finds the app from the current folder,
 * prints its route table (or JSON with `json`) and exits, since the app may hold open handles
 * (a database pool, a timer).
 *
 * @example
 * await printRoutes({ app: "src/app.ts", json: true });
 */
export async function printRoutes(options: { app?: string; json?: boolean }): Promise<void> {
  const root = findAppRoot(process.cwd());
  const rows = await loadRouteTable(root, appFileOption(root, options.app));
  const text = options.json ? JSON.stringify(rows, null, 2) : rows.length === 0 ? "The app has no routes." : formatRouteTable(rows);
  process.stdout.write(`${text}\n`, () => process.exit(process.exitCode ?? 0));
}

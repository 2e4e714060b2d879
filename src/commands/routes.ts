/** `tornado routes`: the app's route table, read from the app itself. */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Command } from "commander";
import { UserError } from "../cli/errors.js";
import { style } from "../cli/output.js";
import { findAppRoot } from "../generate/app.js";
import { appFileOption } from "../generate/plan.js";

/**
 * One row of the route table.
 *
 * @example
 * const row: RouteRow = { pattern: "/users/:id", handler: "UserHandler", name: "user" };
 */
export interface RouteRow {
  pattern: string;
  handler: string;
  name: string | null;
}

interface AppLike {
  router?: { rules?: { pattern: string; handlerClass: { name: string }; name?: string }[] };
}

/**
 * Loads the app file from TypeScript source (through tsx, as `tornado dev` does), calls its
 * `makeApp()` and lists the routes in the order they are tried.
 *
 * @example
 * await loadRouteTable("/home/me/my-api", "src/app.ts") // [{ pattern: "/health", … }]
 */
export async function loadRouteTable(root: string, appFile: string): Promise<RouteRow[]> {
  const file = join(root, appFile);
  if (!existsSync(file)) throw new UserError(`${appFile} not found: pass --app <file> to name the file whose makeApp() builds the app.`);
  const { tsImport } = await import("tsx/esm/api");
  // The app's own error is the user's to fix: one line with its message and where it was thrown.
  const failed = (what: string, error: unknown): UserError => {
    const where = (error as Error)?.stack?.split("\n").find((line) => line.includes("    at "))?.trim() ?? "";
    return new UserError(`${what} failed: ${(error as Error)?.message ?? String(error)}${where ? ` (${where})` : ""}`);
  };
  let module: Record<string, unknown>;
  try {
    module = (await tsImport(pathToFileURL(file).href, import.meta.url)) as Record<string, unknown>;
  } catch (error) {
    throw failed(`Loading ${appFile}`, error);
  }
  const makeApp = module.makeApp;
  if (typeof makeApp !== "function") throw new UserError(`${appFile} does not export a makeApp() function; the routes command calls it to build the app.`);
  let app: AppLike;
  try {
    app = (await makeApp()) as AppLike;
  } catch (error) {
    throw failed(`makeApp() in ${appFile}`, error);
  }
  const rules = app?.router?.rules;
  if (!Array.isArray(rules)) throw new UserError(`makeApp() in ${appFile} did not return an Application.`);
  return rules.map((rule) => ({ pattern: rule.pattern, handler: rule.handlerClass.name || "(anonymous)", name: rule.name ?? null }));
}

/**
 * The table as aligned text: a header, then one route per line.
 *
 * @example
 * formatRouteTable([{ pattern: "/", handler: "Home", name: null }])
 */
export function formatRouteTable(rows: readonly RouteRow[]): string {
  const header = { pattern: "PATTERN", handler: "HANDLER", name: "NAME" };
  const all = [header, ...rows.map((r) => ({ ...r, name: r.name ?? "" }))];
  const widths = [Math.max(...all.map((r) => r.pattern.length)), Math.max(...all.map((r) => r.handler.length))];
  return all
    .map((r, i) => {
      const line = `${r.pattern.padEnd(widths[0]!)}  ${r.handler.padEnd(widths[1]!)}  ${r.name}`.trimEnd();
      return i === 0 ? style.bold(line) : line;
    })
    .join("\n");
}

/**
 * Builds `tornado routes`.
 *
 * @example
 * program.addCommand(routesCommand());
 */
export function routesCommand(): Command {
  return new Command("routes")
    .description("Prints the app's route table (pattern, handler, name), in the order routes are tried.")
    .option("--app <file>", "the file exporting makeApp() (default: src/app.ts)")
    .option("--json", "print JSON instead of a table")
    .action(async (options: { app?: string; json?: boolean }) => {
      const root = findAppRoot(process.cwd());
      const rows = await loadRouteTable(root, appFileOption(root, options.app));
      const text = options.json ? JSON.stringify(rows, null, 2) : rows.length === 0 ? "The app has no routes." : formatRouteTable(rows);
      // The app may hold open handles (a database pool, a timer): exit once the table is out.
      process.stdout.write(`${text}\n`, () => process.exit(process.exitCode ?? 0));
    });
}

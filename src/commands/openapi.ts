/** `tornado openapi`: the app's OpenAPI 3.1 document, built from the app itself without starting a server. */

import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Command } from "commander";
import { openApiDocument, type OpenAPIOptions } from "../../runtime/openapi.js";
import { UserError } from "../cli/errors.js";
import { scriptCommand } from "../cli/scripts.js";
import { appFileOption, findAppRoot } from "../generate/app.js";
import { loadApp } from "./route-table.js";

/**
 * Builds `tornado openapi`: prints the document (or writes it to `--out`). The title and
 * version come from the app's `openapi` setting, else from its package.json.
 *
 * @example
 * program.addCommand(openapiCommand());
 */
export function openapiCommand(): Command {
  return new Command("openapi")
    .description("Prints the app's OpenAPI 3.1 document (from its routes and schemas) without starting a server.")
    .option("--app <file>", "the file exporting makeApp() (default: src/app.ts)")
    .option("--out <file>", "write the document to this file instead of stdout")
    .addHelpText("after", `\nIn an app: ${scriptCommand("openapi", [], "npm")} (or ${scriptCommand("openapi", ["--out", "openapi.json"], "npm")}).`)
    .action(async (options: { app?: string; out?: string }) => {
      const root = findAppRoot(process.cwd());
      const appFile = appFileOption(root, options.app);
      const app = (await loadApp(root, appFile, "openapi")) as { router?: { rules?: unknown }; settings?: Record<string, unknown> };
      if (!Array.isArray(app?.router?.rules) || app.settings === undefined) throw new UserError(`makeApp() in ${appFile} did not return an Application.`);
      let manifest: { name?: string; version?: string } = {};
      try {
        manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
      } catch {
        // no package.json: the defaults below
      }
      const setting = (app.settings.openapi ?? {}) as OpenAPIOptions;
      const doc = openApiDocument(app as Parameters<typeof openApiDocument>[0], { title: manifest.name, version: manifest.version, ...setting });
      const text = `${JSON.stringify(doc, null, 2)}\n`;
      if (options.out !== undefined) {
        writeFileSync(resolve(process.cwd(), options.out), text);
        process.stderr.write(`Wrote ${options.out}\n`, () => process.exit(process.exitCode ?? 0));
      } else {
        // The app may hold open handles (a database pool, a timer): exit once the document is out.
        process.stdout.write(text, () => process.exit(process.exitCode ?? 0));
      }
    });
}

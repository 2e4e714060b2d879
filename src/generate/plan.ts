/**
 * `tornado generate <kind> <name>` and `tornado destroy <kind> <name>`, planned as file
 * changes: a handler file, its test, the import and routes in the app file, and the manifest.
 */

import { existsSync, readFileSync } from "node:fs";
import { join, posix } from "node:path";
import { UserError } from "../cli/errors.js";
import { readIfExists, type FileChange } from "./changes.js";
import { contentHash, findEntry, MANIFEST_PATH, readManifest, serializeManifest, withEntry, type GeneratedEntry } from "./manifest.js";
import { resourceNames, withArticle, type ResourceNames } from "./names.js";
import { scriptCommand } from "../cli/scripts.js";
import type { RouteEntry, RouteRegistration } from "./route-table.js";
import { renderGeneratorTemplate } from "./templates.js";
import type { Field } from "./fields.js";
import { appTakesDatabase, existingCreateMigrations, resourceValues, tableName } from "./resource.js";
import { MIGRATIONS_DIR, migrationTimestamp } from "../db/migration-file.js";

/**
 * Where the generator works: the app root and its app file (relative, with `/`).
 *
 * @example
 * const target: GenerateTarget = { root: "/home/me/my-api", appFile: "src/app.ts" };
 */
export interface GenerateTarget {
  root: string;
  appFile: string;
}

/**
 * A planned generate or destroy: the file changes, notes to print beside them, and the files
 * that would overwrite (or delete) a user's work without `--force`.
 *
 * @example
 * const plan = await planGenerate(target, "handler", resourceNames("orders"));
 * if (plan.conflicts.length === 0) await applyChanges(target.root, plan.changes);
 */
export interface GeneratorPlan {
  changes: FileChange[];
  notes: Map<string, string>;
  conflicts: string[];
}

/**
 * What a generator kind writes: its handler classes and routes, derived from the names.
 *
 * @example
 * GENERATORS.websocket.routes(resourceNames("chat")) // [{ pattern: "/chat", handler: "ChatSocket", name: "chat" }]
 */
export interface GeneratorKind {
  /** One line for the command's output: the classes and routes. */
  describe(names: ResourceNames): string;
  classes(names: ResourceNames): string[];
  routes(names: ResourceNames): RouteEntry[];
}

/**
 * The generators: `handler` (a REST resource: collection and item), `websocket` (a
 * `WebSocketHandler`) and `resource` (a REST resource kept in the database: its migration,
 * repository, handlers and test). Each has `handler.ts.hbs` and `test.ts.hbs` in
 * `templates/generators/<kind>/` (resource also `migration.sql.hbs` and `repository.ts.hbs`).
 *
 * @example
 * Object.keys(GENERATORS) // ["handler", "websocket", "resource"]
 */
const restResource: GeneratorKind = {
  describe: (n) => `classes ${n.collectionClass}, ${n.itemClass}; routes ${n.collectionRoute}, ${n.itemRoute}`,
  classes: (n) => [n.collectionClass, n.itemClass],
  routes: (n) => [
    { pattern: n.collectionRoute, handler: n.collectionClass, name: n.collectionRouteName },
    { pattern: n.itemRoute, handler: n.itemClass, name: n.itemRouteName },
  ],
};

export const GENERATORS: Record<"handler" | "websocket" | "resource", GeneratorKind> = {
  handler: restResource,
  websocket: {
    describe: (n) => `class ${n.socketClass}; route /${n.file}`,
    classes: (n) => [n.socketClass],
    routes: (n) => [{ pattern: `/${n.file}`, handler: n.socketClass, name: n.file }],
  },
  resource: {
    ...restResource,
    describe: (n) => `table ${tableName(n)}; ${restResource.describe(n)}`,
  },
};

/**
 * A generator's name: `handler`, `websocket` or `resource`.
 *
 * @example
 * const kind: GeneratorName = "websocket";
 */
export type GeneratorName = keyof typeof GENERATORS;

function importSpecifier(from: string, to: string): string {
  const rel = posix.relative(posix.dirname(from), to).replace(/\.ts$/, ".js");
  return rel.startsWith(".") ? rel : `./${rel}`;
}

function readAppFile(target: GenerateTarget): string {
  const text = readIfExists(target.root, target.appFile);
  if (text === null) {
    throw new UserError(`${target.appFile} not found: the generator registers routes in the app's makeApp() there (pass --app <file> if it lives elsewhere). Nothing was written.`);
  }
  return text;
}

function manualRoutes(reg: RouteRegistration): string {
  const routes = reg.routes.map((r) => `url("${r.pattern}", ${r.handler}${r.name ? `, { name: "${r.name}" }` : ""}),`).join(" ");
  return `import { ${reg.names.join(", ")} } from "${reg.importFrom}"; and in the route list: ${routes}`;
}

// The TypeScript compiler is loaded only by the commands that edit a route table.
const routeTable = () => import("./route-table.js");

async function explain(error: unknown, appFile: string, reg: RouteRegistration, action: "add" | "remove"): Promise<never> {
  const { AppFileSyntaxError, RouteListNotFound } = await routeTable();
  if (error instanceof AppFileSyntaxError) {
    throw new UserError(`${appFile} does not parse (${error.detail}); fix it and run again. Nothing was ${action === "add" ? "written" : "removed"}.`);
  }
  if (error instanceof RouteListNotFound) {
    const what = action === "add" ? `add by hand: ${manualRoutes(reg)}` : `remove these by hand: ${manualRoutes(reg)}`;
    throw new UserError(`Could not find the route list in ${appFile}: looked for the array given to \`new Application(...)\` in makeApp, but ${error.looked}. Nothing was ${action === "add" ? "written" : "removed"}; ${what}`);
  }
  throw error;
}

/**
 * The app's own base handler, if `handlers/base.ts` exports a class extending RequestHandler
 * that overrides `writeError` (the rest template's ApiHandler, slow-db's DatabaseHandler): a
 * generated handler extends it so its errors read like the rest of the app's.
 */
function appBaseHandler(root: string, handlersDir: string): string | null {
  const base = join(root, handlersDir, "base.ts");
  if (!existsSync(base)) return null;
  const text = readFileSync(base, "utf8");
  if (!/\bwriteError\s*\(/.test(text)) return null;
  return /export\s+class\s+([A-Za-z_$][\w$]*)\s+extends\s+RequestHandler\b/.exec(text)?.[1] ?? null;
}

/**
 * Where a resource's migration goes: the file an earlier generate of it wrote, or one already in
 * migrations/ that creates its table, or a new one stamped now.
 */
function resourceMigrationPath(root: string, names: ResourceNames, now: Date): string {
  const earlier = findEntry(readManifest(root), "resource", names.file);
  const recorded = Object.keys(earlier?.files ?? {}).find((path) => path.startsWith(`${MIGRATIONS_DIR}/`));
  if (recorded !== undefined) return recorded;
  const table = tableName(names);
  return existingCreateMigrations(root, table).at(-1) ?? `${MIGRATIONS_DIR}/${migrationTimestamp(now)}_create_${table}.sql`;
}

/**
 * The resource an earlier generate of the same kind already wrote under another spelling
 * (`order` after `orders`: both are `/orders`), if any.
 */
function sameResourceGenerated(root: string, kind: GeneratorName, names: ResourceNames): GeneratedEntry | undefined {
  const mine = GENERATORS[kind].routes(names)[0]!.pattern;
  return readManifest(root).generated.find((entry) => {
    if (entry.kind !== kind || entry.name === names.file) return false;
    try {
      return GENERATORS[kind].routes(resourceNames(entry.name))[0]!.pattern === mine;
    } catch {
      return false;
    }
  });
}

/**
 * Plans `tornado generate <kind> <name>`: renders the handler and its test, adds the import
 * and the routes to the app file, records it all in the manifest. An existing file with other
 * content is a conflict (overwritten with `force`); running it twice plans no change.
 *
 * @example
 * const plan = await planGenerate({ root, appFile: "src/app.ts" }, "handler", resourceNames("orders"), { force: false });
 */
export async function planGenerate(
  target: GenerateTarget,
  kind: GeneratorName,
  names: ResourceNames,
  { force = false, fields = [], now = new Date() }: { force?: boolean; fields?: readonly Field[]; now?: Date } = {},
): Promise<GeneratorPlan> {
  const generator = GENERATORS[kind];
  const { root, appFile } = target;
  const appText = readAppFile(target);
  const handlersDir = posix.join(posix.dirname(appFile), "handlers");
  const handlerPath = posix.join(handlersDir, `${names.file}.ts`);
  const testPath = `test/${names.file}.test.ts`;
  const earlier = sameResourceGenerated(root, kind, names);
  if (earlier !== undefined) {
    const route = GENERATORS[kind].routes(names)[0]!.pattern;
    const file = Object.keys(earlier.files)[0] ?? MANIFEST_PATH;
    throw new UserError(
      `"${names.file}" and "${earlier.name}" spell the same resource, ${route}, already generated in ${file}: use ${earlier.name} (or destroy it first: ${scriptCommand("destroy", [kind, earlier.name])}). Nothing was written.`,
    );
  }
  const appBase = kind === "websocket" ? null : appBaseHandler(root, handlersDir);
  const values = {
    ...names,
    pluralTextCap: names.pluralText[0]!.toUpperCase() + names.pluralText.slice(1),
    tornadoImport: `import { type Application, HTTPError, type RequestHandler, withSchemas } from "tornado";`,
    baseImport: appBase ? `import { ${appBase} } from "./base.js";` : "",
    // Without a base of the app's own, the handlers extend withSchemas' default (RequestHandler),
    // whose errors are JSON too: { "error": { "status", "message", "issues"? } }.
    baseClass: appBase ?? "",
    appImport: importSpecifier(testPath, appFile),
  };
  const files: { path: string; text: string }[] = [];
  if (kind === "resource") {
    const migrationPath = resourceMigrationPath(root, names, now);
    const repositoryPath = posix.join(posix.dirname(appFile), "repositories", `${names.file}.ts`);
    Object.assign(values, resourceValues(names, fields, { migrationFile: posix.basename(migrationPath), appTakesDb: appTakesDatabase(appText) }), {
      tornadoImport: `import { HTTPError, type RequestHandler, withSchemas } from "tornado";`,
      repositoryImport: importSpecifier(handlerPath, repositoryPath),
    });
    files.push({ path: migrationPath, text: (await renderGeneratorTemplate(root, kind, "migration.sql.hbs", values)).text });
    files.push({ path: repositoryPath, text: (await renderGeneratorTemplate(root, kind, "repository.ts.hbs", values)).text });
  }
  files.push({ path: handlerPath, text: (await renderGeneratorTemplate(root, kind, "handler.ts.hbs", values)).text });
  files.push({ path: testPath, text: (await renderGeneratorTemplate(root, kind, "test.ts.hbs", values)).text });

  const reg: RouteRegistration = {
    importFrom: importSpecifier(appFile, handlerPath),
    names: generator.classes(names).sort(),
    routes: generator.routes(names),
  };
  const { addRoutes, locateRoutes, topLevelBinding } = await routeTable();
  let edited;
  try {
    const { source } = locateRoutes(appText, appFile);
    for (const name of reg.names) {
      const from = topLevelBinding(source, name);
      if (from !== undefined && from !== reg.importFrom) {
        throw new UserError(
          `"${names.file}" needs a class named ${name}, but ${appFile} already has ${withArticle(name)} (from ${from}); pick another name for the ${kind}. Nothing was written.`,
        );
      }
    }
    edited = addRoutes(appText, appFile, reg);
  } catch (error) {
    return explain(error, appFile, reg, "add");
  }

  const changes: FileChange[] = files.map((f) => ({ path: f.path, before: readIfExists(root, f.path), after: f.text }));
  const conflicts = force ? [] : changes.filter((c) => c.before !== null && c.before !== c.after).map((c) => c.path);
  changes.push({ path: appFile, before: appText, after: edited.text });

  const manifest = readManifest(root);
  const previous = findEntry(manifest, kind, names.file);
  const previousRoutes = previous?.registration?.routes ?? [];
  const addedRoutes = [...previousRoutes, ...edited.added.filter((r) => !previousRoutes.some((p) => p.pattern === r.pattern))];
  const entry: GeneratedEntry = {
    kind,
    name: names.file,
    files: Object.fromEntries(files.map((f) => [f.path, contentHash(f.text)])),
    ...(addedRoutes.length > 0 ? { registration: { file: appFile, importFrom: reg.importFrom, names: reg.names, routes: addedRoutes } } : {}),
  };
  const manifestBefore = readIfExists(root, MANIFEST_PATH);
  const unchanged = changes.every((c) => c.before === c.after) && previous !== undefined;
  changes.push({ path: MANIFEST_PATH, before: manifestBefore, after: unchanged ? manifestBefore : serializeManifest(withEntry(manifest, kind, names.file, entry)) });

  const notes = new Map<string, string>();
  if (edited.added.length > 0) notes.set(appFile, `${edited.importAdded ? "import + " : ""}${edited.added.map((r) => r.pattern).join(", ")}`);
  else notes.set(appFile, "routes already there");
  if (kind === "resource" && !/\bdb\s*[?:]/.test(edited.text)) notes.set(appFile, `${notes.get(appFile)}; its makeApp() has no db setting yet: add db: openDatabase() (from tornado/db)`);
  for (const path of conflicts) notes.set(path, "exists with other content: conflict");
  return { changes, notes, conflicts };
}

/**
 * Plans `tornado destroy <kind> <name>`: deletes the files that generate recorded and removes
 * its import and routes. A file edited since (its hash differs) is a conflict unless `force`;
 * a file already gone is skipped. A resource whose migration is applied to the app's database
 * is refused (even with `force`), naming the rollback to run first.
 *
 * @example
 * const plan = await planDestroy({ root, appFile: "src/app.ts" }, "handler", resourceNames("orders"));
 */
export async function planDestroy(target: GenerateTarget, kind: GeneratorName, names: ResourceNames, { force = false } = {}): Promise<GeneratorPlan> {
  const { root } = target;
  const manifest = readManifest(root);
  const entry = findEntry(manifest, kind, names.file);
  if (entry === undefined) {
    throw new UserError(`Nothing to destroy: ${MANIFEST_PATH} records no ${kind} named ${names.file} (destroy only undoes what generate wrote).`);
  }
  if (kind === "resource") {
    const migrations = Object.keys(entry.files).filter((path) => path.startsWith(`${MIGRATIONS_DIR}/`) && existsSync(join(root, path)));
    await (await import("./applied.js")).refuseAppliedMigrations(root, migrations);
  }
  const changes: FileChange[] = [];
  const conflicts: string[] = [];
  const notes = new Map<string, string>();
  for (const [path, hash] of Object.entries(entry.files)) {
    const before = readIfExists(root, path);
    if (before === null) continue;
    if (contentHash(before) !== hash && !force) {
      conflicts.push(path);
      notes.set(path, "edited since it was generated: conflict");
    }
    changes.push({ path, before, after: null });
  }
  const reg = entry.registration;
  if (reg !== undefined) {
    const appText = readIfExists(root, reg.file);
    if (appText !== null) {
      const { removeRoutes } = await routeTable();
      try {
        const removed = removeRoutes(appText, reg.file, reg);
        changes.push({ path: reg.file, before: appText, after: removed.text });
        notes.set(reg.file, removed.removed.length > 0 ? `${removed.importRemoved ? "import + " : ""}${removed.removed.map((r) => r.pattern).join(", ")}` : "routes already gone");
      } catch (error) {
        return explain(error, reg.file, reg, "remove");
      }
    }
  }
  const manifestBefore = readIfExists(root, MANIFEST_PATH);
  changes.push({ path: MANIFEST_PATH, before: manifestBefore, after: serializeManifest(withEntry(manifest, kind, names.file, null)) });
  return { changes, notes, conflicts };
}

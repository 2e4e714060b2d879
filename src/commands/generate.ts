/** `tornado generate <kind> <name>` and `tornado destroy <kind> <name>`. */

import { Command } from "commander";
import { UserError } from "../cli/errors.js";
import { style } from "../cli/output.js";
import { scriptCommand } from "../cli/scripts.js";
import { appFileOption, findAppRoot } from "../generate/app.js";
import { applyChanges, effective, printChanges, unifiedDiff } from "../generate/changes.js";
import { GENERATORS, planDestroy, planGenerate, type GeneratorName, type GeneratorPlan } from "../generate/plan.js";
import { resourceNames, type ResourceNames } from "../generate/names.js";
import { FIELD_TYPES, parseFields } from "../generate/fields.js";
import { databaseSetupHints, missingReferencedTables, tableName } from "../generate/resource.js";

interface GeneratorOptions {
  dryRun?: boolean;
  force?: boolean;
  app?: string;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

function describeNames(kind: GeneratorName, names: ResourceNames): string {
  return `${kind} ${style.bold(names.file)}: ${GENERATORS[kind].describe(names)}`;
}

async function carryOut(root: string, plan: GeneratorPlan, options: GeneratorOptions, verb: "generate" | "destroy"): Promise<void> {
  const changes = effective(plan.changes);
  printChanges(verb === "generate" ? plan.changes : changes, plan.notes);
  if (plan.conflicts.length > 0) {
    const one = plan.conflicts.length === 1;
    const list = plan.conflicts.join(", ");
    throw new UserError(
      verb === "generate"
        ? `${list} already ${one ? "exists" : "exist"} with other content; nothing was written. Pass --force to overwrite ${one ? "it" : "them"}, or choose another name.`
        : `${list} ${one ? "was" : "were"} edited after generate wrote ${one ? "it" : "them"}; nothing was removed. Pass --force to delete ${one ? "it" : "them"} anyway.`,
    );
  }
  if (changes.length === 0) {
    process.stdout.write(`Nothing to change: it is all there already.\n`);
    return;
  }
  if (options.dryRun) {
    process.stdout.write(`\n${await unifiedDiff(changes)}\n${style.dim(`Dry run: ${plural(changes.length, "file")} would change; nothing was written.`)}\n`);
    return;
  }
  await applyChanges(root, changes);
}

function withGeneratorOptions(command: Command): Command {
  return command
    .option("--dry-run", "print a unified diff of every change and write nothing")
    .option("--force", "overwrite (or, for destroy, delete) files that differ from what the generator wrote")
    .option("--app <file>", "the file whose makeApp() holds the route list (default: src/app.ts)")
    .exitOverride();
}

const KIND_HELP: Record<GeneratorName, { generate: string; argument: string; example: string }> = {
  handler: {
    generate: "Adds src/handlers/<name>.ts (a collection and an item handler), test/<name>.test.ts and their routes.",
    argument: "resource name in any case: users, user-profile, UserProfile",
    example: "orders",
  },
  websocket: {
    generate: "Adds src/handlers/<name>.ts (a WebSocketHandler), test/<name>.test.ts and its route /<name>.",
    argument: "name in any case: chat, live-feed, LiveFeed",
    example: "live-feed",
  },
  resource: {
    generate:
      "Adds a table kept in the database: migrations/<stamp>_create_<table>.sql, src/repositories/<name>.ts, src/handlers/<name>.ts (a collection and an item handler), test/<name>.test.ts and their routes.",
    argument: "resource name in any case: orders, line-items, LineItem",
    example: "orders",
  },
};

const FIELDS_HELP = `fields as name:type (add ? to allow null), type one of ${FIELD_TYPES.join(", ")}; name:references points at the table of that name's plural (user:references → user_id REFERENCES users (id))`;

function generateKind(kind: GeneratorName): Command {
  const example = kind === "resource" ? ["orders", "customer:string", "total:decimal", "paid:boolean", "note:text?", "user:references"] : [KIND_HELP[kind].example];
  const command = new Command(kind).description(KIND_HELP[kind].generate).argument("<name>", KIND_HELP[kind].argument);
  if (kind === "resource") command.argument("[fields...]", FIELDS_HELP);
  return withGeneratorOptions(
    command.addHelpText("after", `\nIn an app: ${scriptCommand("generate", [kind, ...example], "npm")} (add --dry-run to see the diff first).`),
  ).action(
    async (name: string, ...rest: unknown[]) => {
      const specs = kind === "resource" ? (rest[0] as string[]) : [];
      const options = (kind === "resource" ? rest[1] : rest[0]) as GeneratorOptions;
      const names = resourceNames(name);
      const fields = kind === "resource" ? parseFields(specs) : [];
      const root = findAppRoot(process.cwd());
      process.stdout.write(`${describeNames(kind, names)}\n`);
      if (kind === "resource") for (const line of missingReferencedTables(root, fields, tableName(names))) process.stdout.write(`${style.yellow(line)}\n`);
      const plan = await planGenerate({ root, appFile: appFileOption(root, options.app) }, kind, names, { force: options.force, fields });
      await carryOut(root, plan, options, "generate");
      if (!options.dryRun && effective(plan.changes).length > 0) {
        if (kind === "resource") {
          for (const line of databaseSetupHints(root)) process.stdout.write(`\n${style.yellow(line)}`);
          process.stdout.write(`\nApply its migration with ${style.cyan(scriptCommand("db:migrate", []))}; its test applies every migration to a schema of its own.`);
        }
        process.stdout.write(`\nRun its test with ${style.cyan(scriptCommand("test", [`test/${names.file}.test.ts`]))}\n`);
      }
    },
  );
}

function destroyKind(kind: GeneratorName): Command {
  return withGeneratorOptions(
    new Command(kind)
      .description(`Removes what \`${scriptCommand("generate", [kind, "<name>"], "npm")}\` wrote: its files, import and routes. Refuses files edited since.`)
      .argument("<name>", "the name given to generate")
      .addHelpText("after", `\nIn an app: ${scriptCommand("destroy", [kind, KIND_HELP[kind].example], "npm")}.`),
  ).action(async (name: string, options: GeneratorOptions) => {
    const names = resourceNames(name);
    const root = findAppRoot(process.cwd());
    const plan = await planDestroy({ root, appFile: appFileOption(root, options.app) }, kind, names, { force: options.force });
    await carryOut(root, plan, options, "destroy");
  });
}

/**
 * Builds `tornado generate`: `handler <name>` writes a REST handler, `websocket <name>` a
 * WebSocket handler, `resource <name> <field:type>...` a table with its migration, repository
 * and REST handlers, each with its test and routes.
 *
 * @example
 * program.addCommand(generateCommand());
 */
export function generateCommand(): Command {
  const command = new Command("generate").alias("g").description("Adds code to the app: a handler, a WebSocket handler or a resource kept in the database, with its test and routes, recorded so destroy can undo it.");
  for (const kind of Object.keys(GENERATORS) as GeneratorName[]) command.addCommand(generateKind(kind));
  return command.exitOverride();
}

/**
 * Builds `tornado destroy`: `<kind> <name>` undoes `tornado generate <kind> <name>`.
 *
 * @example
 * program.addCommand(destroyCommand());
 */
export function destroyCommand(): Command {
  const command = new Command("destroy").alias("d").description("Undoes a generate, refusing to delete files edited since.");
  for (const kind of Object.keys(GENERATORS) as GeneratorName[]) command.addCommand(destroyKind(kind));
  return command.exitOverride();
}

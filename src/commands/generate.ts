/** `tornado generate <kind> <name>` and `tornado destroy <kind> <name>`. */

import { Command } from "commander";
import { UserError } from "../cli/errors.js";
import { style } from "../cli/output.js";
import { findAppRoot } from "../generate/app.js";
import { applyChanges, effective, printChanges, unifiedDiff } from "../generate/changes.js";
import { appFileOption, planDestroyHandler, planHandler, type GeneratorPlan } from "../generate/handler.js";
import { resourceNames, type ResourceNames } from "../generate/names.js";

interface GeneratorOptions {
  dryRun?: boolean;
  force?: boolean;
  app?: string;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

function describeNames(names: ResourceNames): string {
  return `handler ${style.bold(names.file)}: classes ${names.collectionClass}, ${names.itemClass}; routes ${names.collectionRoute}, ${names.itemRoute}`;
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
        : `${list} ${one ? "was" : "were"} edited after tornado generate wrote ${one ? "it" : "them"}; nothing was removed. Pass --force to delete ${one ? "it" : "them"} anyway.`,
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

/**
 * Builds `tornado generate`: `handler <name>` writes a handler, its test and its routes.
 *
 * @example
 * program.addCommand(generateCommand());
 */
export function generateCommand(): Command {
  const handler = withGeneratorOptions(
    new Command("handler")
      .description("Adds src/handlers/<name>.ts (a collection and an item handler), test/<name>.test.ts and their routes.")
      .argument("<name>", "resource name in any case: users, user-profile, UserProfile"),
  ).action(async (name: string, options: GeneratorOptions) => {
    const names = resourceNames(name);
    const root = findAppRoot(process.cwd());
    process.stdout.write(`${describeNames(names)}\n`);
    const plan = await planHandler({ root, appFile: appFileOption(root, options.app) }, names, { force: options.force });
    await carryOut(root, plan, options, "generate");
    if (!options.dryRun && effective(plan.changes).length > 0) process.stdout.write(`\nRun its test with ${style.cyan(`npx vitest run test/${names.file}.test.ts`)}\n`);
  });
  return new Command("generate")
    .alias("g")
    .description("Adds code to the app: a handler with its test and routes, recorded so destroy can undo it.")
    .addCommand(handler)
    .exitOverride();
}

/**
 * Builds `tornado destroy`: `handler <name>` undoes `tornado generate handler <name>`.
 *
 * @example
 * program.addCommand(destroyCommand());
 */
export function destroyCommand(): Command {
  const handler = withGeneratorOptions(
    new Command("handler")
      .description("Removes what `tornado generate handler <name>` wrote: its files, import and routes. Refuses files edited since.")
      .argument("<name>", "the name given to generate"),
  ).action(async (name: string, options: GeneratorOptions) => {
    const names = resourceNames(name);
    const root = findAppRoot(process.cwd());
    const plan = await planDestroyHandler({ root, appFile: appFileOption(root, options.app) }, names, { force: options.force });
    await carryOut(root, plan, options, "destroy");
  });
  return new Command("destroy")
    .alias("d")
    .description("Undoes a generate, refusing to delete files edited since.")
    .addCommand(handler)
    .exitOverride();
}

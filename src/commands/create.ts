/** `create-tornado-app <dir>`: a new app from a template. */

import { existsSync } from "node:fs";
import { join, relative } from "node:path";
import { Command, Option } from "commander";
import { VERSION } from "../../runtime/version.js";
import { UserError } from "../cli/errors.js";
import { style } from "../cli/output.js";
import { resolveCreateContext, type CreateContext, type CreateOptions } from "../create/context.js";
import { PACKAGE_MANAGERS, initGitRepository, installDependencies } from "../create/install.js";
import { createMessages as say } from "../create/messages.js";
import { planFiles } from "../create/resume.js";
import { APP_TEMPLATES, type PlannedFile } from "../create/template.js";
import { shellQuote } from "../cli/scripts.js";
import { writeFilesAtomically } from "../create/write.js";

const print = (line = "") => process.stdout.write(line + "\n");

/**
 * The files a new app gets: the rendered template plus the packed runtime in `vendor/`.
 *
 * @example
 * const files = await planApp(ctx);
 */
export function planApp(ctx: CreateContext): Promise<PlannedFile[]> {
  return planFiles(ctx.template, ctx.packageName, ctx.packageManager);
}

/**
 * Creates the app the context describes: writes (or, with `dryRun`, lists) its files, installs
 * its dependencies, makes its first commit, and prints the next commands.
 *
 * @example
 * await createApp(await resolveCreateContext("my-api", options, how));
 */
export async function createApp(ctx: CreateContext): Promise<void> {
  if (ctx.renamedFrom !== null) print(say.renamed(ctx.renamedFrom, ctx.packageName));
  const files = await planApp(ctx);
  const existing = files.filter((f) => existsSync(join(ctx.targetDir, f.path)));
  if (ctx.dryRun) {
    print(say.dryRunHeader(files.length, ctx.displayDir));
    for (const f of files) print(`  ${f.path}${existing.includes(f) ? style.yellow(" (exists: would be overwritten)") : ""}`);
    return;
  }
  print(say.scaffolding(ctx.displayDir, ctx.template));
  if (ctx.resuming) print(say.resuming(ctx.displayDir));
  else if (existing.length > 0) print(style.yellow(say.conflictWarning(existing.length)));
  try {
    await writeFilesAtomically(ctx.targetDir, files);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EACCES" || code === "EPERM" || code === "EROFS" || code === "ENOSPC" || code === "ENOTDIR") {
      throw new UserError(say.cannotWrite(ctx.displayDir, (error as Error).message));
    }
    throw error;
  }
  print(`${style.green("✔")} ${say.wrote(files.length)}`);
  const cdTarget = relative(process.cwd(), ctx.targetDir);
  const cd = cdTarget === "" ? null : shellQuote(cdTarget);
  if (ctx.install) await installDependencies(ctx.targetDir, ctx.packageManager, `${cd === null ? "" : `cd ${cd} && `}${ctx.packageManager} install`);
  if (ctx.git) {
    const skipped = await initGitRepository(ctx.targetDir);
    print(skipped === null ? `${style.green("✔")} ${say.gitDone}` : style.dim(say.gitSkipped(skipped)));
  }
  print(say.nextSteps(cd, ctx.packageManager, ctx.install));
}

/**
 * The `create-tornado-app` command line.
 *
 * @example
 * await createProgram().parseAsync(["node", "create-tornado-app", "my-api", "--yes"]);
 */
export function createProgram(): Command {
  const program = new Command("create-tornado-app")
    .description(say.description)
    .version(VERSION, "-v, --version")
    .argument("[directory]", "folder to create the app in (its name becomes the package name)")
    .option("-t, --template <name>", `app template: ${APP_TEMPLATES.join(", ")}`)
    .option("-y, --yes", "never ask; use defaults for anything not given")
    .option("--no-install", "do not install dependencies")
    .option("--no-git", "do not create a git repository")
    .addOption(new Option("--package-manager <name>", "package manager to install with").choices([...PACKAGE_MANAGERS]))
    .option("--force", "write into a non-empty folder (template files are overwritten; no other file is touched)")
    .option("--dry-run", "list the files that would be written, and write nothing")
    .exitOverride()
    .showSuggestionAfterError()
    .action(async (directory: string | undefined, options: CreateOptions, command: Command) => {
      const explicit = new Set(["install", "git"].filter((name) => command.getOptionValueSource(name) === "cli"));
      const interactive = !options.yes && process.stdin.isTTY === true && process.stdout.isTTY === true;
      await createApp(await resolveCreateContext(directory, options, { explicit, interactive }));
    });
  return program;
}

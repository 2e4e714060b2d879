/** Turns the command line (and, in a terminal, the user's answers) into a checked plan. */

import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, resolve } from "node:path";
import { UserError } from "../cli/errors.js";
import { colorEnabled } from "../cli/output.js";
import { PACKAGE_MANAGERS, detectPackageManager, type PackageManager } from "./install.js";
import { createMessages as say } from "./messages.js";
import { packageNameProblem, toPackageName } from "./name.js";
import { APP_TEMPLATES, availableTemplates } from "./template.js";

/**
 * The options as commander parsed them.
 *
 * @example
 * const options: CreateOptions = { install: true, git: true, template: "rest" };
 */
export interface CreateOptions {
  template?: string;
  yes?: boolean;
  install: boolean;
  git: boolean;
  packageManager?: string;
  force?: boolean;
  dryRun?: boolean;
}

/**
 * Everything `create-tornado-app` needs to act, checked.
 *
 * @example
 * const ctx = await resolveCreateContext("my-api", options, { explicit: new Set(), interactive: false });
 */
export interface CreateContext {
  targetDir: string;
  /** The folder as the user typed it (for messages and `cd`). */
  displayDir: string;
  packageName: string;
  /** Set when the folder name had to be changed into a valid package name. */
  renamedFrom: string | null;
  template: string;
  install: boolean;
  git: boolean;
  packageManager: PackageManager;
  force: boolean;
  dryRun: boolean;
}

/**
 * Which options were given explicitly, and whether the user can be asked.
 *
 * @example
 * const how: AskContext = { explicit: new Set(["install"]), interactive: process.stdin.isTTY };
 */
export interface AskContext {
  explicit: ReadonlySet<string>;
  interactive: boolean;
}

async function ask<T>(question: Record<string, unknown>): Promise<T> {
  // prompts' colour library predates NO_COLOR; it honours NODE_DISABLE_COLORS.
  if (!colorEnabled(process.stdout)) process.env.NODE_DISABLE_COLORS = "1";
  const { default: prompts } = await import("prompts");
  const answers = await prompts({ ...question, name: "value" } as never, {
    onCancel: () => {
      throw new UserError(say.cancelled);
    },
  });
  return answers.value as T;
}

/**
 * Resolves the folder, package name, template and switches; asks in a terminal for what is
 * missing, uses defaults otherwise, and throws a `UserError` for anything it cannot accept.
 *
 * @example
 * await resolveCreateContext(undefined, { install: true, git: true }, { explicit: new Set(), interactive: false });
 * // throws UserError: Give the folder to create the app in…
 */
export async function resolveCreateContext(dirArg: string | undefined, options: CreateOptions, how: AskContext): Promise<CreateContext> {
  let dir = dirArg?.trim();
  if (!dir) {
    if (!how.interactive) throw new UserError(say.missingDirectory);
    dir = (await ask<string>({ type: "text", message: say.promptName, initial: "my-api" }))?.trim();
    if (!dir) throw new UserError(say.missingDirectory);
  }
  const targetDir = resolve(dir);
  const folderName = basename(targetDir);
  const packageName = toPackageName(folderName);
  const problem = packageNameProblem(packageName);
  if (problem !== null) throw new UserError(say.badName(folderName, problem));

  const available = availableTemplates();
  let template = options.template;
  if (template === undefined && how.interactive) {
    template = await ask<string>({
      type: "select",
      message: say.promptTemplate,
      choices: available.map((name) => ({ title: name, value: name })),
    });
  }
  template ??= "rest";
  if (!available.includes(template)) {
    const known = (APP_TEMPLATES as readonly string[]).includes(template);
    throw new UserError(known ? say.templateNotYet(template, available) : say.unknownTemplate(template, available));
  }

  const pm = options.packageManager ?? detectPackageManager();
  if (!(PACKAGE_MANAGERS as readonly string[]).includes(pm)) throw new UserError(say.badPackageManager(pm));

  const force = options.force === true;
  if (existsSync(targetDir)) {
    if (!statSync(targetDir).isDirectory()) throw new UserError(say.notADirectory(dir));
    const entries = readdirSync(targetDir).filter((name) => name !== ".git");
    if (entries.length > 0 && !force) throw new UserError(say.notEmpty(dir));
  }

  let install = options.install;
  let git = options.git;
  if (how.interactive && !options.dryRun) {
    if (!how.explicit.has("install")) install = (await ask<boolean>({ type: "confirm", message: say.promptInstall, initial: true })) ?? true;
    if (!how.explicit.has("git")) git = (await ask<boolean>({ type: "confirm", message: say.promptGit, initial: true })) ?? true;
  }

  return {
    targetDir,
    displayDir: dir,
    packageName,
    renamedFrom: packageName === folderName ? null : folderName,
    template,
    install,
    git,
    packageManager: pm as PackageManager,
    force,
    dryRun: options.dryRun === true,
  };
}

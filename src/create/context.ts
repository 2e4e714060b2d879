/** Turns the command line (and, in a terminal, the user's answers) into a checked plan. */

import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, resolve } from "node:path";
import { CancelledError, UserError } from "../cli/errors.js";
import { colorEnabled } from "../cli/output.js";
import { PACKAGE_MANAGERS, detectPackageManager, packageManagerInstalled, type PackageManager } from "./install.js";
import { createMessages as say } from "./messages.js";
import { packageNameProblem, toPackageName } from "./name.js";
import { earlierRuns } from "./resume.js";
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
  /** The folder holds only an earlier run's files: write what is missing and install. */
  resuming: boolean;
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
  // On Ctrl-C prompts draws the question once more, marked ✖ with its default answer
  // ("… yes"), which reads as if it had been answered. Its onState hears of the abort first:
  // from then on its output is dropped and the question's line cleared, so a cancel is the
  // one line below.
  let aborted = false;
  const out = Object.create(process.stdout) as NodeJS.WriteStream;
  out.write = ((...args: Parameters<NodeJS.WriteStream["write"]>) => (aborted ? true : process.stdout.write(...args))) as NodeJS.WriteStream["write"];
  const answers = await prompts(
    {
      ...question,
      name: "value",
      stdout: out,
      onState: (state: { aborted: boolean }) => {
        if (state.aborted && !aborted) {
          aborted = true;
          process.stdout.write("\r\x1b[2K");
        }
      },
    } as never,
    {
      onCancel: () => {
        throw new CancelledError(say.cancelled);
      },
    },
  );
  return answers.value as T;
}

// Control characters (a Ctrl-U the terminal passed through, an escape sequence) have no place
// in a folder name.
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Where the app goes and what is already there: `null` when the folder can be used, else the
 * sentence saying why not.
 */
interface FolderCheck {
  problem: string | null;
  targetDir: string;
  folderName: string;
  packageName: string;
  /** The earlier runs whose files (and nothing else) the folder holds. */
  resumable: { template: string; packageManager: PackageManager }[];
}

async function checkFolder(input: string, options: CreateOptions, templates: readonly string[], pms: readonly PackageManager[]): Promise<FolderCheck> {
  const dir = input.trim();
  const targetDir = resolve(dir);
  const folderName = basename(targetDir);
  const packageName = toPackageName(folderName);
  const result: FolderCheck = { problem: null, targetDir, folderName, packageName, resumable: [] };
  if (dir === "") return { ...result, problem: say.missingDirectory };
  if (CONTROL_CHARACTER.test(dir)) return { ...result, problem: say.controlCharacter(dir) };
  const nameProblem = packageNameProblem(packageName);
  if (nameProblem !== null) return { ...result, problem: say.badName(folderName, nameProblem) };
  if (!existsSync(targetDir)) return result;
  if (!statSync(targetDir).isDirectory()) return { ...result, problem: say.notADirectory(dir) };
  const entries = readdirSync(targetDir).filter((name) => name !== ".git");
  if (entries.length === 0 || options.force === true) return result;
  const resumable = await earlierRuns(targetDir, packageName, templates, pms);
  return resumable.length > 0 ? { ...result, resumable } : { ...result, problem: say.notEmpty(dir) };
}

/**
 * Resolves the folder, package name, template and switches; asks in a terminal for what is
 * missing (asking again, with the reason, for a name it cannot use), uses defaults otherwise,
 * and throws a `UserError` for anything it cannot accept. A folder holding only an earlier
 * run's files (an install that failed or was interrupted) is accepted: the run resumes it.
 *
 * @example
 * await resolveCreateContext(undefined, { install: true, git: true }, { explicit: new Set(), interactive: false });
 * // throws UserError: Give the folder to create the app in…
 */
export async function resolveCreateContext(dirArg: string | undefined, options: CreateOptions, how: AskContext): Promise<CreateContext> {
  const available = availableTemplates();
  if (options.template !== undefined && !available.includes(options.template)) {
    const known = (APP_TEMPLATES as readonly string[]).includes(options.template);
    throw new UserError(known ? say.templateNotYet(options.template, available) : say.unknownTemplate(options.template, available));
  }
  const detected = detectPackageManager();
  const pmOption = options.packageManager;
  if (pmOption !== undefined && !(PACKAGE_MANAGERS as readonly string[]).includes(pmOption)) throw new UserError(say.badPackageManager(pmOption));
  // For recognising an earlier run: the template and package manager given, else any.
  const templates = options.template !== undefined ? [options.template] : available;
  const pms = pmOption !== undefined ? [pmOption as PackageManager] : [detected, ...PACKAGE_MANAGERS.filter((pm) => pm !== detected)];

  let dir = dirArg?.trim() ?? "";
  let folder: FolderCheck;
  if (dir === "" && how.interactive) {
    // The folder is checked as the name is typed: a name it cannot use is asked again, with why.
    let checked: FolderCheck | undefined;
    dir = (
      (await ask<string>({
        type: "text",
        message: say.promptName,
        initial: "my-api",
        validate: async (value: string) => {
          if (value.trim() === "") return say.emptyName;
          checked = await checkFolder(value, options, templates, pms);
          return checked.problem ?? true;
        },
      })) ?? ""
    ).trim();
    folder = checked?.problem === null && resolve(dir) === checked.targetDir ? checked : await checkFolder(dir, options, templates, pms);
  } else {
    folder = await checkFolder(dir, options, templates, pms);
  }
  if (folder.problem !== null) throw new UserError(folder.problem);
  const { targetDir, folderName, packageName, resumable } = folder;

  let template = options.template;
  const resumedTemplates = [...new Set(resumable.map((r) => r.template))];
  if (template === undefined && resumedTemplates.length === 1) template = resumedTemplates[0];
  if (template === undefined && how.interactive) {
    const choices = resumable.length > 0 ? available.filter((name) => resumedTemplates.includes(name)) : available;
    template = await ask<string>({
      type: "select",
      message: say.promptTemplate,
      choices: choices.map((name) => ({ title: say.templateChoice(name, choices), value: name })),
    });
  }
  template ??= resumable.length > 0 ? resumedTemplates[0]! : "rest";
  const resumed = resumable.filter((r) => r.template === template);
  if (resumable.length > 0 && resumed.length === 0) throw new UserError(say.notEmpty(dir));
  const pm: PackageManager = (pmOption as PackageManager | undefined) ?? resumed.find((r) => r.packageManager === detected)?.packageManager ?? resumed[0]?.packageManager ?? detected;

  let install = options.install;
  let git = options.git;
  if (how.interactive && !options.dryRun) {
    if (!how.explicit.has("install")) install = (await ask<boolean>({ type: "confirm", message: say.promptInstall, initial: true })) ?? true;
    if (!how.explicit.has("git")) git = (await ask<boolean>({ type: "confirm", message: say.promptGit, initial: true })) ?? true;
  }
  // Refused now, before a file is written, rather than after writing them all.
  if (install && !options.dryRun && !packageManagerInstalled(pm)) throw new UserError(say.packageManagerMissing(pm));

  return {
    targetDir,
    displayDir: dir,
    packageName,
    renamedFrom: packageName === folderName ? null : folderName,
    template,
    install,
    git,
    packageManager: pm,
    force: options.force === true,
    dryRun: options.dryRun === true,
    resuming: resumed.length > 0,
  };
}

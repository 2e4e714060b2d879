/** Everything `create-tornado-app` says to its user, in one place. */

import { style } from "../cli/output.js";
import { scriptCommand } from "../cli/scripts.js";
import type { PackageManager } from "./package-managers.js";

// One line per template, shown beside it in the template question.
const TEMPLATE_DESCRIPTIONS = new Map([
  ["rest", "a JSON API: a users resource with validation, CORS and tests"],
  ["websocket", "a chat on WebSockets with a browser page; Redis to run several processes"],
  ["slow-db", "PostgreSQL (or an embedded PostgreSQL): query timeouts, cancellation, bounded heavy reports"],
]);

/**
 * Each line `create-tornado-app` prints, as text or a function building it.
 *
 * @example
 * throw new UserError(createMessages.notEmpty("my-api"));
 */
export const createMessages = {
  description: "Create a new app on the tornado runtime (Tornado's handler model for TypeScript).",
  missingDirectory:
    "Give the folder to create the app in, e.g. `create-tornado-app my-api` (no terminal to ask you in).",
  emptyName: "Type a name for the app's folder (for example my-api).",
  controlCharacter: (input: string) =>
    `Cannot use ${JSON.stringify(input)} as the app's folder: it contains a control character (a Ctrl key the terminal passed on); type the name again.`,
  badName: (input: string, why: string) => `Cannot use "${input}" as the app's package name: ${why}.`,
  renamed: (input: string, name: string) => `Package name "${input}" is not a valid npm name; using ${style.bold(name)}.`,
  unknownTemplate: (name: string, available: string[]) =>
    `There is no template "${name}": choose one of ${available.join(", ")} (--template ${available[0]}).`,
  templateNotYet: (name: string, available: string[]) =>
    `The ${name} template is not available in this version yet: choose one of ${available.join(", ")}.`,
  badPackageManager: (name: string) => `Unknown package manager "${name}": use npm, pnpm or yarn.`,
  notEmpty: (dir: string) =>
    `The folder ${dir} already exists and is not empty: choose another name, empty it, or pass --force to write the template into it (your other files are kept).`,
  notADirectory: (dir: string) => `${dir} exists and is not a folder: choose another name.`,
  cannotWrite: (dir: string, why: string) => `Cannot write the app into ${dir} (${why}): choose a folder you can write to.`,
  conflictWarning: (count: number) => `--force: overwriting ${count} existing file(s) that the template also has.`,
  dryRunHeader: (count: number, dir: string) => `Would write ${count} files into ${dir} (dry run: nothing written):`,
  scaffolding: (dir: string, template: string) => `Creating a ${style.bold(template)} app in ${style.bold(dir)}`,
  wrote: (count: number) => `Wrote ${count} files`,
  installing: (pm: string) => `Installing dependencies with ${pm}`,
  installed: "Installed dependencies",
  installFailed: (pm: string, code: number | null, finish: string) =>
    `${pm} install failed (exit ${code ?? "signal"}); the app's files are in place. To finish, fix the problem above and run: ${finish}`,
  installInterrupted: (finish: string) => `Install interrupted; the app's files are in place. To finish, run: ${finish}`,
  packageManagerMissing: (pm: string) =>
    `${pm} is not installed: install it (or run \`corepack enable\`), or choose another with --package-manager npm, or pass --no-install; nothing was written.`,
  resuming: (dir: string) => `${dir} holds the files of an earlier run whose install did not finish: resuming it`,
  gitDone: "Initialized a git repository with a first commit",
  gitSkipped: (why: string) => `Skipped git: ${why}`,
  nextSteps: (cdTarget: string | null, pm: PackageManager, installed: boolean) =>
    [
      "",
      style.green("Done. Now run:"),
      "",
      ...(cdTarget ? [`  cd ${cdTarget}`] : []),
      ...(installed ? [] : [`  ${pm} install`]),
      `  ${pm === "npm" ? "npm run" : pm} dev`,
      "",
      `Tests: ${pm === "npm" ? "npm" : pm} test · Build: ${pm === "npm" ? "npm run" : pm} build · Production: ${pm === "npm" ? "npm" : pm} start`,
      `Add a handler: ${scriptCommand("generate", ["handler", "orders"], pm)} · Routes: ${scriptCommand("routes", [], pm)}`,
      "",
    ].join("\n"),
  promptName: "App name (its folder)",
  promptTemplate: "Template",
  templateChoice: (name: string, all: readonly string[]) =>
    `${name.padEnd(Math.max(...all.map((n) => n.length)))}  ${TEMPLATE_DESCRIPTIONS.get(name) ?? ""}`.trimEnd(),
  promptInstall: "Install dependencies now?",
  promptGit: "Initialize a git repository?",
  cancelled: "Cancelled: nothing was written.",
} as const;

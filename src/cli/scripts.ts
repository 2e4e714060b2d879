/**
 * How a user runs one of the app's own commands: always through the app's package scripts
 * (`npm run generate -- handler orders`). Never a bare `tornado …` (not on the PATH outside an
 * npm script) nor through npx (the npm registry's `tornado` is an unrelated package that npx
 * would download and run).
 */

/**
 * The package manager that is running us through a package script (from
 * `npm_config_user_agent`), else npm.
 *
 * @example
 * runningPackageManager("pnpm/9.0.0 npm/? node/v20.19.0 linux x64") // "pnpm"
 */
export function runningPackageManager(userAgent = process.env.npm_config_user_agent ?? ""): "npm" | "pnpm" | "yarn" {
  const name = userAgent.split("/")[0];
  return name === "pnpm" || name === "yarn" ? name : "npm";
}

/**
 * The command line that runs the app's `script` with `args`, as the given package manager
 * spells it: npm needs `--` before the arguments; pnpm and yarn pass them on as they are.
 *
 * @example
 * scriptCommand("generate", ["handler", "orders"])          // "npm run generate -- handler orders"
 * scriptCommand("routes", [], "pnpm")                        // "pnpm routes"
 */
export function scriptCommand(script: string, args: readonly string[] = [], pm: "npm" | "pnpm" | "yarn" = runningPackageManager()): string {
  if (pm !== "npm") return [pm, script, ...args].join(" ");
  return ["npm", "run", script, ...(args.length > 0 ? ["--", ...args] : [])].join(" ");
}

/**
 * `text` as one word for a POSIX shell: as it is when it is plain, else in single quotes
 * (double quotes would still expand `$`, backquotes and, in bash, `!`).
 *
 * @example
 * shellQuote("my-api")   // "my-api"
 * shellQuote("My App!")  // "'My App!'"
 */
export function shellQuote(text: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(text)) return text;
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

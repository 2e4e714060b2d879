/** `tornado dev`: run the app from TypeScript source, restarting on change without dropping anyone. */

import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { Command } from "commander";
import { checkLogFormat, loadDotenv, portOrigin, resolvePort } from "../cli/env.js";
import { UserError } from "../cli/errors.js";
import { whenOrphaned } from "../cli/orphan.js";
import {
  appArguments,
  DEFAULT_WATCH,
  forgetNodeLoadedEnvFile,
  insideApp,
  parseInspect,
  parseNodeOptions,
  readEnvFile,
  readPackageDevConfig,
  type InspectConfig,
  type WatchConfig,
} from "../dev/config.js";
import { devMessages as say } from "../dev/messages.js";

/**
 * Parses a duration option in milliseconds: a positive integer (or, with `allowZero`, 0).
 *
 * @example
 * parseMilliseconds("--start-timeout", "2000") // 2000
 */
export function parseMilliseconds(option: string, value: string, allowZero = false): number {
  const ms = Number(value);
  if (!/^\d+$/.test(value) || ms < (allowZero ? 0 : 1) || ms > 3_600_000) throw new UserError(say.badMilliseconds(option, value, allowZero));
  return ms;
}

const collect = (value: string, previous: string[]) => [...previous, value];

interface DevFlags {
  port?: string;
  host: string;
  entry: string;
  clear: boolean;
  startTimeout: string;
  envFile?: string;
  nodeOptions?: string;
  watch: string[];
  ignore: string[];
  ext?: string;
  debounce?: string;
  static: string[];
  poll?: boolean;
  inspect?: string | true;
  inspectBrk?: string | true;
  typecheck: boolean;
}

// The command line wins over package.json, which wins over the defaults; lists add up.
function watchConfig(root: string, flags: DevFlags): WatchConfig {
  const fromPackage = readPackageDevConfig(root);
  const ext = flags.ext === undefined ? (fromPackage.ext ?? []) : flags.ext.split(",").map((e) => e.trim().replace(/^\./, "")).filter((e) => e !== "");
  if (ext.some((e) => !/^[A-Za-z0-9_.-]{1,20}$/.test(e))) throw new UserError(`--ext takes extensions separated by commas (e.g. ts,json), not "${String(flags.ext).slice(0, 80)}".`);
  const paths = [...(fromPackage.paths ?? []), ...flags.watch].map((p) => insideApp(root, p, "--watch"));
  for (const path of paths) if (!existsSync(resolve(root, path))) throw new UserError(`--watch ${path} does not exist: give a file or folder of the app.`);
  return {
    paths,
    ignore: [...(fromPackage.ignore ?? []), ...flags.ignore],
    ext,
    debounce: flags.debounce === undefined ? (fromPackage.debounce ?? DEFAULT_WATCH.debounce) : parseMilliseconds("--debounce", flags.debounce, true),
    poll: flags.poll ?? fromPackage.poll ?? false,
    statics: [...(fromPackage.statics ?? []), ...flags.static].map((p) => insideApp(root, p, "--static")),
  };
}

/**
 * The `tornado dev` subcommand.
 *
 * @example
 * program.addCommand(devCommand());
 */
export function devCommand(): Command {
  return new Command("dev")
    .description("run the app from TypeScript source and restart it on every change, dropping no connection")
    .argument("[args...]", "arguments for the app, after -- (its process.argv, for parseCommandLine)")
    .option("-p, --port <port>", "port to listen on (default: PORT from the environment, else from .env, else 8888)")
    .option("-H, --host <address>", "address to listen on (0.0.0.0 for every interface)", "127.0.0.1")
    .option("-e, --entry <file>", "the app's TypeScript entry", "src/main.ts")
    .option("--no-clear", "do not clear the screen on restart")
    .option("--start-timeout <ms>", "how long the app may take to call listen() before it counts as failed", "15000")
    .option("--env-file <path>", "read the app's variables from this file instead of .env")
    .option("--node-options <flags>", 'Node flags for the app process, e.g. "--max-old-space-size=256"')
    .option("--watch <path>", "also watch this file or folder (repeatable)", collect, [])
    .option("--ignore <glob>", "changes matching this glob restart nothing (repeatable)", collect, [])
    .option("--ext <list>", "only files with these extensions restart, e.g. ts,json (default: every file)")
    .option("--debounce <ms>", "saves right after a restarting save, closer than this, are one more restart (default 40)")
    .option("--static <dir>", "a folder the app serves from disk: a change there needs no restart (repeatable)", collect, [])
    .option("--poll", "poll for changes (file systems without events: containers, network mounts)")
    .option("--inspect [host:port]", "open the debugger on every app process (default 127.0.0.1:9229)")
    .option("--inspect-brk [host:port]", "as --inspect, and wait for a debugger before the entry runs")
    .option("--no-typecheck", "do not run the type checker beside the app")
    .action(async (operands: string[], options: DevFlags) => {
      const root = process.cwd();
      const entry = resolve(root, options.entry);
      if (!existsSync(entry)) throw new UserError(say.missingEntry(options.entry));
      if (options.host.trim() === "" || options.host.length > 255) {
        throw new UserError(`--host must be an address or a host name (e.g. 127.0.0.1 or 0.0.0.0), not "${options.host.slice(0, 255)}".`);
      }
      const appArgs = appArguments(operands, process.argv);
      const envFile = options.envFile === undefined ? undefined : resolve(root, options.envFile);
      if (envFile !== undefined) forgetNodeLoadedEnvFile(envFile);
      const dotenv = envFile === undefined ? loadDotenv(root) : readEnvFile(envFile);
      checkLogFormat({ ...dotenv, ...process.env });
      const { port, source } = resolvePort(options.port, process.env, dotenv);
      const startTimeout = parseMilliseconds("--start-timeout", options.startTimeout);
      const nodeOptions = options.nodeOptions === undefined ? [] : parseNodeOptions(options.nodeOptions);
      const watch = watchConfig(root, options);
      if (options.inspect !== undefined && options.inspectBrk !== undefined) throw new UserError("Pass --inspect or --inspect-brk, not both.");
      let inspect: InspectConfig | null = null;
      if (options.inspect !== undefined) inspect = parseInspect("--inspect", options.inspect, false);
      if (options.inspectBrk !== undefined) inspect = parseInspect("--inspect-brk", options.inspectBrk, true);
      // Loaded here so that other commands do not pay for the watcher and the supervisor.
      const { DevSupervisor } = await import("../dev/supervisor.js");
      const supervisor = new DevSupervisor({
        root,
        entry,
        port,
        host: options.host,
        portOrigin: portOrigin(source).replace(".env", envFile === undefined ? ".env" : options.envFile!),
        clearScreen: options.clear,
        startTimeout,
        appArgs,
        envFile,
        nodeOptions,
        watch,
        inspect,
        typecheck: options.typecheck,
      });
      await supervisor.run();
      await new Promise<void>((done) => {
        for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
          process.once(signal, () => void supervisor.stop(signal).then(done));
        }
        whenOrphaned(() => void supervisor.stop().then(done));
      });
      // stdin (for `rs`) would keep the process alive; everything else is closed by now.
      process.exit(0);
    });
}

/**
 * Runs what a Dockerfile would run, without a container engine (none can pull images on our
 * machines): each stage gets a folder of its own standing for the image's file system, its
 * `COPY`s copy from the app (the build context, less `.dockerignore`) or from an earlier
 * stage, its `RUN`s run in the stage's `WORKDIR` with its `ENV`, and the last stage's `CMD`
 * is started. What the image would run, runs; what the host already has (Node, npm) stands in
 * for the base image, whose pinned version is checked instead.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { expect } from "vitest";

/** One instruction: its keyword (upper case) and the rest of its line, continuations joined. */
export interface Instruction {
  keyword: string;
  args: string;
}

/**
 * The Dockerfile's instructions, comments dropped and `\` continuations joined.
 *
 * @example
 * parseDockerfile(readFileSync("Dockerfile", "utf8"))[0] // { keyword: "FROM", args: "node:24.22.3-bookworm-slim AS build" }
 */
export function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.trimEnd();
    if (pending === "" && (line.trim() === "" || line.trimStart().startsWith("#"))) continue;
    if (line.endsWith("\\")) {
      pending += line.slice(0, -1) + " ";
      continue;
    }
    const whole = (pending + line).trim();
    pending = "";
    const space = whole.search(/\s/);
    instructions.push({ keyword: whole.slice(0, space).toUpperCase(), args: whole.slice(space + 1).trim() });
  }
  return instructions;
}

/** The image's view of one stage. */
interface Stage {
  name: string | undefined;
  image: string;
  root: string;
  workdir: string;
  env: Record<string, string>;
  user: string | undefined;
}

/** What running a Dockerfile left: the last stage's facts and how to start its CMD. */
export interface DockerfileRun {
  /** The base image of every stage, in order. */
  images: string[];
  /** The last stage's folder standing for its `/`. */
  root: string;
  /** The last stage's `WORKDIR`, on this machine. */
  workdir: string;
  /** The last stage's `ENV`. */
  env: Record<string, string>;
  /** The last stage's `USER`. */
  user: string | undefined;
  stopSignal: string | undefined;
  /** `HEALTHCHECK`'s command (exec form), if any. */
  healthcheck: string[] | undefined;
  /** `CMD` (exec form). */
  cmd: string[];
  /** Starts `CMD` in the last stage's workdir with its `ENV` plus `env`. */
  start(env: NodeJS.ProcessEnv): ChildProcess;
  /** Runs the healthcheck's command to its end; resolves with its exit code. */
  check(env: NodeJS.ProcessEnv): number | null;
  /** Removes every stage's folder. */
  remove(): void;
}

// Paths in the image (`/app/x`) live under the stage's root folder on this machine.
const onHost = (stage: Stage, path: string) => join(stage.root, path.startsWith("/") ? path : join(stage.workdir, path));

function exec(args: string): string[] {
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === "string")) throw new Error(`not an exec form: ${args}`);
  return parsed;
}

// The build context's files minus .dockerignore's patterns (the forms templates use: names,
// `*` globs, `!` exceptions).
function contextFilter(context: string): (path: string) => boolean {
  const file = join(context, ".dockerignore");
  const rules = existsSync(file)
    ? readFileSync(file, "utf8")
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "" && !l.startsWith("#"))
        .map((l) => ({ negate: l.startsWith("!"), pattern: new RegExp("^" + l.replace(/^!/, "").replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*") + "(/|$)") }))
    : [];
  return (path) => {
    const rel = relative(context, path).split("\\").join("/");
    if (rel === "") return true;
    let ignored = false;
    for (const rule of rules) if (rule.pattern.test(rel)) ignored = !rule.negate;
    return !ignored;
  };
}

/**
 * Runs the Dockerfile in `context` (the app's folder) up to its last stage's `CMD`, which it
 * does not start (`start()` does). A failing `RUN` throws with its output.
 *
 * @example
 * const image = runDockerfile(appDir);
 * const child = image.start({ PORT: "8080" });
 */
export function runDockerfile(context: string): DockerfileRun {
  const base = mkdtempSync(join(tmpdir(), "dockerfile-"));
  const stages: Stage[] = [];
  const allowed = contextFilter(context);
  let stopSignal: string | undefined;
  let healthcheck: string[] | undefined;
  let cmd: string[] | undefined;
  const current = () => {
    const stage = stages.at(-1);
    if (stage === undefined) throw new Error("an instruction before FROM");
    return stage;
  };
  for (const { keyword, args } of parseDockerfile(readFileSync(join(context, "Dockerfile"), "utf8"))) {
    switch (keyword) {
      case "FROM": {
        const [image, as, name] = args.split(/\s+/);
        const root = join(base, `stage-${stages.length}`);
        mkdirSync(root, { recursive: true });
        stages.push({ image: image!, name: as?.toUpperCase() === "AS" ? name : undefined, root, workdir: "/", env: {}, user: undefined });
        break;
      }
      case "WORKDIR": {
        const stage = current();
        stage.workdir = args.startsWith("/") ? args : join(stage.workdir, args);
        mkdirSync(onHost(stage, stage.workdir), { recursive: true });
        break;
      }
      case "ENV": {
        for (const [, key, value] of args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) current().env[key!] = value!.replace(/^"|"$/g, "");
        break;
      }
      case "COPY": {
        const stage = current();
        const words = args.split(/\s+/);
        const from = words[0]!.startsWith("--from=") ? words.shift()!.slice("--from=".length) : undefined;
        const target = words.pop()!;
        const source = from === undefined ? undefined : stages.find((s) => s.name === from);
        if (from !== undefined && source === undefined) throw new Error(`COPY --from=${from}: no such stage`);
        for (const word of words) {
          const src = source === undefined ? join(context, word) : onHost(source, word);
          if (!existsSync(src)) throw new Error(`COPY ${word}: not found in ${source === undefined ? "the build context" : `stage ${from}`}`);
          // A folder's contents go into the target, as Docker copies them; a file into it.
          const dest = onHost(stage, target);
          const isDir = readdirSafe(src) !== null;
          const into = isDir ? dest : target.endsWith("/") || words.length > 1 ? join(dest, word.split("/").pop()!) : dest;
          cpSync(src, into, { recursive: true, filter: source === undefined ? allowed : () => true });
        }
        break;
      }
      case "RUN": {
        const stage = current();
        // BuildKit's --mount options (a cache for npm) change where files live, not what runs.
        const command = args.replace(/^(--mount=\S+\s+)+/, "");
        const result = spawnSync("sh", ["-c", command], { cwd: onHost(stage, stage.workdir), env: { ...process.env, ...stage.env }, encoding: "utf8", maxBuffer: 64 << 20 });
        if (result.status !== 0) throw new Error(`RUN ${args} failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
        break;
      }
      case "USER":
        current().user = args;
        break;
      case "STOPSIGNAL":
        stopSignal = args;
        break;
      case "HEALTHCHECK":
        healthcheck = exec(args.slice(args.indexOf("CMD") + 3).trim());
        break;
      case "CMD":
        cmd = exec(args);
        break;
      case "EXPOSE":
        break;
      default:
        throw new Error(`the Dockerfile uses ${keyword}, which this runner does not know`);
    }
  }
  const last = stages.at(-1)!;
  if (cmd === undefined) throw new Error("the Dockerfile has no CMD");
  const workdir = onHost(last, last.workdir);
  const run = (argv: string[], env: NodeJS.ProcessEnv): [string, string[], { cwd: string; env: NodeJS.ProcessEnv }] => [argv[0]!, argv.slice(1), { cwd: workdir, env: { ...process.env, ...last.env, ...env } }];
  return {
    images: stages.map((s) => s.image),
    root: last.root,
    workdir,
    env: last.env,
    user: last.user,
    stopSignal,
    healthcheck,
    cmd,
    start: (env) => {
      const [file, args, options] = run(cmd!, env);
      return spawn(file, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    },
    check: (env) => {
      if (healthcheck === undefined) throw new Error("the Dockerfile has no HEALTHCHECK");
      const [file, args, options] = run(healthcheck, env);
      return spawnSync(file, args, { ...options, timeout: 10_000 }).status;
    },
    remove: () => rmSync(base, { recursive: true, force: true }),
  };
}

function readdirSafe(path: string): string[] | null {
  try {
    return readdirSync(path);
  } catch {
    return null;
  }
}

/** What `checkDockerfile` checks, and what the test adds. */
export interface DockerfileCheck {
  /** The port the app is given (PORT). */
  port: number;
  /** The path that must answer 2xx once the app is up (polled until it does). */
  path: string;
  /** Variables on top of the image's ENV (DATABASE_URL, ...). */
  env?: NodeJS.ProcessEnv;
  /** Run while the app serves, with its base URL (`http://127.0.0.1:PORT`): the test's own calls. */
  whileServing?: (base: string) => Promise<void>;
  /** Run after the app exited, before the stages are removed: e.g. start the image again with another environment. */
  afterwards?: (image: DockerfileRun) => Promise<void>;
}

/**
 * Runs the app's Dockerfile steps and checks what a user of the image would see: a pinned Node
 * base, a non-root user, SIGTERM as the stop signal, the app answering on its port, the healthcheck passing, and SIGTERM ending it
 * with exit code 0. Returns what the test may check further, then removes the stages.
 *
 * @example
 * await checkDockerfile(app, { port: await freePort(), path: "/health" });
 */
export async function checkDockerfile(app: string, options: DockerfileCheck): Promise<{ body: string; installed: string[]; devCommand: { status: number | null; stderr: string } }> {
  const image = runDockerfile(app);
  try {
    for (const from of image.images) if (!/^node:\d+\.\d+\.\d+(-[\w.-]+)?$/.test(from)) throw new Error(`the base image ${from} is not pinned to a Node release`);
    if (image.user === undefined || image.user === "root" || image.user === "0") throw new Error(`the image runs as ${image.user ?? "root"}`);
    if (image.stopSignal !== "SIGTERM") throw new Error(`STOPSIGNAL is ${image.stopSignal}`);
    const installed = readdirSync(join(image.workdir, "node_modules"));
    // A development command in the image: one sentence, not a stack about a missing module.
    const dev = spawnSync(process.execPath, ["node_modules/tornado/bin/tornado.js", "routes"], { cwd: image.workdir, encoding: "utf8" });
    const devCommand = { status: dev.status, stderr: dev.stderr };
    const env = { ...options.env, PORT: String(options.port), TORNADO_DRAIN_DELAY: undefined };
    const child = image.start(env);
    let output = "";
    child.stdout!.on("data", (d) => (output += d));
    child.stderr!.on("data", (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      let body: string | undefined;
      for (let i = 0; i < 300 && body === undefined; i++) {
        body = await fetch(`http://127.0.0.1:${options.port}${options.path}`).then((r) => (r.ok ? r.text() : undefined), () => undefined);
        if (body === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
        if (child.exitCode !== null) throw new Error(`CMD exited (${child.exitCode}):\n${output}`);
      }
      if (body === undefined) throw new Error(`the app did not answer ${options.path} on ${options.port}:\n${output}`);
      const health = image.check(env);
      if (health !== 0) throw new Error(`the HEALTHCHECK failed (${health})`);
      await options.whileServing?.(`http://127.0.0.1:${options.port}`);
      child.kill("SIGTERM");
      const code = await exited;
      if (code !== 0) throw new Error(`after SIGTERM the app exited with ${code}:\n${output}`);
      await options.afterwards?.(image);
      return { body, installed, devCommand };
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  } finally {
    image.remove();
  }
}

/**
 * Starts the image's `CMD` with `env` and waits for it to exit on its own (killed after
 * `timeoutMs`): for a start that must fail, its exit code and what it printed.
 *
 * @example
 * const { code, stderr } = await runUntilExit(image, { DATABASE_URL: "" });
 */
export async function runUntilExit(image: DockerfileRun, env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = image.start(env);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once("close", (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/**
 * Checks that the image of a database template refuses to start without `DATABASE_URL` (its
 * Dockerfile sets `NODE_ENV=production`, where there is no embedded database): one sentence
 * naming the variable, no stack, exit 1.
 *
 * @example
 * await checkDockerfile(app, { ..., afterwards: (image) => expectRefusesWithoutDatabaseUrl(image, port) });
 */
export async function expectRefusesWithoutDatabaseUrl(image: DockerfileRun, port: number): Promise<void> {
  const refused = await runUntilExit(image, { DATABASE_URL: "", PORT: String(port) });
  expect(refused.code, refused.stdout + refused.stderr).toBe(1);
  expect(refused.stderr).toMatch(/^DATABASE_URL: must be set to your PostgreSQL server's postgres:\/\/ URL when NODE_ENV is production, where there is no embedded database \(it is not set\)\.$/m);
  expect(refused.stderr).not.toMatch(/^\s+at /m);
}

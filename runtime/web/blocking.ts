/**
 * Reports handlers that block the event loop: any stretch of a handler's synchronous work
 * (its first part, or any part after an `await`) longer than a threshold is logged with the
 * route, the handler method and its `.ts` location. On under `tornado dev` (100 ms) or with
 * the `blockingLogThreshold` setting; it uses async hooks, so it is meant for development.
 */

import { AsyncLocalStorage, createHook, type AsyncHook } from "node:async_hooks";
import type { Session } from "node:inspector";
import { findSourceMap } from "node:module";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { genLog } from "../log.js";
import type { HTTPServerRequest } from "../httputil/request.js";

// What the monitor reads of a handler (a RequestHandler): its request and its methods.
type MonitoredHandler = { readonly request: HTTPServerRequest };

interface Running {
  handler: MonitoredHandler;
  route: string;
}

const locations = new WeakMap<Function, Promise<string>>();

/**
 * Where a function is defined, as `file:line` relative to the working directory, mapped back
 * through source maps (so a TypeScript method gives its `.ts` line). Asks V8 through the
 * inspector; meant for development.
 *
 * @example
 * await functionLocation(UserHandler.prototype.get) // "src/handlers/users.ts:27"
 */
export function functionLocation(fn: Function): Promise<string> {
  let found = locations.get(fn);
  if (found === undefined) {
    found = locate(fn).catch(() => "unknown location");
    locations.set(fn, found);
  }
  return found;
}

async function locate(fn: Function): Promise<string> {
  // node:inspector only here, when a handler has blocked: importing it costs ~3 ms of CPU at
  // startup in every process that builds an app.
  const session: Session = new (process.getBuiltinModule("node:inspector").Session)();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<any>((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
  const scripts = new Map<string, string>();
  session.on("Debugger.scriptParsed", (message: { params: { scriptId: string; url: string } }) =>
    scripts.set(message.params.scriptId, message.params.url),
  );
  const key = `__tornadoLocate${Math.random().toString(36).slice(2)}`;
  try {
    await post("Debugger.enable");
    (globalThis as Record<string, unknown>)[key] = fn;
    const { result } = await post("Runtime.evaluate", { expression: `globalThis.${key}` });
    const { internalProperties } = await post("Runtime.getProperties", { objectId: result.objectId });
    const where = internalProperties.find((p: { name: string }) => p.name === "[[FunctionLocation]]")?.value?.value;
    if (!where) return "unknown location";
    const url = scripts.get(where.scriptId) ?? "";
    const mapped = url ? findSourceMap(url)?.findEntry(where.lineNumber, where.columnNumber) : undefined;
    const source: string = mapped && "originalSource" in mapped ? String(mapped.originalSource) : url;
    const line = (mapped && "originalLine" in mapped ? Number(mapped.originalLine) : where.lineNumber) + 1;
    const path = source.startsWith("file:") ? relative(process.cwd(), fileURLToPath(source)) : source;
    return `${path}:${line}`;
  } finally {
    delete (globalThis as Record<string, unknown>)[key];
    await post("Debugger.disable").catch(() => {});
    session.disconnect();
  }
}

const METHOD_NAMES: Record<string, string> = { GET: "get", HEAD: "head", POST: "post", PUT: "put", PATCH: "patch", DELETE: "delete", OPTIONS: "options" };

/**
 * Times each synchronous stretch of the handlers it runs and logs those over the threshold on
 * `tornado.general`: `GET /users/:id: UserHandler.get (src/handlers/users.ts:27) blocked the
 * event loop for 250 ms`.
 *
 * @example
 * const monitor = new BlockingMonitor(100);
 * monitor.run(handler, "/users/:id", () => handler._execute(args, [], {}));
 */
export class BlockingMonitor {
  private readonly context = new AsyncLocalStorage<Running>();
  private readonly starts: number[] = [];
  private readonly hook: AsyncHook;

  constructor(readonly thresholdMs: number) {
    this.hook = createHook({
      before: () => {
        this.starts.push(performance.now());
      },
      after: () => {
        const began = this.starts.pop();
        if (began === undefined) return;
        const ms = performance.now() - began;
        if (ms > this.thresholdMs) {
          const running = this.context.getStore();
          if (running) this.report(running, ms);
        }
      },
    }).enable();
  }

  /** Stops timing (the async hook is removed). @example monitor.disable() */
  disable(): void {
    this.hook.disable();
  }

  /**
   * Runs `fn` (a handler's execution) so that its synchronous stretches, now and after each
   * `await`, are timed and attributed to `handler` on `route`.
   *
   * @example
   * monitor.run(handler, rule.pattern, () => handler._execute(initArgs, args, kwargs));
   */
  run<T>(handler: MonitoredHandler, route: string, fn: () => T): T {
    const running = { handler, route };
    const began = performance.now();
    try {
      return this.context.run(running, fn);
    } finally {
      const ms = performance.now() - began;
      if (ms > this.thresholdMs) this.report(running, ms);
    }
  }

  private report({ handler, route }: Running, ms: number): void {
    const method = handler.request.method;
    const self = handler as unknown as Record<string, unknown>;
    const name = METHOD_NAMES[method] ?? method.toLowerCase();
    const fn = (typeof self[name] === "function" ? self[name] : method === "HEAD" ? self.get : undefined) as Function | undefined;
    const what = `${handler.constructor.name}.${typeof self[name] === "function" ? name : "get"}`;
    const say = (where: string) => genLog.warning(`${method} ${route}: ${what} (${where}) blocked the event loop for ${Math.round(ms)} ms`);
    if (fn) void functionLocation(fn).then(say);
    else say("no such method");
  }
}

let shared: BlockingMonitor | undefined;

/**
 * The process's monitor for a threshold in ms (one per process: async hooks are global), or
 * `undefined` when the threshold is 0.
 *
 * @example
 * const monitor = blockingMonitor(settings.blockingLogThreshold ?? 0);
 */
export function blockingMonitor(thresholdMs: number): BlockingMonitor | undefined {
  if (!(thresholdMs > 0)) return undefined;
  if (shared === undefined || shared.thresholdMs !== thresholdMs) {
    shared?.disable();
    shared = new BlockingMonitor(thresholdMs);
  }
  return shared;
}

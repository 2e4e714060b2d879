/**
 * The program each executor thread runs, as source text. A string rather than a file: the
 * runtime is loaded from `.ts` under vitest and `tornado dev` and from `.js` once built, and an
 * `eval` worker needs no file beside either. It may run as CommonJS or as a module (a worker inherits `--input-type`), so it
 * takes Node's modules from `process.getBuiltinModule`; it is wrapped in a function so that
 * code rebuilt with a global `eval` sees none of its names.
 *
 * `workerData.tsxApi`, when set, is the URL of tsx's API: a module Node cannot load (TypeScript,
 * or a `.js` URL whose source is `.ts`) is then loaded with its `tsImport`.
 *
 * Protocol: the pool posts one task at a time, `{ kind: "source", source, args }` or
 * `{ kind: "module", url, exportName, args }`; the worker answers `{ ok: true, value }` or
 * `{ ok: false, error }`, where `error` describes the error (name, message, stack, code) or
 * carries a thrown non-Error value as `{ thrown: true, value }`.
 */
export const WORKER_SOURCE = String.raw`"use strict";
(() => {
  const { parentPort, workerData } = process.getBuiltinModule("node:worker_threads");
  const globalEval = eval;
  const compiled = new Map();
  const modules = new Map();
  const COMPILED_LIMIT = 256;

  // Functions arrive as their tools compiled them. tsx (under tornado dev) compiles with
  // esbuild's keepNames, which calls __name(fn, "name") inside functions that declare named
  // functions; vitest turns import() into __vite_ssr_dynamic_import__(). Give both to them.
  if (typeof globalThis.__name !== "function") {
    globalThis.__name = (fn, name) => Object.defineProperty(fn, "name", { value: name, configurable: true });
  }
  if (typeof globalThis.__vite_ssr_dynamic_import__ !== "function") {
    globalThis.__vite_ssr_dynamic_import__ = (specifier) => import(specifier);
  }

  function executorError(code, message) {
    return Object.assign(new Error(message), { name: "ExecutorError", code });
  }

  function compile(source) {
    let fn = compiled.get(source);
    if (fn) return fn;
    try {
      fn = globalEval("(" + source + "\n)");
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
      // A method's source ("hash(x) { ... }") is not an expression; inside an object literal it is.
      try {
        const holder = globalEval("({" + source + "\n})");
        fn = holder[Reflect.ownKeys(holder)[0]];
      } catch {
        throw executorError("ERR_EXECUTOR_FUNCTION", "runInExecutor could not rebuild the function from its source (" + error.message + "); pass a function or arrow function, or use the { module, export } form");
      }
    }
    if (typeof fn !== "function") throw executorError("ERR_EXECUTOR_FUNCTION", "runInExecutor was given something that is not a function");
    if (compiled.size >= COMPILED_LIMIT) compiled.delete(compiled.keys().next().value);
    compiled.set(source, fn);
    return fn;
  }

  async function load(url, exportName) {
    let namespace = modules.get(url);
    if (!namespace) {
      namespace = import(url).catch((error) => {
        const tsxApi = workerData && workerData.tsxApi;
        if (!tsxApi || (error.code !== "ERR_UNKNOWN_FILE_EXTENSION" && error.code !== "ERR_MODULE_NOT_FOUND")) throw error;
        return import(tsxApi).then((tsx) => tsx.tsImport(url, url)).catch(() => Promise.reject(error));
      });
      modules.set(url, namespace);
      namespace.catch(() => modules.delete(url));
    }
    const exports = await namespace;
    const fn = exports[exportName];
    if (typeof fn !== "function") {
      const names = Object.keys(exports).join(", ") || "nothing";
      throw executorError("ERR_EXECUTOR_FUNCTION", url + " has no exported function \"" + exportName + "\" (it exports " + names + ")");
    }
    return fn;
  }

  // Whether source mentions name as an identifier, not as a property (".name") or part of a word.
  function mentions(source, name) {
    const escaped = name.replace(/[$]/g, "\\$");
    return new RegExp("(^|[^\\w$.])" + escaped + "(?![\\w$])").test(source);
  }

  function describe(error, source) {
    if (!(error instanceof Error)) {
      try {
        structuredClone(error);
        return { thrown: true, value: error };
      } catch {
        return { name: "Error", message: String(error) };
      }
    }
    const described = { name: error.name, message: error.message, stack: error.stack };
    if (typeof error.code === "string") described.code = error.code;
    const missing = error instanceof ReferenceError && /^([\w$]+) is not defined$/.exec(error.message);
    if (missing && source !== undefined && mentions(source, missing[1])) {
      described.code = "ERR_EXECUTOR_SCOPE";
      described.identifier = missing[1];
    }
    return described;
  }

  parentPort.on("message", async (task) => {
    let reply;
    try {
      const fn = task.kind === "source" ? compile(task.source) : await load(task.url, task.exportName);
      reply = { ok: true, value: await fn(...task.args) };
    } catch (error) {
      reply = { ok: false, error: describe(error, task.source) };
    }
    try {
      parentPort.postMessage(reply);
    } catch (error) {
      parentPort.postMessage({ ok: false, error: { name: "ExecutorError", code: "ERR_EXECUTOR_CLONE", message: "runInExecutor: the result cannot be sent back from the worker thread (" + error.message + "); return JSON-like values, Buffers, Maps, Dates and the like" } });
    }
  });
})();
`;

/**
 * The app process of `tornado dev`. Started ahead of time, it readies the TypeScript loader
 * (Node's own type stripping with `./x.js` resolved to `./x.ts`, or tsx with `--import tsx`)
 * and loads the packages the app imports, then waits for `tornado:start` and imports the
 * app's entry; the app's `listen()` reports back (see runtime/httpserver/supervised.ts). When
 * type stripping cannot read the app (an enum, a parameter property, a syntax error), the app
 * is imported again through tsx, after telling the supervisor (`tornado:tsx`).
 */

import inspector from "node:inspector";
import nodeModule from "node:module";
import { pathToFileURL } from "node:url";
import { hookAppSources, importAppSource } from "../commands/app-import.js";
import { preloadAppImports } from "./preload.js";

const entry = process.env.TORNADO_DEV_ENTRY;
const root = process.env.TORNADO_DEV_ROOT ?? process.cwd();
const native = process.env.TORNADO_DEV_LOADER === "native";

// Reports the error to the supervisor (which prints it) and exits.
function fail(error: unknown): void {
  const text = error instanceof Error ? (error.stack ?? String(error)) : String(error);
  if (process.send) process.send({ type: "tornado:failed", message: text }, () => process.exit(1));
  else process.exit(1);
}

interface Inspect {
  host: string;
  port: number;
  brk: boolean;
}

async function startApp(inspect: Inspect | null): Promise<void> {
  if (!entry) return fail(new Error("TORNADO_DEV_ENTRY is not set"));
  if (inspect) {
    // The previous app process has closed its inspector: this one takes the same port, so a
    // debugger that follows the port (chrome://inspect, VS Code's attach with restart) reconnects.
    inspector.open(inspect.port, inspect.host, false);
    if (inspect.brk) {
      inspector.waitForDebugger();
      // --inspect-brk: stop here, before the entry runs; step into the import below.
      // eslint-disable-next-line no-debugger
      debugger;
    }
  }
  // From here on the IPC channel alone does not keep this process alive, as nothing would under
  // `node`: an entry that ends without listening exits (and the supervisor says so) instead of
  // idling until the start timeout. The app's server takes the channel back when it attaches.
  process.channel?.unref();
  // As under `node src/main.ts …`: argv[1] is the entry, the app's arguments follow.
  process.argv[1] = entry;
  try {
    if (native) await importAppSource(root, entry, (error) => process.send?.({ type: "tornado:tsx", code: (error as { code?: unknown })?.code ?? null }));
    else await import(pathToFileURL(entry).href);
  } catch (error) {
    fail(error);
  }
}

// Node strips types with a WebAssembly module it compiles on first use (about 100 ms): here,
// before the save, rather than in the restart. Its "experimental" warning is left unsaid.
function warmTypeStripping(): void {
  const strip = (nodeModule as { stripTypeScriptTypes?: (code: string) => string }).stripTypeScriptTypes;
  if (typeof strip !== "function") return;
  const emit = process.emitWarning;
  process.emitWarning = (() => {}) as typeof process.emitWarning;
  try {
    strip("const warm: number = 1;");
  } catch {
    // the app's own import reports what is wrong
  } finally {
    process.emitWarning = emit;
  }
}

process.on("message", (message: { type?: string; inspect?: Inspect | null }) => {
  if (message?.type === "tornado:start") void startApp(message.inspect ?? null).catch(() => {});
  else if (message?.type === "tornado:inspector-close") {
    inspector.close();
    process.send?.({ type: "tornado:inspector-closed" });
  }
});
process.on("uncaughtException", (error) => {
  // Once the app serves, the runtime's process guard (runtime/ioloop/process-guard.ts) logs such
  // an error and keeps serving, as under `tornado start`; before that, it is a failed start.
  if (process.listenerCount("uncaughtException") > 1) return;
  fail(error);
});
process.once("disconnect", () => process.exit(0));

// Compiled code of the runtime, its dependencies and the app is kept between restarts (Node 22.1+).
(nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();
if (native) {
  hookAppSources(root);
  warmTypeStripping();
}
if (entry) await preloadAppImports(root, entry);
process.send?.({ type: "tornado:standby" });

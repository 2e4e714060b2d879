#!/usr/bin/env node
// The `tornado` command. `start` runs with nothing but the runtime (an app's production install
// leaves the CLI's dependencies out); every other command needs them (tornado-tools, a
// development dependency of every app).
if (process.argv[2] === "start") {
  await import("../dist/src/start/cli.js");
} else {
  let cli;
  try {
    import.meta.resolve("commander");
    cli = "../dist/src/tornado.js";
  } catch {
    process.stderr.write(
      `error: tornado ${process.argv[2] ?? ""} needs the app's development dependencies (tornado-tools), which a production install (npm ci --omit=dev) leaves out: run npm install.\n`.replace("tornado  needs", "tornado needs"),
    );
    process.exit(1);
  }
  // Node keeps the compiled code of the CLI's modules between runs (22.1+): a generate loads ~60,
  // Handlebars and oxc-parser among them. Not for start, which runs the app's own code.
  process.getBuiltinModule("node:module").enableCompileCache?.();
  await import(cli);
}

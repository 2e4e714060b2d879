/**
 * The smoke set for a Node line (test/smoke): `.ci/run` runs it under Node 22 and 24 with that
 * line's bin folder first on PATH. Not part of `npm test` (the main config leaves test/smoke
 * out): it repeats, in short, what test/e2e covers in depth.
 *
 * @example
 * PATH=~/.cache/create-tornado-app/node/22.23.5/bin:$PATH TORNADO_NODE_LINE=22 \
 *   npx vitest run --config test/smoke/vitest.config.ts
 */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import base from "../../vitest.config.js";

export default defineConfig({
  ...base,
  root: fileURLToPath(new URL("../../", import.meta.url)),
  test: {
    ...base.test,
    include: ["test/smoke/**/*.test.ts"],
    exclude: ["**/node_modules/**"],
  },
});

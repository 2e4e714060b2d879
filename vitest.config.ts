import { configDefaults, defineConfig } from "vitest/config";
import { standardDecorators } from "./runtime/testing/decorators.js";

export default defineConfig({
  // Node 20 cannot run standard decorators (`@authenticated`) and Vite leaves them in place.
  plugins: [standardDecorators()],
  test: {
    include: ["test/**/*.test.ts"],
    // The smoke set for other Node lines runs on its own (test/smoke/vitest.config.ts, .ci/run).
    exclude: [...configDefaults.exclude, "test/smoke/**"],
    // A test that lets a warning or an error reach the log output fails (test/helpers/log-guard.ts).
    setupFiles: ["test/helpers/log-guard.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});

import { standardDecorators } from "tornado/testing";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // Lets tests load handlers that use decorators such as @authenticated (Node 20 cannot run
  // them as written, and vitest leaves them in place).
  plugins: [standardDecorators()],
  test: {
    include: ["test/**/*.test.ts"],
    // Creates the embedded database the test files copy (see the file).
    globalSetup: ["test/global-setup.ts"],
    // A new embedded database runs initdb (a few seconds, more on a busy machine), and some
    // tests wait on slow queries on purpose.
    hookTimeout: 60_000,
    testTimeout: 60_000,
  },
});

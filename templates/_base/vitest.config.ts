import { standardDecorators } from "tornado/testing";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // Lets tests load handlers that use decorators such as @authenticated (Node 20 cannot run
  // them as written, and vitest leaves them in place).
  plugins: [standardDecorators()],
  test: {
    include: ["test/**/*.test.ts"],
  },
});

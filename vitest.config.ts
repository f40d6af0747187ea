import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["src/**/*.test.ts"],
          environment: "node",
          testTimeout: 10_000,
        },
      },
      {
        test: {
          name: "conformance",
          include: ["suites/**/*.test.ts"],
          environment: "node",
          // Container tests set their own, longer timeouts per hook and test.
          testTimeout: 120_000,
          hookTimeout: 600_000,
          globalSetup: ["suites/support/global-setup.ts"],
          // Cells run in parallel inside a file (describe.concurrent); files share the engine.
          fileParallelism: false,
        },
      },
    ],
  },
});

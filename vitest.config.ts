import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["src/**/*.test.ts"],
          exclude: ["src/**/*.container.test.ts", "**/node_modules/**"],
          environment: "node",
          testTimeout: 10_000,
        },
      },
      {
        // The harness's own behaviour against a real engine (cleanup, images): needs Docker.
        test: {
          name: "harness",
          include: ["src/**/*.container.test.ts"],
          environment: "node",
          testTimeout: 120_000,
          fileParallelism: false,
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
          setupFiles: ["suites/support/worker-setup.ts"],
          // Cells run in parallel inside a file (describe.concurrent); files share the engine.
          fileParallelism: false,
        },
      },
    ],
  },
});

import FileSchedule from "./src/run/file-schedule.ts";
import { defineConfig } from "vitest/config";

// A conformance run that publishes a report sets DISTCHECK_RESULTS_DIR: Allure results (allure-vitest)
// and distcheck's own per-test records (clause ids, cell, attachments) are written there.
const resultsDir = process.env.DISTCHECK_RESULTS_DIR;

export default defineConfig({
  test: {
    reporters: resultsDir
      ? ["default", ["allure-vitest/reporter", { resultsDir }], ["./src/report/distcheck-vitest-reporter.ts", { resultsDir }]]
      : ["default"],
    // Which conformance files start first (src/run/file-schedule.ts); other files keep vitest's order.
    // vitest reads the sequencer from the root config only: set in a project, it is silently ignored.
    sequence: { sequencer: FileSchedule },
    projects: [
      {
        test: {
          name: "unit",
          include: ["src/**/*.test.ts", "bench/**/*.test.ts"],
          exclude: ["src/**/*.container.test.ts", "src/**/*.browser.test.ts", "**/node_modules/**"],
          environment: "node",
          testTimeout: 10_000,
        },
      },
      {
        // The published report opened in headless Chromium (Debian's chromium package).
        test: {
          name: "browser",
          include: ["src/**/*.browser.test.ts"],
          environment: "node",
          testTimeout: 180_000,
          // Rendering a large single-file report can stall on a loaded machine; one retry.
          retry: 1,
          fileParallelism: false,
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
          exclude: ["suites/certify/**", "**/node_modules/**"],
          environment: "node",
          // Container tests set their own, longer timeouts per hook and test.
          testTimeout: 120_000,
          hookTimeout: 600_000,
          globalSetup: ["suites/support/global-setup.ts"],
          setupFiles: ["suites/support/worker-setup.ts"],
          // Cells run in parallel inside a file (describe.concurrent), and two files at once: the
          // timing suite waits out grace periods while another file keeps the cores busy
          // (src/run/file-schedule.ts says which files start first).
          fileParallelism: true,
          maxWorkers: 2,
        },
      },
      {
        // Faults of a whole run (issue #16): a run killed or interrupted, and what it leaves behind.
        test: {
          name: "faults",
          include: ["faults/**/*.faults.test.ts"],
          environment: "node",
          testTimeout: 600_000,
          fileParallelism: false,
        },
      },
      {
        // `distcheck certify`: an artifact's dynamic checks on every cell (DISTCHECK_CERTIFY_PLAN).
        test: {
          name: "certify",
          include: ["suites/certify/**/*.test.ts"],
          environment: "node",
          testTimeout: 600_000,
          hookTimeout: 600_000,
          globalSetup: ["suites/support/global-setup.ts"],
          setupFiles: ["suites/support/worker-setup.ts"],
          fileParallelism: false,
        },
      },
    ],
  },
});

import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, inject } from "vitest";
import { EXEC_COUNTS } from "../../src/containers/cell-container.ts";

// Test workers join the run the global setup started, so every container they create carries
// that run's labels and is removed with it.
process.env.DISTCHECK_RUN_ID = inject("runId");
process.env.DISTCHECK_OWNER_PID = String(inject("runOwnerPid"));
process.env.TESTCONTAINERS_RYUK_DISABLED = "true";

// The processes this worker started in containers (docker exec), by program, cumulative: looking
// goes through the Engine API, so what is left is acting (pip, signals, tampering). The benchmark
// sums `<results>/exec-counts-<pid>.json`.
afterAll(() => {
  const dir = process.env.DISTCHECK_RESULTS_DIR;
  if (!dir || EXEC_COUNTS.size === 0) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `exec-counts-${process.pid}.json`), `${JSON.stringify(Object.fromEntries([...EXEC_COUNTS].sort((a, b) => b[1] - a[1])), null, 2)}\n`);
});

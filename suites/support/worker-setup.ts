import { inject } from "vitest";

// Test workers join the run the global setup started, so every container they create carries
// that run's labels and is removed with it.
process.env.DISTCHECK_RUN_ID = inject("runId");
process.env.DISTCHECK_OWNER_PID = String(inject("runOwnerPid"));
process.env.TESTCONTAINERS_RYUK_DISABLED = "true";

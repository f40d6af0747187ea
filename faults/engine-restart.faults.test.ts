import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import type { ReportSummary } from "../src/report/report-summary.ts";
import { dockerdCommand, ensureDockerd, restartEngine } from "./engine-control.ts";
import { leftAfter, nativeCellArgs, removeRuns, startRun, suitesRunning, summaryPath } from "./fault-run.ts";

// Fault 2 of issue #16: the Docker engine restarts in the middle of a run (an upgrade, a crash, a
// node agent). Every container of the run dies with it; the run must say the machine failed, not
// the host, and leave nothing behind once the engine is back.
const runIds: string[] = [];
const command = dockerdCommand();

afterAll(async () => {
  await ensureDockerd(command);
  await removeRuns(runIds);
});

describe("faults", () => {
  it("2. the Docker engine restarted mid-run: exit 3, failures are infrastructure (none product), nothing is left once it is back", async () => {
    const runId = `fault-engine-${process.pid}`;
    runIds.push(runId);
    const run = startRun({ runId, args: nativeCellArgs("hostile-archives") });
    await suitesRunning(runId);
    // Some tests finish first, so the run has verdicts from before the restart too.
    await new Promise((res) => setTimeout(res, 5_000));
    await restartEngine(command);
    const r = await run;
    const output = String(r.all ?? "");
    expect(r.exitCode, `exit; output:\n${output.slice(-4000)}`).toBe(3);
    const summary = JSON.parse(readFileSync(summaryPath(runId), "utf8")) as ReportSummary;
    // The suites were stopped when the engine went away: what failed from then on is the machine's.
    expect(summary.categories, "no failure is reported as a product defect or a harness error").toMatchObject({ product: 0, harness: 0 });
    expect(summary.infrastructure.map((p) => p.code)).toContain("engine_restarted");
    expect(summary.gate.passed).toBe(false);
    expect(output).toMatch(/engine_restarted/);
    expect(await leftAfter(runId, 30_000), "left once the engine is back").toEqual([]);
  }, 600_000);
});

import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import Docker from "dockerode";
import { execa, type ResultPromise } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../src/matrix/selection.ts";
import { LABELS } from "../src/run/run-identity.ts";

// Faults a nightly gate meets (issue #16): CI cancels a job by killing its whole process tree, or
// interrupts it. Each test runs a real `distcheck run` on one native cell and asserts its exit code,
// what the report says, and what is left in the engine afterwards.
const docker = new Docker();
const reports = path.join(PACKAGE_ROOT, "reports", "faults");
const runIds: string[] = [];

async function leftovers(runId: string): Promise<string[]> {
  const filters = { label: [`${LABELS.run}=${runId}`] };
  const containers = await docker.listContainers({ all: true, filters });
  const networks = await docker.listNetworks({ filters });
  return [...containers.map((c) => `container ${c.Names[0]} (${c.Labels["dev.distcheck.reaper"] ? "reaper" : c.Image})`), ...networks.map((n) => `network ${n.Name}`)];
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The environment without any DISTCHECK_ variable a parent run or test left in it. */
function withoutDistcheck(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => !e[0].startsWith("DISTCHECK_") && e[1] !== undefined));
}

/** `distcheck run` of one suite on the native bookworm cell, as its own process group, with a known run id. */
function startRun(runId: string, suite: string): ResultPromise {
  runIds.push(runId);
  return execa("node", ["bin/distcheck.js", "run", "--platform", "linux-x86_64", "--python", "3.11", "--suite", suite, "--reports", reports], {
    cwd: PACKAGE_ROOT,
    detached: true,
    reject: false,
    all: true,
    // The run owns itself (its own pid), as a CI job's run does.
    extendEnv: false,
    env: { ...withoutDistcheck(process.env), DISTCHECK_RUN_ID: runId, CI: "" },
  });
}

/** Waits until the run's suites have host containers up (not only its reaper). */
async function suitesRunning(runId: string): Promise<void> {
  await until(`host containers of ${runId}`, async () => {
    const cs = await docker.listContainers({ filters: { label: [`${LABELS.run}=${runId}`] } });
    return cs.filter((c) => !c.Labels["dev.distcheck.reaper"] && c.Labels["dev.distcheck.cell"]).length >= 1 ? true : undefined;
  }, 240_000);
}

afterAll(async () => {
  for (const runId of runIds) {
    const filters = { label: [`${LABELS.run}=${runId}`] };
    for (const c of await docker.listContainers({ all: true, filters })) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
    for (const n of await docker.listNetworks({ filters })) await docker.getNetwork(n.Id).remove().catch(() => undefined);
  }
});

describe("faults", () => {
  it("1. every process of a run killed with SIGKILL (its process group): within 30 s nothing of the run remains, with no later distcheck command", async () => {
    const runId = `fault-kill-${process.pid}`;
    const run = startRun(runId, "hostile-archives");
    await suitesRunning(runId);
    expect((await leftovers(runId)).some((l) => l.includes("(reaper)")), "the run's reaper is up").toBe(true);
    process.kill(-run.pid!, "SIGKILL");
    const r = await run;
    expect(r.signal).toBe("SIGKILL");
    const deadline = Date.now() + 30_000;
    let left = await leftovers(runId);
    while (left.length > 0 && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 500));
      left = await leftovers(runId);
    }
    expect(left, "left 30 s after the kill").toEqual([]);
  }, 400_000);

  it("6. SIGINT: exit 130, the report of what ran is written, nothing is left", async () => {
    const runId = `fault-sigint-${process.pid}`;
    const run = startRun(runId, "hostile-archives");
    await suitesRunning(runId);
    // Let a few tests finish, so there is something to report.
    await new Promise((res) => setTimeout(res, 8_000));
    process.kill(run.pid!, "SIGINT");
    const r = await run;
    expect(r.exitCode, `signal ${r.signal ?? "none"}; output:\n${String(r.all ?? "").slice(-3000)}`).toBe(130);
    const summaryFile = path.join(reports, runId, "summary.json");
    expect(existsSync(summaryFile), `${summaryFile} written`).toBe(true);
    const summary = JSON.parse(readFileSync(summaryFile, "utf8")) as { gate: { passed: boolean }; totals: Record<string, number> };
    expect(summary.gate.passed, "an interrupted run never passes the gate").toBe(false);
    expect(await leftovers(runId), "left after exit 130").toEqual([]);
  }, 400_000);
});

import { existsSync, readFileSync, readdirSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { leftAfter, leftovers, nativeCellArgs, removeRuns, startRun, suitesRunning, summaryPath, testsFinished } from "./fault-run.ts";

// Faults a nightly gate meets (issue #16): CI cancels a job by killing its whole process tree, or
// interrupts it. Each test runs a real `distcheck run` on one native cell and asserts its exit code,
// what the report says, and what is left in the engine afterwards.
const runIds: string[] = [];

afterAll(() => removeRuns(runIds));

/** Every descendant of `pid` (children, their children, ...), from /proc. */
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/<pid>/stat, after the parenthesised command (which may hold spaces).
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parentOf.set(ppid, [...(parentOf.get(ppid) ?? []), Number(entry)]);
    } catch {
      // Gone meanwhile.
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const c of parentOf.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

interface Kill {
  how: string;
  kill: (pid: number) => void;
}

describe("faults", () => {
  it.for<Kill>([
    { how: "its process group", kill: (pid: number) => process.kill(-pid, "SIGKILL") },
    {
      // What a cgroup kill does (systemd's KillMode=control-group, a CI runner's container): every
      // process at once, whichever process group it put itself in.
      how: "all its descendants at once, cgroup-style",
      kill: (pid: number) => {
        for (const p of [pid, ...descendants(pid)]) {
          try {
            process.kill(p, "SIGKILL");
          } catch {
            // Already gone.
          }
        }
      },
    },
  ])("1. every process of a run killed with SIGKILL ($how): within 30 s nothing of the run remains, with no later distcheck command", { timeout: 400_000 }, async ({ how, kill }) => {
    const runId = `fault-kill-${how.startsWith("all") ? "tree" : "group"}-${process.pid}`;
    runIds.push(runId);
    const run = startRun({ runId, args: nativeCellArgs("hostile-archives") });
    await suitesRunning(runId);
    expect((await leftovers(runId)).some((l) => l.includes("(reaper)")), "the run's reaper is up").toBe(true);
    kill(run.pid!);
    const r = await run;
    expect(r.signal).toBe("SIGKILL");
    expect(await leftAfter(runId, 30_000), "left 30 s after the kill").toEqual([]);
  });

  it("6. SIGINT: exit 130, the report of what ran is written, nothing is left", async () => {
    const runId = `fault-sigint-${process.pid}`;
    runIds.push(runId);
    // shutdown-timing: its first tests finish within seconds of its hosts' boot, and it then waits out
    // grace periods for a minute, so the signal lands mid-suite (hostile-archives takes 8 s natively now).
    const run = startRun({ runId, args: nativeCellArgs("shutdown-timing") });
    // A finished test, so there is something to report.
    await testsFinished(runId, 1);
    process.kill(run.pid!, "SIGINT");
    const r = await run;
    expect(r.exitCode, `signal ${r.signal ?? "none"}; output:\n${String(r.all ?? "").slice(-3000)}`).toBe(130);
    expect(existsSync(summaryPath(runId)), `${summaryPath(runId)} written`).toBe(true);
    const summary = JSON.parse(readFileSync(summaryPath(runId), "utf8")) as { gate: { passed: boolean }; totals: Record<string, number> };
    expect(summary.gate.passed, "an interrupted run never passes the gate").toBe(false);
    expect(await leftovers(runId), "left after exit 130").toEqual([]);
  }, 400_000);

  it("7. SIGINT while the report is written: the report completes, exit 130, nothing is left", async () => {
    const runId = `fault-sigint-report-${process.pid}`;
    runIds.push(runId);
    const run = startRun({ runId, args: nativeCellArgs("kernel") });
    let sent = false;
    run.stderr!.on("data", (chunk: Buffer) => {
      if (!sent && chunk.toString().includes("generating the Allure report")) {
        sent = true;
        process.kill(run.pid!, "SIGINT");
      }
    });
    const r = await run;
    expect(sent, "the run reached its report").toBe(true);
    expect(r.exitCode, `signal ${r.signal ?? "none"}; output:\n${String(r.all ?? "").slice(-3000)}`).toBe(130);
    expect(String(r.all), "it says why it exits 130").toMatch(/SIGINT while the report was written/);
    expect(existsSync(summaryPath(runId)), `${summaryPath(runId)} written`).toBe(true);
    expect(await leftovers(runId), "left after exit 130").toEqual([]);
  }, 400_000);
});

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { ReportSummary } from "../src/report/report-summary.ts";
import { LABELS } from "../src/run/run-identity.ts";
import { docker, leftovers, removeRuns, startRun, summaryPath } from "./fault-run.ts";

// Fault 3 of issue #16: the qemu-aarch64 binfmt registration switched off while a run on both
// platforms is under way (an admin's `update-binfmts --disable`, a package upgrade, a reboot that
// forgot it). Every aarch64 process the run starts afterwards fails in the kernel; that is the
// machine's fault, never the host's: aarch64 cells fail as infrastructure with the fix printed, x86_64
// cells keep their verdicts, and the test gives the registration back whatever happens.
const BINFMT = "/proc/sys/fs/binfmt_misc/qemu-aarch64";
const FIX = "update-binfmts --enable qemu-aarch64";
const runId = `fault-binfmt-${process.pid}`;

const registration = (): string => readFileSync(BINFMT, "utf8").split("\n")[0]!.trim();

/** Switches the registration; only this test, only while it holds the machine lock (COMMON rules). */
function setRegistration(enabled: boolean): void {
  writeFileSync(BINFMT, enabled ? "1" : "0");
}

/** Resolves once a host container of an aarch64 cell of the run is up (on the run's network: not the timing probe). */
async function aarch64HostUp(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const cs = await docker.listContainers({ filters: { label: [`${LABELS.run}=${runId}`] } });
    if (cs.some((c) => (c.Labels["dev.distcheck.cell"] ?? "").startsWith("linux-aarch64.") && c.HostConfig.NetworkMode !== "none")) return;
    if (Date.now() > deadline) throw new Error(`no aarch64 host container of ${runId} came up within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

afterAll(async () => {
  // The registration first: nothing else on this machine runs aarch64 without it.
  if (existsSync(BINFMT) && registration() !== "enabled") setRegistration(true);
  await removeRuns([runId]);
});

describe("faults", () => {
  it("3. qemu-aarch64 binfmt disabled mid-run: exit 3, aarch64 cells fail as infrastructure with the fix, x86_64 cells keep their verdicts, nothing is left, the registration is restored", async () => {
    expect(registration(), `${BINFMT} must be enabled before the test (run \`${FIX}\`)`).toBe("enabled");
    // Two suites on both bookworm cells: discovery boots a second host per cell after its first
    // tests, and config-defaults boots hosts one after another, so aarch64 cells still start
    // containers and processes after the switch, while x86_64 cells run to the end.
    const run = startRun({ runId, args: ["--python", "3.11", "--suite", "discovery,config-defaults"] });
    let disabledAt: number | undefined;
    let result: Awaited<typeof run>;
    try {
      await Promise.race([aarch64HostUp(300_000), run.then(() => Promise.reject(new Error("the run ended before an aarch64 host came up")))]);
      setRegistration(false);
      disabledAt = Date.now();
      expect(registration()).toBe("disabled");
      result = await run;
    } finally {
      setRegistration(true);
      if (disabledAt === undefined) run.kill("SIGINT");
    }
    expect(registration(), "the registration is enabled again").toBe("enabled");
    const output = String(result.all ?? "");
    expect(result.exitCode, `exit code; output:\n${output.slice(-4000)}`).toBe(3);
    expect(output, "the run prints the fix").toContain(FIX);

    const summary = JSON.parse(readFileSync(summaryPath(runId), "utf8")) as ReportSummary;
    expect(summary.categories.product, "no failure while binfmt was off is the host's").toBe(0);
    expect(summary.categories.harness, "nor the harness's").toBe(0);
    expect(summary.categories.infrastructure, "the aarch64 cells lost tests to the machine").toBeGreaterThan(0);
    const binfmt = summary.infrastructure.find((p) => p.code === "binfmt_disabled");
    expect(binfmt, `summary.infrastructure: ${JSON.stringify(summary.infrastructure)}`).toBeDefined();
    expect(binfmt!.message).toContain(FIX);
    expect(binfmt!.message).toMatch(/the machine is at fault, not the host under test/);
    for (const problem of summary.infrastructure) expect(problem.cells.every((c) => c.startsWith("linux-aarch64.")), `${problem.code} only on aarch64 cells: ${problem.cells.join(", ")}`).toBe(true);

    // x86_64 keeps its verdicts: every clause it ran passed there.
    const x86 = Object.entries(summary.clauses).flatMap(([clause, row]) => Object.entries(row).filter(([cell]) => cell.startsWith("linux-x86_64.")).map(([cell, v]) => [clause, cell, v] as const));
    expect(x86.length, "x86_64 clauses ran").toBeGreaterThan(5);
    expect(x86.filter(([, , v]) => v !== "passed"), "x86_64 clauses that did not pass").toEqual([]);
    const aarch64Failed = Object.values(summary.clauses).flatMap((row) => Object.entries(row)).filter(([cell, v]) => cell.startsWith("linux-aarch64.") && v === "failed");
    expect(aarch64Failed.length, "aarch64 clauses failed after the switch").toBeGreaterThan(0);

    // The run watched the registration: it knows when it went off (the failures of processes a host
    // already running under qemu starts afterwards are placed by it), and that it stayed off.
    const [off] = JSON.parse(readFileSync(path.join(path.dirname(summaryPath(runId)), "results", "binfmt-outages.json"), "utf8")) as Array<{ platform: string; state: string; offAt: number; onAt?: number }>;
    expect(off).toMatchObject({ platform: "linux-aarch64", state: "disabled" });
    expect(Math.abs(off!.offAt - disabledAt!), "seen off within a second of the switch").toBeLessThan(1_500);

    expect(await leftovers(runId), "left in the engine after the run").toEqual([]);
  }, 900_000);
});

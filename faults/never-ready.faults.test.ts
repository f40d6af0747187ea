import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { READY_BOUND_MS } from "../src/hosts/booted-host.ts";
import { PACKAGE_ROOT } from "../src/matrix/selection.ts";
import { categorise } from "../src/report/failure-category.ts";
import { resultsDirOf } from "../src/report/publish-report.ts";
import { readRecords } from "../src/report/records-reader.ts";
import type { ReportSummary } from "../src/report/report-summary.ts";
import { docker, FAULT_REPORTS as reports, leftovers, removeRuns, withoutDistcheck } from "./fault-run.ts";

// Fault 5 of issue #16: a host that never becomes ready. The run's own matrix has two hosts on the
// native bookworm cell: the reference host, and a copy of it edited so it never logs ready. The
// broken cell must fail once (HST-02, a product failure, within one ready bound), report its other
// tests as not run with the reason instead of waiting the bound again in every suite, and leave
// the normal cell alone.
const BROKEN = "never-ready";
const NORMAL_CELL = "linux-x86_64.bookworm.reference";
const BROKEN_CELL = `linux-x86_64.bookworm.${BROKEN}`;
/** Short suites that boot hosts in their setup, one of them three at once (config-defaults). */
const SUITES = ["host-boot", "discovery", "config-defaults", "kernel"];
/** Where the reference host logs its ready line (the adapter's readyLog), and the edit that removes it. */
const READY_LINE = { file: "src/distcheck_host/server.py", find: 'log.info("ready in %.1f ms:', replace: 'log.info("booted in %.1f ms:' };

const work = mkdtempSync(path.join(os.tmpdir(), "distcheck-never-ready-"));
const runIds: string[] = [];

afterAll(async () => {
  await removeRuns(runIds);
  // Only this test's host images: its host id is its own (host layer, core versions, wheel layers).
  for (const tag of await brokenHostImages()) await docker.getImage(tag).remove().catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
}, 120_000);

/** The exact tags of the images of the broken host (`distcheck/host-never-ready:` and `-wheels:`). */
async function brokenHostImages(): Promise<string[]> {
  const images = await docker.listImages();
  return images.flatMap((i) => i.RepoTags ?? []).filter((t) => t.startsWith(`distcheck/host-${BROKEN}:`) || t.startsWith(`distcheck/host-${BROKEN}-wheels:`));
}

/** A copy of the reference host that runs and serves but never logs ready. */
function brokenSource(): string {
  const source = path.join(work, "host");
  cpSync(path.join(PACKAGE_ROOT, "hosts", "reference"), source, { recursive: true, filter: (p) => !p.includes(`${path.sep}__pycache__`) });
  const file = path.join(source, READY_LINE.file);
  const text = readFileSync(file, "utf8");
  expect(text.split(READY_LINE.find).length - 1, `${READY_LINE.find} once in ${file}`).toBe(1);
  writeFileSync(file, text.replace(READY_LINE.find, READY_LINE.replace));
  return source;
}

function matrixFile(source: string): string {
  const file = path.join(work, "matrix.json");
  writeFileSync(file, JSON.stringify({
    platforms: [{ id: "linux-x86_64", timingFactor: "auto" }],
    bases: [{ id: "bookworm", image: "bookworm", python: "3.11" }],
    hosts: [
      { id: "reference", adapter: "reference", source: "hosts/reference", bases: ["bookworm"] },
      // Relative to the project root, as the schema says (the loader joins even an absolute path to it).
      { id: BROKEN, adapter: "reference", source: path.relative(PACKAGE_ROOT, source), bases: ["bookworm"] },
    ],
    suites: SUITES,
  }, null, 2));
  return file;
}

function distcheck(args: string[], runId?: string) {
  return execa("node", ["bin/distcheck.js", ...args], {
    cwd: PACKAGE_ROOT,
    reject: false,
    all: true,
    extendEnv: false,
    env: { ...withoutDistcheck(process.env), ...(runId ? { DISTCHECK_RUN_ID: runId } : {}), CI: "" },
  });
}

/** `distcheck run` of the test's matrix (only `hosts` when given), timed from outside. */
async function timedRun(runId: string, matrix: string, hosts: string[] = []) {
  runIds.push(runId);
  const started = performance.now();
  const r = await distcheck(["run", "--matrix", matrix, "--reports", reports, ...hosts.flatMap((h) => ["--host", h])], runId);
  return { r, ms: performance.now() - started, output: `exit ${r.exitCode}; output:\n${String(r.all ?? "").slice(-4000)}` };
}

describe("faults", () => {
  it("5. a host that never becomes ready: one product failure of HST-02 in its cell, its other tests not run (no cascade of waits), the other cell unaffected, nothing left", async () => {
    const matrix = matrixFile(brokenSource());
    // Images first (the broken host's layer is new), so both timed runs only boot and test.
    const built = await distcheck(["images", "build", "--matrix", matrix]);
    expect(built.exitCode, String(built.all).slice(-3000)).toBe(0);

    const normalId = `fault-ready-normal-${process.pid}`;
    const normal = await timedRun(normalId, matrix, ["reference"]);
    // Four suites do not cover every required clause, so its gate fails too; every test passed.
    const normalSummary = JSON.parse(readFileSync(path.join(reports, normalId, "summary.json"), "utf8")) as ReportSummary;
    expect({ exit: normal.r.exitCode, failed: normalSummary.totals.failed }, normal.output).toEqual({ exit: 1, failed: 0 });
    const runId = `fault-never-ready-${process.pid}`;
    const broken = await timedRun(runId, matrix);
    expect(broken.r.exitCode, broken.output).toBe(1);

    const summary = JSON.parse(readFileSync(path.join(reports, runId, "summary.json"), "utf8")) as ReportSummary;
    expect(summary.gate.passed, "HST-02 failed: the gate fails").toBe(false);
    expect(summary.totals.failed, JSON.stringify(summary.totals)).toBe(1);
    expect(summary.categories).toEqual({ product: 1, harness: 0, infrastructure: 0 });
    expect(summary.clauses["HST-02"]?.[BROKEN_CELL]).toBe("failed");
    for (const [clause, cells] of Object.entries(summary.clauses)) {
      if (clause !== "HST-02" && cells[BROKEN_CELL] !== undefined) expect(cells[BROKEN_CELL], `${clause} in ${BROKEN_CELL}`).toBe("skipped");
      if (cells[NORMAL_CELL] !== undefined) expect(cells[NORMAL_CELL], `${clause} in ${NORMAL_CELL}`).toBe("passed");
    }

    const records = [...readRecords([resultsDirOf(reports, runId)]).values()];
    const inBroken = records.filter((r) => r.cell?.id === BROKEN_CELL);
    const failed = inBroken.filter((r) => r.state === "failed");
    expect(failed.map((r) => `${r.file}: ${r.name}`), "exactly one failure in the broken cell").toHaveLength(1);
    expect(failed[0]!.clauses).toEqual(["HST-02"]);
    expect(categorise(failed[0]!)).toBe("product");
    expect(failed[0]!.errors[0]?.message).toMatch(/did not report ready within/);
    const notRun = inBroken.filter((r) => r.state !== "failed");
    const reason = `the host of ${BROKEN_CELL} never became ready (HST-02, see ${failed[0]!.file} > ${failed[0]!.suitePath.join(" > ")} > ${failed[0]!.name})`;
    expect(new Set(notRun.map((r) => r.file)), "every suite's tests of the broken cell are reported").toEqual(new Set(SUITES.map((s) => `suites/${s}.test.ts`)));
    for (const r of notRun) expect({ test: r.name, state: r.state, reason: r.skipReason }).toEqual({ test: r.name, state: "skipped", reason });
    expect(summary.notRun.filter((n) => n.cell === BROKEN_CELL)).toHaveLength(notRun.length);
    const inNormal = records.filter((r) => r.cell?.id === NORMAL_CELL);
    expect(inNormal.length).toBeGreaterThan(0);
    expect(inNormal.filter((r) => r.state !== "passed").map((r) => `${r.name}: ${r.state}`), "the normal cell").toEqual([]);

    // One ready bound (scaled by the measured factor) more than the normal run, not one per suite.
    const factor = summary.environment?.timingFactors["linux-x86_64"] ?? 1;
    const bound = READY_BOUND_MS * factor;
    expect(broken.ms - normal.ms, `broken run ${Math.round(broken.ms)} ms, normal run ${Math.round(normal.ms)} ms, ready bound ${Math.round(bound)} ms`).toBeLessThanOrEqual(bound + 15_000);

    expect(await leftovers(runId), "left after the broken run").toEqual([]);
    expect(await leftovers(normalId), "left after the normal run").toEqual([]);
  }, 600_000);
});

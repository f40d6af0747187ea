import { describe, expect, it } from "vitest";
import { formatTable, median, processRows, ratio, renderReport, summarize, type BenchResult, type RoundResult } from "./bench-report.ts";
import type { Extrapolation } from "./extrapolation.ts";
import { zeroPhases } from "./phases.ts";

const phases = (ms: number) => ({ ...zeroPhases(), boot: ms });
const wall = (totalMs: number): Extrapolation => ({ totalMs, measuredMs: 40_000, sampled: 4, of: 696, label: "extrapolated from 4 of 696 cases", strata: [] });
const proc = (cell: string, platform: string, emulated: boolean, containers: number, execs: number) => ({ cell, platform, emulated, containers, execs, byProgram: [] });

function round(n: number, a: number, b: number, c: number): RoundResult {
  return {
    round: n,
    a: { runId: `a${n}`, exitCode: 0, wallMs: a, reportDir: "", tests: { total: 1, passed: 1, failed: 0, skipped: 0 }, gatePassed: true, timingFactors: {}, hostBoots: 16, phases: { ...phases(a / 10), image: null }, processes: [proc("linux-aarch64.bookworm.reference", "linux-aarch64", true, 5, 70), proc("linux-x86_64.bookworm.reference", "linux-x86_64", false, 5, 68)] },
    b: { runId: `b${n}`, cases: [], measuredWallMs: 40_000, wall: wall(b), phases: phases(b / 10), processes: [proc("linux-aarch64.bookworm.reference", "linux-aarch64", true, 2, 9)] },
    c: { runId: `c${n}`, wallMs: c, concurrency: 2, sessions: [], servers: 4, phases: phases(c / 10), processes: [proc("linux-x86_64.bookworm.reference", "linux-x86_64", false, 4, 20)] },
  };
}

describe("the bench's figures", () => {
  it("takes medians and ratios, n/a where a side is missing", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeNull();
    expect(ratio(10, 4)).toBe(2.5);
    expect(ratio(10, 0)).toBeNull();
    expect(ratio(undefined, 4)).toBeNull();
  });

  it("summarizes rounds: the median of each round's ratios, each phase's median, n/a for a phase never measured", () => {
    const s = summarize([round(1, 100_000, 5_000_000, 80_000), round(2, 200_000, 6_000_000, 100_000), round(3, 150_000, 4_000_000, 90_000)]);
    expect(s.wallMs).toEqual({ a: 150_000, b: 5_000_000, c: 90_000 });
    // a/c per round: 1.25, 2, 1.667 -> 1.667; b/a: 50, 30, 26.67 -> 30.
    expect(s.ratios.aOverC).toBeCloseTo(5 / 3, 6);
    expect(s.ratios.bOverA).toBe(30);
    expect(s.bLabel).toBe("extrapolated from 4 of 696 cases");
    expect(s.phases.a.boot).toBe(15_000);
    expect(s.phases.a.image).toBeNull();
    expect(summarize([{ round: 1 }]).ratios).toEqual({ aOverC: null, bOverA: null });
  });

  it("pads columns: the first to the left, the others to the right", () => {
    expect(formatTable([["phase", "(a)"], ["boot", "12.5 s"], ["teardown", "n/a"]])).toBe(["phase        (a)", "boot      12.5 s", "teardown     n/a"].join("\n"));
  });

  it("lists processes per cell with totals and the emulated subtotal, - where a part has no such cell", () => {
    expect(processRows(round(1, 1, 1, 1))).toEqual([
      ["cell", "platform", "(a) containers", "(a) execs", "(b) containers", "(b) execs", "(c) containers", "(c) execs"],
      ["linux-aarch64.bookworm.reference", "linux-aarch64 (emulated)", "5", "70", "2", "9", "-", "-"],
      ["linux-x86_64.bookworm.reference", "linux-x86_64", "5", "68", "-", "-", "4", "20"],
      ["total", "", "10", "138", "2", "9", "4", "20"],
      ["emulated", "", "5", "70", "2", "9", "0", "0"],
    ]);
  });

  it("prints (b)'s figure as extrapolated, with the ratios and n/a for what was not measured", () => {
    const r = round(1, 160_000, 8_000_000, 120_000);
    const result: BenchResult = {
      id: "bench-1",
      startedAt: "",
      finishedAt: "",
      options: { workload: "small", rounds: 1, scale: [10], naiveSample: 4, floorConcurrency: 2, parts: ["a", "b", "c", "scale"], reports: "reports", json: false },
      machine: { cores: 2, node: "v20", engine: "20.10", nativePlatform: "linux-x86_64" },
      workload: { name: "small", suites: ["discovery", "hostile-archives"], cells: ["x", "y", "z", "w"], cases: 696, casesByKind: {} },
      rounds: [r],
      summary: summarize([r]),
      scale: [
        { wheels: 10, wallMs: 50_000, cells: [], phases: phases(1_000) },
        { wheels: 50, wallMs: 125_000, cells: [{ cell: "x", phases: zeroPhases(), listed: 49, problems: ["scale-07 not listed"] }], phases: phases(2_000) },
      ],
      notes: ["a note"],
    };
    const text = renderReport(result);
    expect(text).toContain("(b): extrapolated from 4 of 696 cases");
    expect(text).toMatch(/ratios: a\/c = 1\.33x {3}b\/a = 50\.0x/);
    expect(text).toMatch(/image\s+n\/a\s+0\.0 s\s+0\.0 s/);
    expect(text).toMatch(/50\s+125\.0 s.*2\.50x/);
    expect(text).toContain("not as predicted: 50 wheels on x: scale-07 not listed");
    expect(text).toContain("note: a note");
  });
});

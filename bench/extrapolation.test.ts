import { describe, expect, it } from "vitest";
import { extrapolate, pickSample, type Stratifiable } from "./extrapolation.ts";

const cases = (platform: string, kind: string, cell: string, n: number): Stratifiable[] => Array.from({ length: n }, (_, i) => ({ id: `${cell}-${kind}-${i}`, platform, kind, cell }));
const workload = [
  ...cases("arm", "hostile", "arm.a", 10),
  ...cases("arm", "hostile", "arm.b", 10),
  ...cases("x86", "hostile", "x86.a", 10),
  ...cases("arm", "discovery", "arm.a", 3),
  ...cases("x86", "discovery", "x86.a", 3),
];

describe("the naive loop's sample and extrapolation", () => {
  it("spreads the sample over strata, largest first, and over each stratum's cells", () => {
    expect(pickSample(workload, 4).map((c) => c.id)).toEqual(["arm.a-hostile-0", "x86.a-hostile-0", "arm.a-discovery-0", "x86.a-discovery-0"]);
    expect(pickSample(workload, 6).map((c) => c.id).slice(4)).toEqual(["arm.b-hostile-0", "x86.a-hostile-1"]);
    expect(pickSample(workload, 100)).toHaveLength(workload.length);
  });

  it("costs each stratum at its sampled mean, else at its platform's, else at the sample's", () => {
    const measured = new Map([
      ["arm.a-hostile-0", 20_000],
      ["arm.b-hostile-0", 30_000],
      ["x86.a-hostile-0", 1_000],
    ]);
    const e = extrapolate(workload, measured);
    // arm hostile 20 x 25 s, arm discovery 3 x 25 s (platform mean), x86 hostile 10 x 1 s, x86 discovery 3 x 1 s.
    expect(e.totalMs).toBe(20 * 25_000 + 3 * 25_000 + 10 * 1_000 + 3 * 1_000);
    expect(e.measuredMs).toBe(51_000);
    expect(e.label).toBe("extrapolated from 3 of 36 cases");
    expect(e.strata.find((s) => s.stratum === "arm discovery")).toEqual({ stratum: "arm discovery", cases: 3, sampled: 0, meanMs: 25_000, basis: "platform" });
    const onlyArm = extrapolate(workload, new Map([["arm.a-hostile-0", 20_000]]));
    expect(onlyArm.strata.find((s) => s.stratum === "x86 hostile")).toMatchObject({ meanMs: 20_000, basis: "sample" });
  });

  it("says measured when every case ran, and refuses an empty sample", () => {
    const small = cases("x86", "hostile", "x86.a", 2);
    expect(extrapolate(small, new Map(small.map((c) => [c.id, 5])))).toMatchObject({ totalMs: 10, label: "measured on all 2 cases" });
    expect(() => extrapolate(small, new Map())).toThrow(/no case/);
  });
});

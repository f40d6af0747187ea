import { describe, expect, it } from "vitest";
import { scaledBound, timingFactor } from "./timing-factor.ts";

describe("timingFactor", () => {
  it("takes the larger of the start-up and CPU ratios, rounded up to a tenth", () => {
    expect(timingFactor({ startupMs: 80, cpuMs: 30 }, { startupMs: 10, cpuMs: 10 })).toBe(8);
    expect(timingFactor({ startupMs: 12, cpuMs: 41 }, { startupMs: 10, cpuMs: 10 })).toBe(4.1);
    expect(timingFactor({ startupMs: 12.01, cpuMs: 10 }, { startupMs: 10, cpuMs: 10 })).toBe(1.3);
  });

  it("never goes below 1: native noise does not tighten tolerances", () => {
    expect(timingFactor({ startupMs: 9, cpuMs: 9 }, { startupMs: 10, cpuMs: 10 })).toBe(1);
  });
});

describe("scaledBound", () => {
  it("scales only the tolerance, not the contract's nominal time", () => {
    expect(scaledBound(1000, 300, 1)).toBe(1300);
    expect(scaledBound(1000, 300, 6)).toBe(2800);
  });
});

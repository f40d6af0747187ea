import { describe, expect, it } from "vitest";
import { CONTRACT } from "../contract/contract.ts";
import { NOT_YET_COVERED } from "../contract/not-yet-covered.ts";
import { REQUIRED_CLAUSES, REQUIRED_FAMILIES } from "./coverage.ts";

const range = (family: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${family}-${String(i + 1).padStart(2, "0")}`);

describe("REQUIRED_CLAUSES", () => {
  it("is every WHL, ARC and HST clause of contract.json (the ranges it was written as by hand before)", () => {
    expect([...REQUIRED_CLAUSES].sort()).toEqual([...range("WHL", 15), ...range("ARC", 16), ...range("HST", 3)].sort());
  });

  it("names only families of the contract, and no clause the suites do not cover yet (the gate could never pass)", () => {
    for (const f of REQUIRED_FAMILIES) expect(CONTRACT.families.map((x) => x.id)).toContain(f);
    expect(REQUIRED_CLAUSES.filter((c) => NOT_YET_COVERED.includes(c))).toEqual([]);
  });
});

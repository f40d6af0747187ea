import { describe, expect, it } from "vitest";
import { EXIT, exitCodeOf } from "./exit-codes.ts";

describe("exitCodeOf", () => {
  it("exits 2 for input, 3 for infrastructure and 1 for the host's or distcheck's own failures", () => {
    expect([exitCodeOf("input"), exitCodeOf("infrastructure"), exitCodeOf("product"), exitCodeOf("harness")]).toEqual([2, 3, 1, 1]);
    expect(EXIT).toEqual({ ok: 0, failed: 1, input: 2, infrastructure: 3, interrupted: 130 });
  });
});

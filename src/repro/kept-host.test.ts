import { describe, expect, it } from "vitest";
import { keptTryAfter } from "./kept-host.ts";

const tryOf = (n: number, failed: boolean): { n: number; failed: boolean } => ({ n, failed });

describe("--keep over several tries", () => {
  it("keeps the newest failed try (the host as the test left it at the failure), else the newest try, and releases the other", () => {
    expect(keptTryAfter(undefined, tryOf(1, false))).toEqual({ keep: tryOf(1, false) });
    expect(keptTryAfter(tryOf(1, false), tryOf(2, true))).toEqual({ keep: tryOf(2, true), release: tryOf(1, false) });
    expect(keptTryAfter(tryOf(2, true), tryOf(3, false))).toEqual({ keep: tryOf(2, true), release: tryOf(3, false) });
    expect(keptTryAfter(tryOf(2, true), tryOf(3, true))).toEqual({ keep: tryOf(3, true), release: tryOf(2, true) });
    expect(keptTryAfter(tryOf(1, false), tryOf(2, false))).toEqual({ keep: tryOf(2, false), release: tryOf(1, false) });
    // A flaky run of three: fail, pass, pass keeps the failure.
    let kept: { n: number; failed: boolean } | undefined;
    for (const t of [tryOf(1, true), tryOf(2, false), tryOf(3, false)]) kept = keptTryAfter(kept, t).keep;
    expect(kept).toEqual(tryOf(1, true));
  });
});

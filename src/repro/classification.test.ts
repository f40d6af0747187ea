import { describe, expect, it } from "vitest";
import { classify, exitCodeOfVerdicts, failureSignature, verdictText, type TryOutcome } from "./classification.ts";

const tryOf = (n: number, state: TryOutcome["state"], sameFailure = true): TryOutcome => ({ n, state, durationMs: 1, wallMs: 1, errors: [], ...(state === "failed" ? { sameFailure } : {}) });

describe("repro's verdict", () => {
  it("is fails every time, flaky (k of N) or does not reproduce, and exits 1 whenever a try failed", () => {
    const every = classify([tryOf(1, "failed"), tryOf(2, "failed"), tryOf(3, "failed", false)]);
    expect(every).toEqual({ classification: "fails_every_time", failed: 3, of: 3, sameWay: 2 });
    const flaky = classify([tryOf(1, "passed"), tryOf(2, "failed"), tryOf(3, "passed")]);
    expect(flaky).toMatchObject({ classification: "flaky", failed: 1, of: 3 });
    expect(verdictText(flaky)).toBe("flaky (1 of 3 failed, 1 the same way as recorded)");
    const none = classify([tryOf(1, "passed"), tryOf(2, "passed")]);
    expect(none.classification).toBe("does_not_reproduce");
    expect(exitCodeOfVerdicts([none])).toBe(0);
    expect(exitCodeOfVerdicts([none, flaky])).toBe(1);
    expect(exitCodeOfVerdicts([every])).toBe(1);
  });

  it("compares failures by error code, else by the first line with numbers and ids masked", () => {
    expect(failureSignature([{ message: "x", code: "host_not_ready" }])).toBe("code:host_not_ready");
    const a = failureSignature([{ name: "AssertionError", message: 'fixture: {"pid":37,"port":49153} after 81.6 ms\nstack' }]);
    const b = failureSignature([{ name: "AssertionError", message: 'fixture: {"pid":112,"port":40001} after 3.2 ms\nother' }]);
    expect(a).toBe(b);
    expect(failureSignature([{ name: "AssertionError", message: "expected refused" }])).not.toBe(failureSignature([{ name: "AssertionError", message: "expected running" }]));
  });
});

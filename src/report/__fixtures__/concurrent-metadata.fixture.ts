import { describe, expect, it } from "vitest";

// Tests that interleave on purpose: each awaits a different delay between its two annotations and
// assertions, so a reporter that attributes by "current test" at the time of the call gets them wrong.
const delays = [40, 5, 25, 1, 60, 15];

describe.concurrent.each(["linux-x86_64.bookworm.reference", "linux-aarch64.trixie.reference"])("metadata on %s", (cell) => {
  for (const [i, delay] of delays.entries()) {
    it(`WHL-0${i + 1}: test ${i} on ${cell}`, async ({ annotate }) => {
      await annotate(`first of test ${i} on ${cell}`, "attachment", { body: `test ${i} on ${cell} before`, bodyEncoding: "utf-8", contentType: "text/plain" });
      expect(`marker-${i}-${cell}`).toBe(`marker-${i}-${cell}`);
      await new Promise((r) => setTimeout(r, delay));
      expect(`after-${i}-${cell}`).toBe(`after-${i}-${cell}`);
      await annotate(`second of test ${i} on ${cell}`, "attachment", { body: `test ${i} on ${cell} after`, bodyEncoding: "utf-8", contentType: "text/plain" });
    });
  }
});

// Two concurrent tests that fail on purpose, each attaching its own diagnostics the way
// attachOnFailure does (task meta, set in the test's own onTestFailed).
describe.concurrent("failures on linux-x86_64.trixie.reference", () => {
  for (const [i, delay] of [30, 1].entries()) {
    it(`ARC-0${i + 1}: failing test ${i}`, async (ctx) => {
      ctx.onTestFailed(async () => {
        await new Promise((r) => setTimeout(r, delay));
        const meta = ctx.task.meta as { distcheckAttachments?: unknown[] };
        meta.distcheckAttachments = [{ name: "host log", contentType: "text/plain", body: `log of failing test ${i}` }];
      });
      await new Promise((r) => setTimeout(r, delay));
      expect(`failing ${i}`).toBe("never");
    });
  }
});

import { describe, expect, it } from "vitest";
import { categorise } from "./failure-category.ts";
import { runThroughReporter } from "../testing/reporter-run.ts";
import { tempDirs } from "../testing/temp-dirs.ts";

const tmp = tempDirs("setup-failure-");

// vitest reports the tests of a suite whose beforeAll failed as skipped. A clause must not vanish
// that way: distcheck's reporter records them as failed, with the hook's error.
describe("tests whose suite setup failed", () => {
  it("are recorded as failed with the setup's error; deliberate skips stay skipped", async () => {
    const { run, records } = await runThroughReporter("setup-failure.fixture.ts", tmp());
    expect(run.exitCode, String(run.all)).toBe(1);
    const byClause = new Map(records.map((r) => [r.clauses[0], r]));
    for (const clause of ["WHL-01", "WHL-02"]) {
      const r = byClause.get(clause)!;
      expect(r.state, clause).toBe("failed");
      expect(r.errors[0]?.message).toMatch(/^in the setup of "setup-failure on linux-x86_64\.bookworm\.reference": the host booted/);
      expect(categorise(r), "an assertion in the setup is about the host").toBe("product");
    }
    expect(byClause.get("WHL-03")?.state).toBe("skipped");
    expect(byClause.get("WHL-04")?.state).toBe("passed");
  }, 60_000);
});

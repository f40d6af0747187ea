import { describe, expect, it } from "vitest";
import { categorise } from "./failure-category.ts";
import { errorRecord } from "./distcheck-vitest-reporter.ts";
import { runThroughReporter } from "../testing/reporter-run.ts";
import { tempDirs } from "../testing/temp-dirs.ts";

const tmp = tempDirs("error-category-");

// A failure's category is decided where the error is thrown and must survive vitest's
// serialization and the reporter into the test record; the report reads it from there.
describe("error categories in test records", () => {
  it("carry each error's code and category from the throw site to the report's category", async () => {
    const { run, records } = await runThroughReporter("error-category.fixture.ts", tmp());
    expect(run.exitCode, String(run.all)).toBe(1);
    const byClause = new Map(records.map((r) => [r.clauses[0], r]));
    const seen = (clause: string) => {
      const r = byClause.get(clause)!;
      expect(r.state, clause).toBe("failed");
      return { code: r.errors[0]?.code, category: r.errors[0]?.category, report: categorise(r) };
    };
    expect(seen("WHL-01")).toEqual({ code: "host_boot_failed", category: "product", report: "product" });
    expect(seen("WHL-02")).toEqual({ code: "wait_timeout", category: "product", report: "product" });
    expect(seen("WHL-03")).toEqual({ code: undefined, category: undefined, report: "product" });
    expect(seen("WHL-04")).toEqual({ code: "exec_format_error", category: "infrastructure", report: "infrastructure" });
    expect(seen("WHL-05")).toEqual({ code: "oracle_ambiguous", category: "harness", report: "harness" });
    expect(seen("WHL-06")).toEqual({ code: undefined, category: undefined, report: "harness" });
    // A test skipped because its suite's setup failed fails with the setup's error, category and all.
    expect(seen("WHL-07")).toEqual({ code: "engine_unavailable", category: "infrastructure", report: "infrastructure" });
  }, 60_000);

  it("keep only categories distcheck knows", () => {
    expect(errorRecord({ message: "m", name: "Error", code: "x_y", category: "blame-someone" })).toEqual({ message: "m", stack: undefined, name: "Error", code: "x_y" });
    expect(errorRecord({ message: "m", code: 42, category: "product" })).toEqual({ message: "m", stack: undefined, name: undefined, category: "product" });
  });
});

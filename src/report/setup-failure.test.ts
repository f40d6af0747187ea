import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { categorise } from "./failure-category.ts";
import { RECORDS_DIR, type TestRecord } from "./test-record.ts";
import { tempDirs } from "../testing/temp-dirs.ts";

const tmp = tempDirs("setup-failure-");
const ROOT = path.resolve(import.meta.dirname, "../..");

// vitest reports the tests of a suite whose beforeAll failed as skipped. A clause must not vanish
// that way: distcheck's reporter records them as failed, with the hook's error.
describe("tests whose suite setup failed", () => {
  it("are recorded as failed with the setup's error; deliberate skips stay skipped", async () => {
    const results = tmp();
    const config = path.join(results, "vitest.config.mts");
    writeFileSync(
      config,
      `export default { test: { root: ${JSON.stringify(ROOT)}, include: ["src/report/__fixtures__/setup-failure.fixture.ts"], reporters: [[${JSON.stringify(path.join(ROOT, "src/report/distcheck-vitest-reporter.ts"))}, { resultsDir: ${JSON.stringify(results)} }]] } };\n`,
    );
    const run = await execa("npx", ["vitest", "run", "--config", config], { cwd: ROOT, reject: false, all: true });
    expect(run.exitCode, String(run.all)).toBe(1);
    const records = readdirSync(path.join(results, RECORDS_DIR)).map((f) => JSON.parse(readFileSync(path.join(results, RECORDS_DIR, f), "utf8")) as TestRecord);
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

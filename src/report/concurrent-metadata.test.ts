import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { RECORDS_DIR, type TestRecord } from "./test-record.ts";
import { tempDirs } from "../testing/temp-dirs.ts";

const tmp = tempDirs("concurrent-meta-");

// The known trap: concurrent vitest tests can get each other's Allure metadata. This runs a file
// of deliberately interleaving concurrent tests through allure-vitest and distcheck's reporter and
// checks that every label, attachment and step ends up on the test that made it.
const ROOT = path.resolve(import.meta.dirname, "../..");

describe("report metadata of concurrent tests", () => {
  it("stays with the test that produced it", async () => {
    const results = tmp();
    const config = path.join(results, "vitest.config.mts");
    writeFileSync(
      config,
      `export default { test: { root: ${JSON.stringify(ROOT)}, include: ["src/report/__fixtures__/concurrent-metadata.fixture.ts"], reporters: [["allure-vitest/reporter", { resultsDir: ${JSON.stringify(results)} }], [${JSON.stringify(path.join(ROOT, "src/report/distcheck-vitest-reporter.ts"))}, { resultsDir: ${JSON.stringify(results)} }]] } };\n`,
    );
    const run = await execa("npx", ["vitest", "run", "--config", config], { cwd: ROOT, reject: false, all: true });
    // Exactly the two deliberate failures.
    expect(run.exitCode, String(run.all)).toBe(1);

    const all = readdirSync(path.join(results, RECORDS_DIR)).map((f) => JSON.parse(readFileSync(path.join(results, RECORDS_DIR, f), "utf8")) as TestRecord);
    const failing = all.filter((r) => r.name.includes("failing test"));
    expect(failing).toHaveLength(2);
    expect(all.filter((r) => r.state === "failed")).toHaveLength(2);
    for (const r of failing) {
      const i = /failing test (\d)/.exec(r.name)![1];
      expect(r.state).toBe("failed");
      expect(r.attachments).toEqual([{ name: "host log", contentType: "text/plain", body: `log of failing test ${i}` }]);
    }
    const records = all.filter((r) => !r.name.includes("failing test"));
    expect(records).toHaveLength(12);
    for (const r of records) {
      const [, i, cell] = /^WHL-0\d: test (\d) on (\S+)$/.exec(r.name)!;
      expect(r.cell?.id).toBe(cell);
      expect(r.clauses).toEqual([`WHL-0${Number(i) + 1}`]);
      expect(r.attachments.map((a) => a.body)).toEqual([`test ${i} on ${cell} before`, `test ${i} on ${cell} after`]);
    }

    const allure = readdirSync(results).filter((f) => f.endsWith("-result.json")).map((f) => JSON.parse(readFileSync(path.join(results, f), "utf8")) as { name: string; steps: Array<{ name: string }> });
    expect(allure).toHaveLength(14);
    for (const result of allure.filter((r) => !r.name.includes("failing test"))) {
      const [, i, cell] = /^WHL-0\d: test (\d) on (\S+)$/.exec(result.name)!;
      const steps = result.steps.map((s) => s.name).join("\n");
      // allure-vitest records each expect() as a step: both of this test's, and nobody else's.
      expect(steps).toContain(`marker-${i}-${cell}`);
      expect(steps).toContain(`after-${i}-${cell}`);
      expect(steps.match(/(?:marker|after)-(\d)-(\S+?)"/g)?.every((m) => m.includes(`-${i}-${cell}`))).toBe(true);
    }
  }, 60_000);
});

import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runThroughReporter } from "../testing/reporter-run.ts";
import { tempDirs } from "../testing/temp-dirs.ts";

const tmp = tempDirs("concurrent-meta-");

// The known trap: concurrent vitest tests can get each other's Allure metadata. This runs a file
// of deliberately interleaving concurrent tests through allure-vitest and distcheck's reporter and
// checks that every label, attachment and step ends up on the test that made it.
describe("report metadata of concurrent tests", () => {
  it("stays with the test that produced it", async () => {
    const results = tmp();
    const { run, records: all } = await runThroughReporter("concurrent-metadata.fixture.ts", results, { allure: true });
    // Exactly the two deliberate failures.
    expect(run.exitCode, String(run.all)).toBe(1);

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

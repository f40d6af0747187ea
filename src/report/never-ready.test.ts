import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { categorise } from "./failure-category.ts";
import { summarise } from "./report-summary.ts";
import { junitXml } from "./junit-writer.ts";
import { runThroughReporter } from "../testing/reporter-run.ts";
import { tempDirs } from "../testing/temp-dirs.ts";

const tmp = tempDirs("never-ready-");

// A cell whose host never became ready has one failure (HST-02, the first boot), and every test
// stopped by it, in a suite's setup or in a test, is reported as not run with the reason.
describe("tests stopped because their cell's host never became ready", () => {
  it("are skipped with the reason; the cell has exactly one failure, HST-02, a product failure; the gate fails", async () => {
    const dir = tmp();
    const { run, records } = await runThroughReporter("never-ready.fixture.ts", dir);
    expect(run.exitCode, String(run.all)).toBe(1);
    const broken = records.filter((r) => r.cell?.id === "linux-x86_64.bookworm.broken");
    const failed = broken.filter((r) => r.state === "failed");
    expect(failed.map((r) => r.name)).toEqual(["HST-02: the host became ready within its bound (the first boot of the cell)"]);
    expect(failed[0]!.clauses).toEqual(["HST-02"]);
    expect(categorise(failed[0]!)).toBe("product");
    // When the boot gave up, so an engine outage later in the run does not take it for the machine's.
    expect(failed[0]!.endedAt).toBeGreaterThan(Date.now() - 60_000);
    expect(failed[0]!.errors[0]?.message).toMatch(/did not report ready within 20000 ms/);
    expect(failed[0]!.attachments[0]?.body).toBe("starting the host\n");
    const skipped = broken.filter((r) => r.state === "skipped");
    expect(skipped.map((r) => r.name).sort()).toEqual(["ARC-04: boots its host in the test", "HST-02: boot to ready within its bound", "WHL-02: lists the sample wheel"]);
    for (const r of skipped) expect(r.skipReason).toBe(`the host of linux-x86_64.bookworm.broken never became ready (HST-02, see suites/host-boot.test.ts > host-boot on linux-x86_64.bookworm.broken > ${failed[0]!.name})`);
    expect(records.filter((r) => r.cell?.id === "linux-x86_64.bookworm.reference").map((r) => r.state)).toEqual(["passed"]);
    // The failure comes with an Allure result of its own, so the HTML report shows it.
    const results = readdirSync(dir).filter((f) => f.endsWith("-result.json"));
    expect(results).toHaveLength(1);
    expect(JSON.parse(readFileSync(path.join(dir, results[0]!), "utf8"))).toMatchObject({ status: "failed", fullName: `distcheck:${failed[0]!.key}` });

    const summary = summarise(records, { runId: "r", requiredClauses: [], platforms: ["linux-x86_64"] });
    expect(summary.totals).toMatchObject({ failed: 1, skipped: 3, passed: 1 });
    expect(summary.categories).toEqual({ product: 1, harness: 0, infrastructure: 0 });
    expect(summary.notRun).toHaveLength(3);
    expect(summary.notRun.every((n) => n.cell === "linux-x86_64.bookworm.broken" && n.reason.includes("never became ready"))).toBe(true);
    expect(summary.gate.passed).toBe(false);
    expect(junitXml(records)).toContain('<skipped message="not run: the host of linux-x86_64.bookworm.broken never became ready');
  }, 60_000);
});

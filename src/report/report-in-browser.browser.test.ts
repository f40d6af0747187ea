import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CONTRACT } from "../contract/contract.ts";
import { checkReportInBrowser, inspectTestInBrowser, missingCitations, testDescriptionInBrowser } from "./report-browser-check.ts";
import { buildReport } from "./report-builder.ts";
import type { ReportSummary } from "./report-summary.ts";
import { writeResults } from "./synthetic-results.ts";
import { tempDirs } from "../testing/temp-dirs.ts";

const tmp = tempDirs("report-browser-");

// The published report is for people: these tests open it in headless Chromium (Debian's, driven
// by playwright-core) and check that clause stories and both platforms show, keeping a screenshot.
const X86 = "linux-x86_64.bookworm.reference";
const ARM = "linux-aarch64.trixie.reference";
const LATEST = path.resolve(import.meta.dirname, "../../reports/latest");

describe("the Allure report in a browser", () => {
  it("shows every clause by platform, with history from the previous run", async () => {
    const root = tmp();
    const results = tmp();
    writeResults(results, [
      { suite: "discovery", cell: X86, name: "WHL-03: reports entry_point_load_failed", state: "passed" },
      { suite: "discovery", cell: ARM, name: "WHL-03: reports entry_point_load_failed", state: "passed" },
      { suite: "hostile-archives", cell: X86, name: "ARC-04: refuses a symlink", state: "passed" },
      { suite: "hostile-archives", cell: ARM, name: "ARC-04: refuses a symlink", state: "failed", error: { name: "AssertionError", message: "expected unsafe_entry" }, attach: "host log line" },
    ]);
    const base = { requiredClauses: [], platforms: ["linux-x86_64", "linux-aarch64"], pythonOf: () => "3.11", resultsDirs: [results], reportsRoot: root };
    await buildReport({ ...base, runId: "previous" });
    const { dir } = await buildReport({ ...base, runId: "current" });
    const check = await checkReportInBrowser(path.join(root, "latest"), ["WHL", "WHL-03", "ARC-04", X86, ARM]);
    expect(check.missing).toEqual([]);
    expect(check.external, "the report must open offline").toEqual([]);
    expect(existsSync(check.screenshot)).toBe(true);
    // The failed test shows one earlier run in its history, its attachment and its category.
    const page = await inspectTestInBrowser(dir, "ARC-04: refuses a symlink");
    expect(page).toMatch(/History\s+1\b/);
    expect(page).toMatch(/Attachments\s+1\b/);
    expect(page).toContain("Product defects (the host broke a clause)");
    // Its description cites its clause: the id with the contract version, and the clause's text from contract.json.
    const description = await testDescriptionInBrowser(dir, "ARC-04: refuses a symlink");
    expect(missingCitations(description, ["ARC-04"]), `the rendered description: ${JSON.stringify(description)}`).toEqual([]);
    // A passed test (whose tree group does not open by itself) cites its clauses too.
    const passed = await testDescriptionInBrowser(dir, "WHL-03: reports entry_point_load_failed");
    expect(missingCitations(passed, ["WHL-03"]), `the rendered description: ${JSON.stringify(passed)}`).toEqual([]);
    expect(passed).toContain(`contract ${CONTRACT.version}`);
  }, 180_000);

  it("reports/latest of the last conformance run shows each of its clauses and platforms", async () => {
    expect(existsSync(path.join(LATEST, "index.html")), "run `npm run conformance` first: reports/latest/index.html is missing").toBe(true);
    const summary = JSON.parse(readFileSync(path.join(LATEST, "summary.json"), "utf8")) as ReportSummary;
    const check = await checkReportInBrowser(LATEST, [...Object.keys(summary.clauses), ...summary.platforms]);
    expect(check.missing).toEqual([]);
    expect(check.external, "the report must open offline").toEqual([]);
  }, 180_000);
});

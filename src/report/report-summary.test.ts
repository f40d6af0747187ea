import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CONTRACT } from "../contract/contract.ts";
import { NOT_YET_COVERED } from "../contract/not-yet-covered.ts";
import { clauseTable } from "./clause-table.ts";
import { junitXml } from "./junit-writer.ts";
import { summarise } from "./report-summary.ts";
import { RECORDS_DIR, type TestRecord } from "./test-record.ts";
import { writeResults, type Spec } from "./synthetic-results.ts";
import { tempDirs } from "../testing/temp-dirs.ts";

const X86 = "linux-x86_64.bookworm.reference";
const ARM = "linux-aarch64.bookworm.reference";
const tmp = tempDirs("report-summary-test-");

describe("summarise and the gate", () => {
  const records = (specs: Spec[]): TestRecord[] => {
    const dir = tmp();
    writeResults(dir, specs);
    return readdirSync(path.join(dir, RECORDS_DIR)).map((f) => JSON.parse(readFileSync(path.join(dir, RECORDS_DIR, f), "utf8")));
  };
  const opts = { runId: "r", requiredClauses: ["WHL-03", "ARC-04"], platforms: ["linux-x86_64", "linux-aarch64"] };

  it("passes when every required clause passed on every platform and nothing failed", () => {
    const s = summarise(records([
      { suite: "d", cell: X86, name: "WHL-03: a", state: "passed" },
      { suite: "d", cell: ARM, name: "WHL-03: a", state: "passed" },
      { suite: "h", cell: X86, name: "ARC-04: b", state: "passed" },
      { suite: "h", cell: ARM, name: "ARC-04: b", state: "passed" },
    ]), opts);
    expect(s.gate).toEqual({ passed: true, reasons: [] });
    expect(s.clauses["WHL-03"]).toEqual({ [X86]: "passed", [ARM]: "passed" });
  });

  it("names the contract version, the SHA-256 of CONTRACT.md and the clauses no suite covers yet", () => {
    const s = summarise(records([{ suite: "d", cell: X86, name: "WHL-03: a", state: "passed" }]), opts);
    expect(s.contract).toEqual({ version: CONTRACT.version, sha256: createHash("sha256").update(readFileSync(path.resolve(import.meta.dirname, "../../CONTRACT.md"))).digest("hex"), notYetCovered: [...NOT_YET_COVERED] });
    expect(clauseTable(s).split("\n")[0]).toMatch(new RegExp(`^clause\\s+linux-x86_64\\s+linux-aarch64\\s+\\(contract ${CONTRACT.version.replace(/\./g, "\\.")}\\)$`));
  });

  it("fails on a failed test, naming its category", () => {
    const s = summarise(records([
      { suite: "d", cell: X86, name: "WHL-03: a", state: "passed" },
      { suite: "d", cell: ARM, name: "WHL-03: a", state: "failed", error: { name: "AssertionError", message: "x" } },
      { suite: "h", cell: X86, name: "ARC-04: b", state: "passed" },
      { suite: "h", cell: ARM, name: "ARC-04: b", state: "passed" },
    ]), opts);
    expect(s.gate.passed).toBe(false);
    expect(s.gate.reasons).toContain("1 test(s) failed (1 product, 0 harness, 0 infrastructure)");
    expect(s.gate.reasons).toContain("WHL-03 did not run (and pass) on linux-aarch64");
  });

  it("lists each infrastructure problem once, by code, with its cells and how many tests it cost", () => {
    const binfmt = { name: "InfrastructureError", message: "no binfmt: run update-binfmts --enable qemu-aarch64", code: "exec_format_error", category: "infrastructure" as const };
    const s = summarise(records([
      { suite: "d", cell: X86, name: "WHL-03: a", state: "passed" },
      { suite: "d", cell: ARM, name: "WHL-03: a", state: "failed", error: binfmt },
      { suite: "h", cell: ARM, name: "ARC-04: b", state: "failed", error: binfmt },
      { suite: "h", cell: X86, name: "ARC-04: b", state: "failed", error: { name: "AssertionError", message: "x" } },
    ]), opts);
    expect(s.categories).toEqual({ product: 1, harness: 0, infrastructure: 2 });
    expect(s.infrastructure).toEqual([{ code: "exec_format_error", message: binfmt.message, tests: 2, cells: [ARM] }]);
  });

  it("fails when a required clause never ran on a platform", () => {
    const s = summarise(records([
      { suite: "d", cell: X86, name: "WHL-03: a", state: "passed" },
      { suite: "d", cell: ARM, name: "WHL-03: a", state: "passed" },
      { suite: "h", cell: X86, name: "ARC-04: b", state: "passed" },
    ]), opts);
    expect(s.gate.reasons).toEqual(["ARC-04 did not run (and pass) on linux-aarch64"]);
    expect(clauseTable(s)).toMatch(/ARC-04\s+ok \(1\)\s+-/);
  });

  it("writes JUnit with one testsuite per suite and the failure message", () => {
    const xml = junitXml(records([
      { suite: "d", cell: X86, name: "WHL-03: a <b>", state: "failed", error: { name: "AssertionError", message: "expected 1 to be 2" } },
      { suite: "h", cell: ARM, name: "ARC-04: b", state: "passed" },
    ]));
    expect(xml).toContain('<testsuite name="d" tests="1" failures="1" skipped="0">');
    expect(xml).toContain(`name="[${X86}] WHL-03: a &lt;b&gt;"`);
    expect(xml).toContain('<failure message="expected 1 to be 2">');
    // Every testsuite carries the contract it was judged against, before its testcases.
    const props = `<properties>\n      <property name="contract.version" value="${CONTRACT.version}"/>\n      <property name="contract.sha256" value="${CONTRACT.sha256}"/>\n    </properties>`;
    expect(xml.split(props)).toHaveLength(3);
    expect(xml).toMatch(/<testsuite name="d"[^>]*>\n\s*<properties>/);
  });
});

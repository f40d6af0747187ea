import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { checkWaiverQuotes, waiverCovers, type Waiver } from "../hosts/waivers.ts";
import { tempDirs } from "../testing/temp-dirs.ts";
import type { HostProfile } from "./host-verdicts.ts";
import { clauseTable } from "./clause-table.ts";
import { junitXml } from "./junit-writer.ts";
import { summarise } from "./report-summary.ts";
import { writeResults, type Spec } from "./synthetic-results.ts";
import { RECORDS_DIR, type TestRecord } from "./test-record.ts";

const tmp = tempDirs("host-verdicts-test-");
const X86 = "linux-x86_64.trixie.toposync";
const ARM = "linux-aarch64.trixie.toposync";
const REF = "linux-x86_64.bookworm.reference";

const records = (specs: Spec[]): TestRecord[] => {
  const dir = tmp();
  writeResults(dir, specs);
  return readdirSync(path.join(dir, RECORDS_DIR)).map((f) => JSON.parse(readFileSync(path.join(dir, RECORDS_DIR, f), "utf8")) as TestRecord);
};

const waiver = (clause: string, cells = "*.toposync"): Waiver => ({ clause, cells, reason: "the host keeps the first entry point it meets", source: { file: "src/m.py", line: 2, quote: "first wins" } });

const toposync = (waivers: Waiver[] = []): HostProfile => ({
  id: "toposync",
  adapter: "toposync",
  families: ["WHL", "HST"],
  cells: [X86, ARM],
  excluded: [
    { id: "linux-x86_64.bookworm.toposync", platform: "linux-x86_64", reason: "bookworm packages too old" },
    { id: "linux-aarch64.bookworm.toposync", platform: "linux-aarch64", reason: "bookworm packages too old" },
  ],
  waivers,
});

const opts = (hosts: HostProfile[], requiredClauses = ["WHL-06", "WHL-02", "ARC-04"]) => ({ runId: "r", requiredClauses, platforms: ["linux-x86_64", "linux-aarch64"], hosts });

describe("host verdicts", () => {
  const passing: Spec[] = [X86, ARM].flatMap((cell) => [
    { suite: "d", cell, name: "WHL-02: listed", state: "passed" as const },
    { suite: "d", cell, name: "WHL-06: one of two", state: "passed" as const },
  ]);

  it("reports the clauses of families a host does not implement, and every clause on a base it cannot run on, as not applicable with the reason", () => {
    const s = summarise(records(passing), opts([toposync()]));
    expect(s.gate).toEqual({ passed: true, reasons: [] });
    expect(s.hosts.toposync!.clauses["ARC-04"]).toEqual({ [X86]: "not-applicable", [ARM]: "not-applicable", "linux-x86_64.bookworm.toposync": "not-applicable", "linux-aarch64.bookworm.toposync": "not-applicable" });
    expect(s.hosts.toposync!.clauses["WHL-02"]![X86]).toBe("passed");
    expect(s.hosts.toposync!.clauses["WHL-02"]!["linux-x86_64.bookworm.toposync"]).toBe("not-applicable");
    expect(s.notApplicable.map((n) => n.reason)).toEqual([expect.stringContaining("implements WHL, HST; ARC, DIR, BND, KRN are not part of it"), "bookworm packages too old"]);
    const table = clauseTable(s);
    expect(table).toContain("host toposync (adapter toposync; implements WHL, HST)");
    expect(table).toMatch(/ARC-04\s+n\/a\s+n\/a/);
    expect(table).toMatch(/WHL-02\s+ok \(1\)\s+ok \(1\)/);
  });

  it("a required clause of an implemented family that did not run fails the gate; one of a family the host lacks does not", () => {
    const s = summarise(records(passing.filter((p) => !(p.name.startsWith("WHL-06") && p.cell === ARM))), opts([toposync()]));
    expect(s.gate.reasons).toEqual(["WHL-06 did not run (and pass) on linux-aarch64 for host toposync"]);
  });

  it("a failure every clause of which is waived does not fail the gate and is shown as waived", () => {
    const specs = passing.map((p) => (p.name.startsWith("WHL-06") ? { ...p, state: "failed" as const, error: { name: "AssertionError", message: "dup-b kept after reinstall" } } : p));
    const s = summarise(records(specs), opts([toposync([waiver("WHL-06")])]));
    expect(s.gate).toEqual({ passed: true, reasons: [] });
    expect(s.totals).toMatchObject({ failed: 0, waived: 2, passed: 2 });
    expect(s.hosts.toposync!.clauses["WHL-06"]).toMatchObject({ [X86]: "waived", [ARM]: "waived" });
    expect(s.hosts.toposync!.waivers[0]).toMatchObject({ clause: "WHL-06", waived: [X86, ARM], unexpectedPass: [] });
    expect(clauseTable(s)).toMatch(/WHL-06\s+waived\s+waived/);
    const xml = junitXml(records(specs), s.contract, { profiles: new Map([["toposync", toposync([waiver("WHL-06")])]]), notApplicable: s.notApplicable });
    expect(xml).toContain('<skipped message="waived: WHL-06: the host keeps the first entry point it meets (src/m.py:2: first wins)"/>');
    expect(xml).not.toContain("<failure");
    expect(xml).toContain('classname="not-applicable"');
  });

  it("a waived clause that passed is an unexpected pass and fails the gate", () => {
    const s = summarise(records(passing), opts([toposync([waiver("WHL-06", "linux-aarch64.*")])]));
    expect(s.hosts.toposync!.clauses["WHL-06"]).toMatchObject({ [X86]: "passed", [ARM]: "unexpected-pass" });
    expect(s.gate.passed).toBe(false);
    expect(s.gate.reasons[0]).toMatch(/^WHL-06 is waived on linux-aarch64\.trixie\.toposync .* but passed there: an unexpected pass; remove the waiver from hosts\/toposync\/waivers\.json$/);
    expect(clauseTable(s)).toMatch(/WHL-06\s+ok \(1\)\s+UNEXPECTED PASS/);
  });

  it("a failed test that names a clause no waiver covers still fails the gate", () => {
    const specs: Spec[] = [...passing, { suite: "d", cell: X86, name: "WHL-02 WHL-06: both", state: "failed", error: { name: "AssertionError", message: "x" } }];
    const s = summarise(records(specs), opts([toposync([waiver("WHL-06")])]));
    expect(s.gate.reasons).toContain("1 test(s) failed (1 product, 0 harness, 0 infrastructure)");
    expect(s.hosts.toposync!.clauses["WHL-02"]![X86]).toBe("failed");
  });

  it("judges each host on its own cells: the reference host's clauses are not the Toposync host's", () => {
    const reference: HostProfile = { id: "reference", adapter: "reference", families: ["WHL", "ARC", "HST"], cells: [REF], excluded: [], waivers: [] };
    const specs: Spec[] = [...passing, { suite: "d", cell: REF, name: "ARC-04: refused", state: "passed" }, { suite: "d", cell: REF, name: "WHL-02: listed", state: "passed" }, { suite: "d", cell: REF, name: "WHL-06: one of two", state: "passed" }];
    const s = summarise(records(specs), opts([reference, toposync()]));
    expect(Object.keys(s.hosts)).toEqual(["reference", "toposync"]);
    expect(s.hosts.reference!.clauses["ARC-04"]).toEqual({ [REF]: "passed" });
    // The reference host has no aarch64 cell in this run: it is judged on x86_64 only.
    expect(s.gate).toEqual({ passed: true, reasons: [] });
  });
});

describe("errors outside tests", () => {
  it("a suite file that did not run fails the gate even when every test passed", () => {
    const s = summarise(records([{ suite: "d", cell: X86, name: "WHL-02: listed", state: "passed" }]), { runId: "r", requiredClauses: [], platforms: ["linux-x86_64"] }, undefined, { modules: [{ file: "suites/checksum.test.ts", messages: ["No test suite found in file"] }], unhandled: [] });
    expect(s.gate.reasons).toEqual(["suites/checksum.test.ts did not run: No test suite found in file"]);
  });
});

describe("waivers", () => {
  it("match cell ids by pattern", () => {
    expect(waiverCovers(waiver("WHL-06", "*.trixie.toposync"), X86)).toBe(true);
    expect(waiverCovers(waiver("WHL-06", "linux-aarch64.*"), X86)).toBe(false);
  });

  it("must quote the named line of the host's source", () => {
    const root = tmp();
    writeFileSync(path.join(root, "m.py"), "a = 1\nfirst wins = True\n");
    const good = { ...waiver("WHL-06"), source: { file: "m.py", line: 2, quote: "first wins" } };
    expect(checkWaiverQuotes([good], root)).toEqual([]);
    expect(checkWaiverQuotes([{ ...good, source: { ...good.source, line: 1 } }], root)[0]).toContain('m.py:1 reads "a = 1", not the quoted "first wins"');
    expect(checkWaiverQuotes([{ ...good, source: { ...good.source, file: "nope.py" } }], root)[0]).toContain("nope.py does not exist");
  });
});

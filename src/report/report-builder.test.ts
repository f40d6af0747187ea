import { createHash } from "node:crypto";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CONTRACT, clauseOf } from "../contract/contract.ts";
import { NOT_YET_COVERED } from "../contract/not-yet-covered.ts";
import { buildReport, clauseTable, enrichResults, externalResources, junitXml, stripAnalytics, summarise } from "./report-builder.ts";
import { RECORDS_DIR, type TestRecord } from "./test-record.ts";
import { writeResults, type Spec } from "./synthetic-results.ts";
import { tempDirs } from "../testing/temp-dirs.ts";

const X86 = "linux-x86_64.bookworm.reference";
const ARM = "linux-aarch64.bookworm.reference";
const tmp = tempDirs("report-test-");
const pythonOf = () => "3.11";

describe("enrichResults", () => {
  it("labels each result with epic, feature, story, cell parameters and category, and attaches its annotations", () => {
    const dir = tmp();
    writeResults(dir, [
      { suite: "discovery", cell: ARM, name: "WHL-03: reports entry_point_load_failed", state: "failed", error: { name: "AssertionError", message: "expected" }, attach: "LOG-LINE" },
      { suite: "discovery", cell: X86, name: "WHL-03: reports entry_point_load_failed", state: "passed" },
    ]);
    const out = path.join(tmp(), "enriched");
    enrichResults([dir], out, undefined, pythonOf);
    const results = readdirSync(out).filter((f) => f.endsWith("-result.json")).map((f) => JSON.parse(readFileSync(path.join(out, f), "utf8")));
    const failed = results.find((r) => r.status === "failed");
    expect(failed.labels).toEqual(expect.arrayContaining([{ name: "epic", value: "WHL" }, { name: "feature", value: "discovery" }, { name: "story", value: "WHL-03" }, { name: "distcheck.category", value: "product" }]));
    expect(failed.parameters).toEqual(expect.arrayContaining([{ name: "platform", value: "linux-aarch64" }, { name: "Debian suite", value: "bookworm" }, { name: "Python", value: "3.11" }]));
    expect(failed.attachments).toHaveLength(1);
    expect(readFileSync(path.join(out, failed.attachments[0].source), "utf8")).toBe("LOG-LINE");
    // The story's clause, cited from the contract with its version, is the test's description.
    expect(failed.description).toBe(`**WHL-03** (contract ${CONTRACT.version}): ${clauseOf("WHL-03")!.text}`);
    const passed = results.find((r) => r.status === "passed");
    expect(passed.parameters).toContainEqual({ name: "platform", value: "linux-x86_64" });
    expect(passed.attachments).toEqual([]);
  });
});

describe("enrichResults with a bodiless attachment", () => {
  it("writes an empty attachment instead of failing the report", () => {
    const dir = tmp();
    writeResults(dir, [{ suite: "d", cell: X86, name: "ARC-05: bomb", state: "failed", error: { name: "Error", message: "x" }, attach: "placeholder" }]);
    const recDir = path.join(dir, RECORDS_DIR);
    const file = path.join(recDir, readdirSync(recDir)[0]!);
    const record = JSON.parse(readFileSync(file, "utf8"));
    record.attachments = [{ name: "growth", contentType: "application/json" }];
    writeFileSync(file, JSON.stringify(record));
    const out = path.join(tmp(), "enriched");
    enrichResults([dir], out, undefined, pythonOf);
    const result = readdirSync(out).filter((f) => f.endsWith("-result.json")).map((f) => JSON.parse(readFileSync(path.join(out, f), "utf8")))[0];
    expect(readFileSync(path.join(out, result.attachments[0].source), "utf8")).toBe("");
  });
});

describe("enrichResults and the contract", () => {
  const enriched = (specs: Spec[]): Array<{ name: string; description?: string }> => {
    const dir = tmp();
    writeResults(dir, specs);
    const out = path.join(tmp(), "enriched");
    enrichResults([dir], out, undefined, pythonOf);
    return readdirSync(out).filter((f) => f.endsWith("-result.json")).map((f) => JSON.parse(readFileSync(path.join(out, f), "utf8")));
  };

  it("cites every clause a test names, in order, and says so for an id the contract lacks", () => {
    const [several] = enriched([{ suite: "h", cell: X86, name: "ARC-04, ARC-07: refuses a symlink", state: "passed", clauses: ["ARC-04", "ARC-07", "ARC-99"] }]);
    expect(several!.description).toBe([
      `**ARC-04** (contract ${CONTRACT.version}): ${clauseOf("ARC-04")!.text}`,
      `**ARC-07** (contract ${CONTRACT.version}): ${clauseOf("ARC-07")!.text}`,
      `**ARC-99**: not a clause of contract ${CONTRACT.version}`,
    ].join("\n\n"));
  });

  it("leaves a test that names no clause without a description", () => {
    const [plain] = enriched([{ suite: "platform", cell: X86, name: "runs on the cell's machine architecture", state: "passed" }]);
    expect(plain!.description).toBeUndefined();
  });
});

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

describe("buildReport", () => {
  it("merged shards give the same counts as one unsharded run", async () => {
    const specs: Spec[] = [
      { suite: "d", cell: X86, name: "WHL-03: a", state: "passed" },
      { suite: "d", cell: ARM, name: "WHL-03: a", state: "passed" },
      { suite: "h", cell: X86, name: "ARC-04: b", state: "failed", error: { name: "TypeError", message: "boom" } },
      { suite: "h", cell: ARM, name: "ARC-04: b", state: "passed" },
    ];
    const whole = path.join(tmp(), "whole");
    writeResults(whole, specs);
    const shard1 = path.join(tmp(), "s1");
    const shard2 = path.join(tmp(), "s2");
    writeResults(shard1, specs.slice(0, 2));
    writeResults(shard2, specs.slice(2));
    const base = { requiredClauses: ["WHL-03"], platforms: ["linux-x86_64", "linux-aarch64"], pythonOf };
    const one = await buildReport({ ...base, runId: "one", resultsDirs: [whole], reportsRoot: tmp() });
    const merged = await buildReport({ ...base, runId: "merged", resultsDirs: [shard1, shard2], reportsRoot: tmp() });
    expect(merged.summary.totals).toEqual(one.summary.totals);
    expect(merged.summary.clauses).toEqual(one.summary.clauses);
    expect(merged.summary.categories).toEqual({ product: 0, harness: 1, infrastructure: 0 });
    expect(readdirSync(merged.dir)).toEqual(expect.arrayContaining(["index.html", "summary.json", "junit.xml"]));
    const written = JSON.parse(readFileSync(path.join(merged.dir, "summary.json"), "utf8")) as { contract: unknown };
    expect(written.contract).toEqual({ version: CONTRACT.version, sha256: CONTRACT.sha256, notYetCovered: [...NOT_YET_COVERED] });
    expect(readFileSync(path.join(merged.dir, "junit.xml"), "utf8")).toContain(`<property name="contract.sha256" value="${CONTRACT.sha256}"/>`);
    // The environment rows Allure shows: the contract and what it does not cover yet.
    const rc = readFileSync(path.join(merged.dir, ".allurerc.mjs"), "utf8");
    expect(rc).toContain(`"contract": "${CONTRACT.version} (CONTRACT.md sha256 ${CONTRACT.sha256})"`);
    expect(rc).toContain(`"clauses not yet covered": "${NOT_YET_COVERED.join(", ")}"`);
    // The published page loads nothing from the network (Allure's analytics tag is removed).
    expect(externalResources(readFileSync(path.join(merged.dir, "index.html"), "utf8"))).toEqual([]);
  }, 60_000);

  it("keeps history across runs and points latest at the newest", async () => {
    const root = tmp();
    const results = path.join(tmp(), "res");
    writeResults(results, [{ suite: "d", cell: X86, name: "WHL-03: a", state: "passed" }]);
    const base = { requiredClauses: [], platforms: ["linux-x86_64"], pythonOf, resultsDirs: [results], reportsRoot: root };
    await buildReport({ ...base, runId: "first" });
    const historyAfterFirst = readFileSync(path.join(root, "history.jsonl"), "utf8").trim().split("\n").length;
    await buildReport({ ...base, runId: "second" });
    const history = readFileSync(path.join(root, "history.jsonl"), "utf8").trim().split("\n");
    expect(history.length).toBe(historyAfterFirst + 1);
    expect(readFileSync(path.join(root, "latest", "summary.json"), "utf8")).toContain('"runId": "second"');
  }, 60_000);
});

describe("stripAnalytics", () => {
  it("removes Allure's Google Analytics loader and beacon and keeps the report's own scripts", () => {
    const html = [
      '<script src="data:text/javascript;base64,AAAA"></script>',
      '    <script async src="https://www.googletagmanager.com/gtag/js?id=G-X"></script>',
      "    <script>",
      "        window.dataLayer = window.dataLayer || [];",
      "        gtag('config', 'G-X', {});",
      "    </script>",
      "    <script async>window.allureReportData = {};</script>",
    ].join("\n");
    expect(externalResources(html)).toEqual(["https://www.googletagmanager.com/gtag/js?id=G-X"]);
    const stripped = stripAnalytics(html);
    expect(externalResources(stripped)).toEqual([]);
    expect(stripped).not.toContain("dataLayer");
    expect(stripped).toContain("data:text/javascript;base64,AAAA");
    expect(stripped).toContain("window.allureReportData = {};");
  });
});

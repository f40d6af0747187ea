import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CONTRACT } from "../contract/contract.ts";
import { NOT_YET_COVERED } from "../contract/not-yet-covered.ts";
import { externalResources } from "./allure-generator.ts";
import { buildReport } from "./report-builder.ts";
import { writeResults, type Spec } from "./synthetic-results.ts";
import { tempDirs } from "../testing/temp-dirs.ts";

const X86 = "linux-x86_64.bookworm.reference";
const ARM = "linux-aarch64.bookworm.reference";
const tmp = tempDirs("report-test-");
const pythonOf = () => "3.11";

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
    expect(rc).toContain(`"clauses not yet covered": "${NOT_YET_COVERED.join(", ") || "none"}"`);
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

import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CONTRACT, clauseOf } from "../contract/contract.ts";
import { enrichResults } from "./allure-enricher.ts";
import { RECORDS_DIR } from "./test-record.ts";
import { writeResults, type Spec } from "./synthetic-results.ts";
import { tempDirs } from "../testing/temp-dirs.ts";

const X86 = "linux-x86_64.bookworm.reference";
const ARM = "linux-aarch64.bookworm.reference";
const tmp = tempDirs("allure-enricher-test-");
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

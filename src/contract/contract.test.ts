import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { clauseIdsOf, familyOf } from "../report/test-identity.ts";
import { CONTRACT, citation, clauseOf, contractStamp, plainText } from "./contract.ts";
import { ContractError, contractJson, parseContract } from "./contract-parser.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const CONTRACT_MD = readFileSync(path.join(ROOT, "CONTRACT.md"));

describe("contract.json", () => {
  it("is exactly what the parser derives from CONTRACT.md (one source of truth)", () => {
    const derived = contractJson(parseContract(CONTRACT_MD));
    const committed = readFileSync(path.join(ROOT, "contract.json"), "utf8");
    expect(committed, "contract.json is stale: run `npx tsx scripts/generate-contract-json.ts`").toBe(derived);
  });

  it("is what the harness reads, and carries the SHA-256 of CONTRACT.md's bytes", () => {
    expect(CONTRACT.sha256).toBe(createHash("sha256").update(CONTRACT_MD).digest("hex"));
    expect(CONTRACT.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(contractStamp()).toMatchObject({ version: CONTRACT.version, sha256: CONTRACT.sha256 });
  });

  it("holds every family and clause of the contract, each with a title and a since no later than the version", () => {
    expect(CONTRACT.families.map((f) => f.id)).toEqual(["WHL", "ARC", "DIR", "BND", "KRN", "HST"]);
    const counts = Object.fromEntries(CONTRACT.families.map((f) => [f.id, CONTRACT.clauses.filter((c) => c.family === f.id).length]));
    expect(counts).toEqual({ WHL: 15, ARC: 16, DIR: 3, BND: 2, KRN: 2, HST: 3 });
    for (const c of CONTRACT.clauses) {
      expect(c.title.length, c.id).toBeGreaterThan(0);
      expect(c.title.length, `${c.id}'s title is short`).toBeLessThanOrEqual(50);
      expect(familyOf(c.id)).toBe(c.family);
    }
  });

  it("uses only families whose ids the test-title reader recognises (clauseIdsOf), or no test could claim them", () => {
    const unread = CONTRACT.clauses.filter((c) => clauseIdsOf(`${c.id}: a test`)[0] !== c.id).map((c) => c.id);
    expect(unread, "extend CLAUSE_ID and clauseIdsOf in src/report/test-identity.ts").toEqual([]);
  });
});

describe("citation and plainText", () => {
  it("cites a clause with the contract version, and says so for an id the contract lacks", () => {
    expect(citation("WHL-08")).toBe(`**WHL-08** (contract ${CONTRACT.version}): ${clauseOf("WHL-08")!.text}`);
    expect(citation("WHL-99")).toBe(`**WHL-99**: not a clause of contract ${CONTRACT.version}`);
  });

  it("drops Markdown marks as a browser renders them, keeping stars inside code", () => {
    expect(plainText("skipped **before** `setup()` *(derived)*; a `*.plugins` entry point")).toBe("skipped before setup() (derived); a *.plugins entry point");
  });
});

const doc = (body: string, opts: { version?: string; changelog?: string } = {}): string =>
  [
    "# The distribution contract",
    "",
    `Version: **${opts.version ?? "1.2.0"}**`,
    "",
    "## WHL: wheels",
    "",
    "| id | title | clause | since |",
    "|---|---|---|---|",
    body,
    "",
    "## Changelog",
    "",
    opts.changelog ?? "### 1.2.0\n\n- WHL-02.\n\n### 1.0.0\n\n- First.",
    "",
  ].join("\n");
const row = (id: string, since = "1.0.0", text = "A clause."): string => `| ${id} | A title | ${text} | ${since} |`;

describe("parseContract", () => {
  it("reads the version, families and clauses, with a literal bar escaped in a cell", () => {
    const c = parseContract(doc([row("WHL-01"), row("WHL-02", "1.2.0", "a \\| b")].join("\n")));
    expect(c.version).toBe("1.2.0");
    expect(c.families).toEqual([{ id: "WHL", title: "wheels" }]);
    expect(c.clauses).toEqual([
      { id: "WHL-01", family: "WHL", title: "A title", text: "A clause.", since: "1.0.0" },
      { id: "WHL-02", family: "WHL", title: "A title", text: "a | b", since: "1.2.0" },
    ]);
  });

  const refused: Array<[string, string, RegExp]> = [
    ["a duplicate id", doc([row("WHL-01"), row("WHL-01")].join("\n")), /CONTRACT\.md:10: WHL-01 appears twice/],
    ["a clause in another family's section", doc(row("ARC-01")), /CONTRACT\.md:9: ARC-01 sits in the WHL section/],
    ["a row with a cell missing", doc("| WHL-01 | A clause. | 1.0.0 |"), /CONTRACT\.md:9: a clause row has 4 cells/],
    ["a malformed id", doc(row("WHL-1")), /"WHL-1" is not a clause id/],
    ["a since after the version", doc(row("WHL-01", "1.3.0")), /WHL-01 is since 1\.3\.0, after the contract's version 1\.2\.0/],
    ["a since without a changelog entry", doc(row("WHL-01", "1.1.0")), /WHL-01 is since 1\.1\.0, which has no changelog entry/],
    ["a version without a changelog entry", doc(row("WHL-01"), { changelog: "### 1.0.0" }), /must start with the contract's version 1\.2\.0, got 1\.0\.0/],
    ["a changelog out of order", doc(row("WHL-01"), { changelog: "### 1.2.0\n### 1.0.0\n### 1.1.0" }), /newest first: 1\.1\.0 follows 1\.0\.0/],
    ["a version that is not SemVer", doc(row("WHL-01"), { version: "1.0" }), /must be a SemVer version such as 1\.0\.0, got "1\.0"/],
    ["two version lines", `Version: **1.0.0**\n${doc(row("WHL-01"))}`, /exactly one version line/],
  ];
  it.for(refused)("refuses %s with contract_invalid, naming the line", ([, text, message]) => {
    const error = (() => {
      try {
        parseContract(text);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ContractError);
    expect((error as ContractError).code).toBe("contract_invalid");
    expect((error as ContractError).message).toMatch(message);
  });
});

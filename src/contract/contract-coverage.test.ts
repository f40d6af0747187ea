import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CONTRACT } from "./contract.ts";
import { coverageProblems, type DynamicTitleSource } from "./contract-coverage.ts";
import { NOT_YET_COVERED } from "./not-yet-covered.ts";
import { scanSuiteSource, type SuiteClauseScan } from "./suite-clause-scanner.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const FAMILIES = CONTRACT.families.map((f) => f.id);
const NOT_YET_COVERED_FILE = "src/contract/not-yet-covered.ts";
const readJson = <T>(rel: string): T => JSON.parse(readFileSync(path.join(ROOT, rel), "utf8")) as T;

const suiteFiles = readdirSync(path.join(ROOT, "suites")).filter((f) => f.endsWith(".test.ts")).sort().map((f) => `suites/${f}`);
const sourceOf = (file: string): string => readFileSync(path.join(ROOT, file), "utf8");
const scan = (file: string, source = sourceOf(file)): SuiteClauseScan => scanSuiteSource(file, source, FAMILIES);

const corpus = readJson<{ entries: Array<{ name: string; clauses: string[] }> }>("fixtures/hostile/corpus.json");
/** Titles computed at run time: the hostile-archives suite names each test after its corpus entry's clauses. */
const dynamicSources: DynamicTitleSource[] = [
  { file: "suites/hostile-archives.test.ts", expression: 'entry.clauses.join(" ")', from: "fixtures/hostile/corpus.json", ids: corpus.entries.flatMap((e) => e.clauses) },
];

const check = (scans: SuiteClauseScan[], overrides: { notYetCovered?: readonly string[]; dynamicSources?: DynamicTitleSource[] } = {}): string[] =>
  coverageProblems({ scans, contract: CONTRACT, notYetCovered: overrides.notYetCovered ?? NOT_YET_COVERED, notYetCoveredFile: NOT_YET_COVERED_FILE, dynamicSources: overrides.dynamicSources ?? dynamicSources });

describe("the suites and the contract", () => {
  it("every clause id a suite names is in the contract; every clause is claimed by a suite or listed as not yet covered, and none is both", () => {
    expect(suiteFiles.length).toBeGreaterThan(0);
    expect(check(suiteFiles.map((f) => scan(f)))).toEqual([]);
  });

  it("fixture declarations and the mutant catalog name only clauses of the contract", () => {
    const known = new Set(CONTRACT.clauses.map((c) => c.id));
    const named: Array<[string, string]> = [];
    for (const kind of ["wheels", "archives"]) {
      for (const f of readdirSync(path.join(ROOT, "fixtures", kind)).filter((n) => n.endsWith(".json"))) {
        for (const id of readJson<{ clauses?: string[] }>(`fixtures/${kind}/${f}`).clauses ?? []) named.push([`fixtures/${kind}/${f}`, id]);
      }
    }
    for (const e of corpus.entries) for (const id of e.clauses) named.push([`fixtures/hostile/corpus.json (${e.name})`, id]);
    const catalog = "hosts/reference/mutants/catalog.json";
    for (const m of readJson<{ mutants: Array<{ name: string; clause: string }> }>(catalog).mutants) named.push([`${catalog} (${m.name})`, m.clause]);
    expect(named.length).toBeGreaterThan(50);
    expect(named.filter(([, id]) => !known.has(id)).map(([file, id]) => `${file} names ${id}, not a clause of contract ${CONTRACT.version}`)).toEqual([]);
  });
});

describe("a suite that drifts from the contract fails the check", () => {
  const DISCOVERY = "suites/discovery.test.ts";
  const others = (): SuiteClauseScan[] => suiteFiles.filter((f) => f !== DISCOVERY).map((f) => scan(f));

  it("names the id and the file when an it.for row's clause id is renamed to one the contract lacks (WHL-03 → WHL-99)", () => {
    const source = sourceOf(DISCOVERY);
    expect(source).toContain('["WHL-03", ');
    const problems = check([...others(), scan(DISCOVERY, source.replace('["WHL-03", ', '["WHL-99", '))]);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.some((p) => p.includes("WHL-99") && p.includes(DISCOVERY)), problems.join("\n")).toBe(true);
    // WHL-03 lost its only test: the check says that too.
    expect(problems.some((p) => p.startsWith("WHL-03 ") && p.includes("claimed by no test title")), problems.join("\n")).toBe(true);
  });

  it("names the id and the file when a literal title's clause id is renamed (WHL-13 → WHL-99)", () => {
    const source = sourceOf(DISCOVERY).replace('it("WHL-13: ', 'it("WHL-99: ');
    const problems = check([...others(), scan(DISCOVERY, source)]);
    expect(problems.some((p) => new RegExp(`^${DISCOVERY}:\\d+ names WHL-99, which is not a clause`).test(p)), problems.join("\n")).toBe(true);
  });

  it("refuses an id of a family the contract does not have in a title", () => {
    const problems = check([...others(), scan(DISCOVERY, `${sourceOf(DISCOVERY)}\nit("XYZ-01: a test", () => {});\n`)]);
    expect(problems.some((p) => p.includes("XYZ-01") && p.includes(DISCOVERY)), problems.join("\n")).toBe(true);
  });

  it("fails when a clause listed as not yet covered is claimed by a suite, so the list never goes stale", () => {
    // DIR-01 listed (whether or not it still is) and claimed first by a suite of the test's own.
    const problems = check([scan("suites/dir.test.ts", 'it("DIR-01: plugins are folders", () => {});'), ...suiteFiles.map((f) => scan(f))], { notYetCovered: [...new Set([...NOT_YET_COVERED, "DIR-01"])] });
    expect(problems).toEqual([expect.stringMatching(/^DIR-01 is listed in NOT_YET_COVERED \(src\/contract\/not-yet-covered\.ts\) but suites\/dir\.test\.ts:1 claims it/)]);
  });

  it("fails when a clause is neither claimed nor listed", () => {
    // KRN-02 unclaimed (its tests' titles dropped from the scans) and not listed, whether or not its suite has landed.
    const unclaimed = suiteFiles.map((f) => scan(f)).map((s) => ({ ...s, claimed: s.claimed.filter((c) => c.id !== "KRN-02") }));
    const problems = check(unclaimed, { notYetCovered: NOT_YET_COVERED.filter((c) => c !== "KRN-02") });
    expect(problems).toEqual([expect.stringMatching(/^KRN-02 \(.+\) is claimed by no test title under suites\/ and is not listed in NOT_YET_COVERED/)]);
  });

  it("fails on a computed title whose clause ids it cannot know, and on a declared source no title uses", () => {
    const problems = check(suiteFiles.map((f) => scan(f)), { dynamicSources: [{ ...dynamicSources[0]!, expression: "entry.ids" }] });
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/^suites\/hostile-archives\.test\.ts:\d+: a test title starts with `entry\.clauses\.join\(" "\)`/),
      expect.stringMatching(/^suites\/hostile-archives\.test\.ts has no test title starting with `entry\.ids`/),
    ]));
  });
});

describe("scanSuiteSource", () => {
  const ids = (source: string): string[] => scanSuiteSource("suites/x.test.ts", source, FAMILIES).claimed.map((c) => c.id);

  it("reads the leading ids of literal, template and it.for titles, as clauseIdsOf does at run time", () => {
    expect(ids('it("WHL-08: skips", () => {});')).toEqual(["WHL-08"]);
    expect(ids("it.concurrent('ARC-04, ARC-07: refuses', () => {});")).toEqual(["ARC-04", "ARC-07"]);
    expect(ids("test(`ARC-15: ${label}: polls`, () => {});")).toEqual(["ARC-15"]);
    expect(ids('it.for(PLANS)("WHL-09: at core $core", () => {});')).toEqual(["WHL-09"]);
    expect(ids('it.for([["WHL-03", "a"], ["WHL-04", "b"]])("%s: %s is reported", () => {});')).toEqual(["WHL-03", "WHL-04"]);
    expect(ids('it.for([{ c: "HST-02" }])("$c: ready", () => {});')).toEqual(["HST-02"]);
    expect(ids('it.skipIf(slow)("WHL-14: exits", () => {}); test.extend({ f: 1 });')).toEqual(["WHL-14"]);
  });

  it("claims nothing for a title that only mentions a clause, or for describe names, but records every mention", () => {
    const s = scanSuiteSource("suites/x.test.ts", 'describe("WHL-01: x", () => { it("installs like WHL-02 says", () => {}); }); // ARC-16', FAMILIES);
    expect(s.claimed).toEqual([]);
    expect(s.mentioned.map((m) => m.id)).toEqual(["WHL-01", "WHL-02", "ARC-16"]);
  });

  it("records a title whose ids come from an expression as dynamic, with its line", () => {
    const s = scanSuiteSource("suites/x.test.ts", '\nit(`${entry.clauses.join(" ")}: ${entry.name}`, () => {});\nit(name, () => {});', FAMILIES);
    expect(s.dynamic).toEqual([{ line: 2, expression: 'entry.clauses.join(" ")' }, { line: 3, expression: "name" }]);
  });
});

import type { TestRecord } from "../src/report/test-record.ts";
import type { Workload } from "./bench-options.ts";

/** The suites a workload runs (`default`: the matrix's own list, all of them). */
export function workloadSuites(workload: Workload): string[] | undefined {
  return workload === "small" ? ["discovery", "hostile-archives"] : undefined;
}

/**
 * What one case is to the naive loop: a test (a) ran, by the setup it needs.
 * - `discovery`: the discovery host's wheels installed, the host booted, its listing compared.
 * - `discovery-lifecycle`: a test of "after install, upgrade and removal": three wheels, then two more and a restart.
 * - `hostile-entry`: one corpus entry installed from a file or a URL after the previous version.
 * - `hostile-group`: a group's final ARC-07 test: the previous version stopped and started again.
 * - `generic`: a test of another suite, modelled as a boot and two calls (the default workload only).
 */
export type CaseKind = "discovery" | "discovery-lifecycle" | "hostile-entry" | "hostile-group" | "generic";

/** One test (a) ran, as (b) and (c) redo it. */
export interface BenchCase {
  /** The test's record key (unique in a run). */
  id: string;
  suite: string;
  cell: string;
  platform: string;
  name: string;
  kind: CaseKind;
  /** hostile-*: the host group (its limits), from the test's describe. */
  group?: string;
  /** hostile-entry: the corpus entry and how it reaches the host. */
  entry?: { name: string; format: string; via: "file" | "url" };
}

const HOSTILE_ENTRY = /^(?:[A-Z]{3}-\d+ )*[A-Z]{3}-\d+: (.+) \((tar\.gz|zip|tar), from a (file|url)\) /;
const HOSTILE_GROUP = /^ARC-07: after every refusal on the /;
const LIFECYCLE = "after install, upgrade and removal";

type RecordFields = Pick<TestRecord, "key" | "suite" | "suitePath" | "name" | "cell">;

/** The cases of a workload: every test (a)'s records name, with the setup each needs; tests of no cell are left out. */
export function casesFromRecords(records: Iterable<RecordFields>): BenchCase[] {
  const cases: BenchCase[] = [];
  for (const r of records) {
    if (!r.cell) continue;
    const base = { id: r.key, suite: r.suite, cell: r.cell.id, platform: r.cell.platform, name: r.name };
    if (r.suite === "discovery") {
      cases.push({ ...base, kind: r.suitePath.includes(LIFECYCLE) ? "discovery-lifecycle" : "discovery" });
      continue;
    }
    if (r.suite === "hostile-archives") {
      const group = r.suitePath[1];
      const entry = HOSTILE_ENTRY.exec(r.name);
      if (entry && group) {
        cases.push({ ...base, kind: "hostile-entry", group, entry: { name: entry[1]!, format: entry[2]!, via: entry[3] as "file" | "url" } });
        continue;
      }
      if (HOSTILE_GROUP.test(r.name) && group) {
        cases.push({ ...base, kind: "hostile-group", group });
        continue;
      }
    }
    cases.push({ ...base, kind: "generic" });
  }
  return cases.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { clauseIdsOf } from "./test-identity.ts";
import { RECORDS_DIR, type TestRecord } from "./test-record.ts";

// Test support: results as allure-vitest and distcheck's reporter write them, for report tests.
export type Spec = {
  suite: string;
  cell: string;
  name: string;
  state: TestRecord["state"];
  error?: { name: string; message: string };
  attach?: string;
  /** The record's clause ids; by default those the title leads with, as distcheck's reporter reads them. */
  clauses?: string[];
};

/** Writes what allure-vitest and distcheck's reporter would write for these tests. */
export function writeResults(dir: string, specs: Spec[]): void {
  mkdirSync(path.join(dir, RECORDS_DIR), { recursive: true });
  specs.forEach((s, i) => {
    const [platform, base, host] = s.cell.split(".") as [string, string, string];
    const file = `suites/${s.suite}.test.ts`;
    const describe = `${s.suite} on '${s.cell}'`;
    const key = `${file}#${describe} ${s.name}`;
    const uuid = `00000000-0000-0000-0000-${String(i).padStart(12, "0")}${path.basename(dir).slice(-2)}`;
    writeFileSync(
      path.join(dir, `${uuid}-result.json`),
      JSON.stringify({ uuid, name: s.name, fullName: `distcheck:${key}`, historyId: `h${i}${s.cell}`, status: s.state === "failed" ? "failed" : s.state, stage: "finished", labels: [{ name: "parentSuite", value: describe }], parameters: [], attachments: [], steps: [], start: 1, stop: 2 }),
    );
    const record: TestRecord = {
      key,
      file,
      suite: s.suite,
      suitePath: [describe],
      name: s.name,
      clauses: s.clauses ?? clauseIdsOf(s.name),
      cell: { id: s.cell, platform: platform as "linux-x86_64", base, host },
      state: s.state,
      durationMs: 5,
      errors: s.error ? [s.error] : [],
      attachments: s.attach ? [{ name: "host log", contentType: "text/plain", body: s.attach }] : [],
    };
    writeFileSync(path.join(dir, RECORDS_DIR, `${i}.json`), JSON.stringify(record));
  });
}


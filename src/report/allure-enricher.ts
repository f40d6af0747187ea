import { copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { citation } from "../contract/contract.ts";
import { DistcheckError } from "../errors/distcheck-error.ts";
import { categorise } from "./failure-category.ts";
import { isWaivedFailure, profilesOf, waiverText, type HostProfile } from "./host-verdicts.ts";
import { readRecords } from "./records-reader.ts";
import type { RunEnvironment } from "./run-environment.ts";
import { familyOf } from "./test-identity.ts";
import type { TestRecord } from "./test-record.ts";

interface AllureResult {
  uuid: string;
  name: string;
  fullName?: string;
  status?: string;
  statusDetails?: { message?: string; trace?: string };
  /** Markdown; Allure renders it (raw HTML escaped) as the test's description. */
  description?: string;
  labels: Array<{ name: string; value: string }>;
  parameters: Array<{ name: string; value: string }>;
  attachments: Array<{ name: string; source: string; type: string }>;
}

/**
 * Joins Allure results (one dir or several shards) with distcheck's per-test records into one
 * enriched results dir: labels epic = clause family, feature = suite, story = clause id;
 * parameters platform / Debian suite / Python / host / host version; a failure category; and the
 * attachments the test's annotations carried.
 */
export function enrichResults(resultsDirs: string[], out: string, environment: RunEnvironment | undefined, pythonOf: (base: string) => string | undefined, hosts: readonly HostProfile[] = []): Map<string, TestRecord> {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const records = readRecords(resultsDirs);
  const byKey = [...records.values()];
  const profiles = profilesOf(hosts, byKey);
  for (const dir of resultsDirs) {
    if (!existsSync(dir)) throw new DistcheckError("results_missing", `No results directory at ${dir}. Run the suites with DISTCHECK_RESULTS_DIR set (distcheck run does), or pass the shard folders to --merge.`);
    for (const f of readdirSync(dir)) {
      const src = path.join(dir, f);
      if (f.endsWith("-result.json")) {
        const result = JSON.parse(readFileSync(src, "utf8")) as AllureResult;
        const record = byKey.find((r) => result.fullName?.endsWith(r.key));
        if (record) decorate(result, record, environment, pythonOf, out, profiles);
        writeFileSync(path.join(out, f), JSON.stringify(result));
      } else if (!lstatSync(src).isDirectory()) {
        copyFileSync(src, path.join(out, f));
      }
    }
  }
  return records;
}

function decorate(result: AllureResult, record: TestRecord, environment: RunEnvironment | undefined, pythonOf: (base: string) => string | undefined, out: string, profiles: ReadonlyMap<string, HostProfile>): void {
  const labels = result.labels.filter((l) => !["epic", "feature", "story"].includes(l.name));
  for (const family of new Set(record.clauses.map(familyOf))) labels.push({ name: "epic", value: family });
  labels.push({ name: "feature", value: record.suite });
  for (const clause of record.clauses) labels.push({ name: "story", value: clause });
  const category = categorise(record);
  if (category) labels.push({ name: "distcheck.category", value: category });
  if (record.cell) labels.push({ name: "tag", value: record.cell.platform });
  result.labels = labels;
  // A reader of a result sees what was promised, in the words of the contract version it was judged against.
  if (record.clauses.length > 0) result.description = [...record.clauses.map((c) => citation(c)), result.description].filter(Boolean).join("\n\n");
  if (record.state === "failed" && result.status !== "failed" && result.status !== "broken") {
    // Skipped by vitest because its suite's setup failed; the record carries the setup's error.
    result.status = "failed";
    result.statusDetails = { message: record.errors[0]?.message, trace: record.errors[0]?.stack };
  }
  if (record.state === "skipped" && record.skipReason) {
    // Not run because its cell's host never became ready: whatever vitest made of the stopped boot.
    result.status = "skipped";
    result.statusDetails = { message: `not run: ${record.skipReason}` };
  }
  const waived = isWaivedFailure(record, profiles);
  if (waived) {
    // Shown as waived, with the host's own line that causes it; the failure itself stays readable.
    result.status = "skipped";
    result.statusDetails = { message: `waived: ${waived.map(waiverText).join("; ")}\n\n${result.statusDetails?.message ?? ""}`, trace: result.statusDetails?.trace };
    labels.push({ name: "tag", value: "waived" });
  }
  if (record.cell) {
    const params: Array<[string, string | undefined]> = [
      ["platform", record.cell.platform],
      ["Debian suite", record.cell.base],
      ["Python", pythonOf(record.cell.base)],
      ["host", record.cell.host],
      ["host version", environment?.hostVersions?.[record.cell.host] ?? environment?.hostVersion],
    ];
    result.parameters = [...result.parameters.filter((p) => !params.some(([n]) => n === p.name)), ...params.filter((p): p is [string, string] => p[1] !== undefined).map(([name, value]) => ({ name, value }))];
  }
  record.attachments.forEach((a, i) => {
    const ext = a.contentType === "application/json" ? "json" : "txt";
    const source = `${result.uuid}-distcheck-${i}-attachment.${ext}`;
    // A reporter or suite may hand over an attachment without a body: never let it sink the report.
    writeFileSync(path.join(out, source), a.body ?? "");
    result.attachments.push({ name: a.name, source, type: a.contentType });
  });
}

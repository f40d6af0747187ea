import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { enrichResults } from "./allure-enricher.ts";
import { environmentVariables, generateAllureReport } from "./allure-generator.ts";
import { profilesOf } from "./host-verdicts.ts";
import { junitXml } from "./junit-writer.ts";
import { mutationScore } from "./mutation-score.ts";
import { notApplicableResults } from "./not-applicable-results.ts";
import { readRunErrors } from "./records-reader.ts";
import { readEngineOutages } from "./engine-outages.ts";
import { summarise, type ReportSummary, type SummaryOptions } from "./report-summary.ts";
import { readRunEnvironment } from "./run-environment.ts";

export type { ReportSummary } from "./report-summary.ts";

export interface BuildReportOptions extends SummaryOptions {
  /** Results directories: one per run, or one per shard to merge. */
  resultsDirs: string[];
  /** reports/ */
  reportsRoot: string;
  /** Extra environment rows (e.g. a mutation score). */
  extraVariables?: Record<string, string>;
  progress?: (line: string) => void;
}

/**
 * Builds reports/<run-id>/: the Allure HTML report (single file, with history across runs and
 * categories), summary.json with clause x cell verdicts and the gate, junit.xml; then points
 * reports/latest at it.
 */
export async function buildReport(options: BuildReportOptions & { pythonOf: (base: string) => string | undefined }): Promise<{ dir: string; summary: ReportSummary }> {
  const dir = path.join(options.reportsRoot, options.runId);
  mkdirSync(dir, { recursive: true });
  const environment = readRunEnvironment(options.resultsDirs);
  const enriched = path.join(dir, "allure-results");
  const records = enrichResults(options.resultsDirs, enriched, environment, options.pythonOf, options.hosts);
  // The platforms the run itself recorded win over the caller's guess (a report of a filtered run).
  const platforms = environment?.platforms?.length ? environment.platforms : options.platforms;
  const outages = options.resultsDirs.flatMap(readEngineOutages);
  const summary = summarise(records.values(), { ...options, platforms, outages }, environment, readRunErrors(options.resultsDirs));
  notApplicableResults(summary.notApplicable, enriched);

  const variables: Record<string, string> = {
    ...environmentVariables(options.runId, environment, summary.contract),
    ...mutationScore(options.reportsRoot),
    ...options.extraVariables,
  };
  await generateAllureReport({ dir, results: enriched, runId: options.runId, reportsRoot: options.reportsRoot, variables, progress: options.progress });
  // Allure's own summary.json is replaced by distcheck's (clause x cell verdicts and the gate).
  writeFileSync(path.join(dir, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
  writeFileSync(path.join(dir, "junit.xml"), junitXml(records.values(), summary.contract, { profiles: profilesOf(options.hosts ?? [], [...records.values()]), notApplicable: summary.notApplicable }));
  const latest = path.join(options.reportsRoot, "latest");
  rmSync(latest, { recursive: true, force: true });
  symlinkSync(options.runId, latest);
  return { dir, summary };
}

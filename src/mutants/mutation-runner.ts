import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { categorise } from "../report/failure-category.ts";
import { RECORDS_DIR, type TestRecord } from "../report/test-record.ts";
import type { Mutant } from "./mutant-catalog.ts";

/** What one suite run against one build (a mutant, or none for the baseline) showed. */
export interface MutantVerdict {
  mutant: string | null;
  clause: string;
  platform: string;
  /** killed: a test of the clause failed because of the host; survived: all passed; error: the run broke otherwise. */
  status: "killed" | "survived" | "error";
  failed: string[];
  tests: number;
  durationMs: number;
  detail?: string;
}

export interface MutationRun {
  runId: string;
  generatedAt: string;
  python: string;
  baseline: MutantVerdict[];
  verdicts: MutantVerdict[];
  score: { killed: number; total: number };
  byClause: Record<string, { killed: number; survived: number; error: number }>;
}

export interface MutationJob {
  mutant: Mutant | null;
  platform: string;
  suites: string[];
  /** The clause whose tests run (a vitest name pattern); a baseline may join several with "|". */
  clause: string;
}

/** Judges one job from the records its run wrote. */
export function judge(job: MutationJob, records: TestRecord[], exitCode: number, durationMs: number): MutantVerdict {
  const relevant = records.filter((r) => r.state !== "skipped" && r.state !== "pending");
  const failed = relevant.filter((r) => r.state === "failed");
  const product = failed.filter((r) => categorise(r) === "product");
  const base = { mutant: job.mutant?.name ?? null, clause: job.clause, platform: job.platform, tests: relevant.length, durationMs, failed: failed.map((r) => `${r.cell?.id ?? "?"}: ${r.name}`) };
  if (relevant.length === 0) return { ...base, status: "error", detail: `no test of ${job.clause} ran (exit ${exitCode})` };
  if (product.length > 0) return { ...base, status: "killed" };
  if (failed.length > 0 || exitCode !== 0) return { ...base, status: "error", detail: failed.length > 0 ? "only harness or infrastructure failures" : `vitest exited ${exitCode} with no failed test` };
  return { ...base, status: "survived" };
}

function readRecords(dir: string): TestRecord[] {
  const recDir = path.join(dir, RECORDS_DIR);
  if (!existsSync(recDir)) return [];
  return readdirSync(recDir)
    .filter((f) => f.endsWith(".json") && f !== "environment.json")
    .map((f) => JSON.parse(readFileSync(path.join(recDir, f), "utf8")) as TestRecord);
}

/**
 * Runs each job's suites, filtered to its clause, against a host built with the job's mutant
 * (DISTCHECK_MUTANT), one job at a time so timing mutants are judged on a quiet machine.
 */
export async function runJobs(jobs: MutationJob[], options: { root: string; outDir: string; python: string; progress: (line: string) => void; env?: Record<string, string> }): Promise<MutantVerdict[]> {
  const verdicts: MutantVerdict[] = [];
  for (const [i, job] of jobs.entries()) {
    const label = `${job.mutant?.name ?? "baseline"} on ${job.platform} (${job.clause}: ${job.suites.join(", ")})`;
    options.progress(`[${i + 1}/${jobs.length}] ${label}`);
    const resultsDir = path.join(options.outDir, `${job.mutant?.name ?? "baseline"}-${job.mutant ? job.clause : job.suites.join("+")}-${job.platform}`);
    rmSync(resultsDir, { recursive: true, force: true });
    const started = performance.now();
    const run = await execa("npx", ["vitest", "run", "--project", "conformance", ...job.suites.map((s) => `suites/${s}.test.ts`), "--testNamePattern", job.clause], {
      cwd: options.root,
      reject: false,
      all: true,
      env: { ...options.env, DISTCHECK_MUTANT: job.mutant?.name ?? "", DISTCHECK_PLATFORM: job.platform, DISTCHECK_PYTHON: options.python, DISTCHECK_RESULTS_DIR: resultsDir, TESTCONTAINERS_RYUK_DISABLED: "true" },
    });
    const verdict = judge(job, readRecords(resultsDir), run.exitCode ?? 1, performance.now() - started);
    if (verdict.status === "error") verdict.detail = `${verdict.detail}\n${String(run.all).slice(-2000)}`;
    const shown = job.mutant === null ? (verdict.status === "survived" ? "passed" : verdict.status) : verdict.status;
    options.progress(`      ${shown}${verdict.failed.length ? ` (${verdict.failed.length} failed: ${verdict.failed[0]}${verdict.failed.length > 1 ? ", ..." : ""})` : ""} in ${(verdict.durationMs / 1000).toFixed(0)} s`);
    verdicts.push(verdict);
  }
  return verdicts;
}

/** Writes reports/mutants/<run>.json and latest.json. */
export function writeMutationRun(reportsRoot: string, run: MutationRun): string {
  const dir = path.join(reportsRoot, "mutants");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${run.runId}.json`);
  writeFileSync(file, `${JSON.stringify(run, null, 2)}\n`);
  const latest = path.join(dir, "latest.json");
  rmSync(latest, { force: true });
  symlinkSync(`${run.runId}.json`, latest);
  return file;
}

export function summariseMutation(runId: string, python: string, baseline: MutantVerdict[], verdicts: MutantVerdict[]): MutationRun {
  const byClause: MutationRun["byClause"] = {};
  for (const v of verdicts) {
    const row = (byClause[v.clause] ??= { killed: 0, survived: 0, error: 0 });
    row[v.status] += 1;
  }
  return {
    runId,
    generatedAt: new Date().toISOString(),
    python,
    baseline,
    verdicts,
    score: { killed: verdicts.filter((v) => v.status === "killed").length, total: verdicts.length },
    byClause: Object.fromEntries(Object.entries(byClause).sort(([a], [b]) => a.localeCompare(b))),
  };
}

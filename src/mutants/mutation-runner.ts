import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { categorise } from "../report/failure-category.ts";
import { RECORDS_DIR, type TestRecord } from "../report/test-record.ts";
import { toEnv } from "../run/run-protocol.ts";
import { referenceHost, select } from "../matrix/selection.ts";
import { findMutant, loadMutants, type Mutant } from "./mutant-catalog.ts";

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

/** What every job of a mutation run shares. */
export interface JobOptions {
  /** The project root, where vitest runs. */
  root: string;
  /** Each job's results go to a folder of its own under this one. */
  outDir: string;
  /** The base, by Python version or base id. */
  python: string;
  /** The matrix file the jobs' cells come from. @default the project's matrix.json */
  matrixFile?: string;
  /** The process whose death makes a job's vitest remove its containers and exit. @default process.pid */
  parentPid?: number;
  /** Further variables for the vitest child; the run protocol's own win. */
  env?: Record<string, string>;
}

/** Where one job's results go. */
export function jobResultsDir(job: MutationJob, outDir: string): string {
  return path.join(outDir, `${job.mutant?.name ?? "baseline"}-${job.mutant ? job.clause : job.suites.join("+")}-${job.platform}`);
}

/**
 * The environment of a job's vitest child: its mutant, platform and base through the run protocol,
 * and the pid of this process, so a killed mutation run leaves no container behind (global setup
 * watches it). Each job's vitest starts a run of its own.
 */
export function jobEnv(job: MutationJob, options: Omit<JobOptions, "root">): Record<string, string> {
  return {
    ...options.env,
    ...toEnv({
      parentPid: options.parentPid ?? process.pid,
      matrixFile: options.matrixFile,
      platforms: [job.platform],
      pythons: [options.python],
      resultsDir: jobResultsDir(job, options.outDir),
      mutant: job.mutant?.name,
    }),
  };
}

/**
 * Runs each job's suites, filtered to its clause, against a host built with the job's mutant
 * (DISTCHECK_MUTANT), one job at a time so timing mutants are judged on a quiet machine.
 */
export async function runJobs(jobs: MutationJob[], options: JobOptions & { progress: (line: string) => void }): Promise<MutantVerdict[]> {
  const verdicts: MutantVerdict[] = [];
  for (const [i, job] of jobs.entries()) {
    const label = `${job.mutant?.name ?? "baseline"} on ${job.platform} (${job.clause}: ${job.suites.join(", ")})`;
    options.progress(`[${i + 1}/${jobs.length}] ${label}`);
    const resultsDir = jobResultsDir(job, options.outDir);
    rmSync(resultsDir, { recursive: true, force: true });
    const started = performance.now();
    // vitest itself, as startSuites starts it: npx's npm and shell layers cost a second per job and
    // do not pass a SIGTERM on to vitest.
    const run = await execa("vitest", ["run", "--project", "conformance", ...job.suites.map((s) => `suites/${s}.test.ts`), "--testNamePattern", job.clause], {
      cwd: options.root,
      preferLocal: true,
      localDir: options.root,
      reject: false,
      all: true,
      env: jobEnv(job, options),
    });
    const verdict = judge(job, readRecords(resultsDir), run.exitCode ?? 1, performance.now() - started);
    if (verdict.status === "error") verdict.detail = `${verdict.detail}\n${String(run.all).slice(-2000)}`;
    const shown = job.mutant === null ? (verdict.status === "survived" ? "passed" : verdict.status) : verdict.status;
    options.progress(`      ${shown}${verdict.failed.length ? ` (${verdict.failed.length} failed: ${verdict.failed[0]}${verdict.failed.length > 1 ? ", ..." : ""})` : ""} in ${(verdict.durationMs / 1000).toFixed(0)} s`);
    verdicts.push(verdict);
  }
  return verdicts;
}

/** The jobs of a mutation run and their baselines. */
export interface MutationPlan {
  mutants: Mutant[];
  jobs: MutationJob[];
  /** The normal host on the same suites, per platform, with every clause the jobs there select. */
  baselineJobs: MutationJob[];
}

/** Every mutant on `platforms`, or on linux-x86_64 and (timing mutants) also linux-aarch64; one baseline per platform and suite set. */
export function planMutation(mutants: Mutant[], platforms?: string[]): MutationPlan {
  const platformsOf = (m: Mutant): string[] => platforms ?? (m.timing ? ["linux-x86_64", "linux-aarch64"] : ["linux-x86_64"]);
  const jobs: MutationJob[] = mutants.flatMap((m) => platformsOf(m).map((platform) => ({ mutant: m, platform, suites: m.suites, clause: m.clause })));
  // One vitest run per suite set instead of one per clause.
  const groups = new Map<string, MutationJob>();
  for (const j of jobs) {
    const key = `${j.platform}|${j.suites.join(",")}`;
    const g = groups.get(key);
    if (!g) groups.set(key, { ...j, mutant: null });
    else if (!g.clause.split("|").includes(j.clause)) g.clause = [...g.clause.split("|"), j.clause].sort().join("|");
  }
  return { mutants, jobs, baselineJobs: [...groups.values()] };
}

export interface MutationRunOptions {
  /** @default the project's matrix.json */
  matrix?: string;
  /** Only these mutants, by name. @default the whole catalog */
  only?: string[];
  /** Every mutant on these platforms. @default linux-x86_64, plus linux-aarch64 for timing mutants */
  platform?: string[];
  /** The base, by Python version or base id. @default the matrix's first */
  python?: string;
  /** The reports folder, relative to the project root; the run writes `<reports>/mutants/`. */
  reports: string;
  progress: (line: string) => void;
}

/** A mutation run's end: the baseline did not pass (no verdict means anything), or the mutants' verdicts and the file that holds them. */
export type MutationOutcome = { status: "baseline_failed"; baseline: MutantVerdict[] } | { status: "judged"; run: MutationRun; file: string };

/**
 * The mutation run (`distcheck mutants`): a baseline of the normal reference host, which must pass,
 * then every selected mutant against its clause's tests, one job at a time; writes
 * `<reports>/mutants/<run>.json` and latest.json.
 */
export async function runMutation(options: MutationRunOptions): Promise<MutationOutcome> {
  const { progress } = options;
  const selection = select({ matrix: options.matrix });
  const host = referenceHost(selection);
  const catalog = loadMutants(host.source);
  const { mutants, jobs, baselineJobs } = planMutation(options.only?.length ? options.only.map((n) => findMutant(catalog, n)) : catalog, options.platform);
  const python = options.python ?? selection.matrix.bases[0]!.id;
  const runId = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  const reportsRoot = path.resolve(selection.root, options.reports);
  const jobOptions = { root: selection.root, outDir: path.join(reportsRoot, "mutants", runId), python, matrixFile: selection.matrixFile, parentPid: process.pid, progress };
  progress(`mutation run ${runId}: ${mutants.length} mutant(s), ${jobs.length} job(s), ${baselineJobs.length} baseline job(s), base ${python}`);
  const baseline = await runJobs(baselineJobs, jobOptions);
  const broken = baseline.filter((b) => b.status !== "survived");
  if (broken.length > 0) {
    for (const b of broken) progress(`baseline ${b.clause} on ${b.platform}: ${b.status} ${b.failed.join("; ")} ${b.detail ?? ""}`);
    progress("the normal host does not pass these selections: fix the suites or the host before judging mutants");
    return { status: "baseline_failed", baseline };
  }
  const verdicts = await runJobs(jobs, jobOptions);
  const run = summariseMutation(runId, python, baseline, verdicts);
  return { status: "judged", run, file: writeMutationRun(reportsRoot, run) };
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

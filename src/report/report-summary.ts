import { contractStamp, type ContractStamp } from "../contract/contract.ts";
import { categorise, type FailureCategory } from "./failure-category.ts";
import { hostGateReasons, hostVerdicts, isWaivedFailure, profilesOf, sortKeys, type HostProfile, type HostVerdicts, type NotApplicable, type Verdict } from "./host-verdicts.ts";
import type { RunEnvironment } from "./run-environment.ts";
import type { RunErrors, TestRecord } from "./test-record.ts";

export interface ReportSummary {
  runId: string;
  generatedAt: string;
  /** `failed` counts failures no waiver covers; `waived` the failures waivers cover. */
  totals: { tests: number; passed: number; failed: number; skipped: number; waived: number };
  /** Tests that were meant to run but did not, and why (their cell's host never became ready). */
  notRun: Array<{ cell?: string; test: string; reason: string }>;
  /** Failures by who is at fault. */
  categories: Record<FailureCategory, number>;
  cells: string[];
  platforms: string[];
  /** clause id → cell id → verdict (failed if any test of the clause failed there), every host's cells. */
  clauses: Record<string, Record<string, Verdict>>;
  /** Per host: its adapter, families, clause x cell verdicts, what is not applicable and why, the waivers applied. */
  hosts: Record<string, HostVerdicts>;
  /** Every not-applicable verdict's reason, all hosts. */
  notApplicable: NotApplicable[];
  gate: { passed: boolean; reasons: string[] };
  /** The contract the verdicts are against: version, SHA-256 of CONTRACT.md, clauses no suite covers yet. */
  contract: ContractStamp;
  environment?: RunEnvironment;
}

/** What a run is judged against: the clauses the gate requires, the platforms and the hosts. */
export interface SummaryOptions {
  runId: string;
  /** Clauses that must have run, and passed, on every platform for the gate. */
  requiredClauses: readonly string[];
  /** Platforms the run was meant to cover (from the matrix and filters). */
  platforms: readonly string[];
  /** The run's hosts: families, cells, cells that cannot run, waivers. Without them every clause counts for every cell. */
  hosts?: HostProfile[];
}

/** Clause x cell verdicts, totals and the quality gate. */
export function summarise(records: Iterable<TestRecord>, options: SummaryOptions, environment?: RunEnvironment, runErrors: RunErrors = { modules: [], unhandled: [] }): ReportSummary {
  const all = [...records];
  const raw: Record<string, Record<string, "passed" | "failed" | "skipped">> = {};
  const categories: Record<FailureCategory, number> = { product: 0, harness: 0, infrastructure: 0 };
  const totals = { tests: all.length, passed: 0, failed: 0, skipped: 0, waived: 0 };
  const cells = new Set<string>();
  const profiles = profilesOf(options.hosts ?? [], all);
  for (const r of all) {
    const verdict = r.state === "passed" ? "passed" : r.state === "failed" ? "failed" : "skipped";
    if (isWaivedFailure(r, profiles)) totals.waived += 1;
    else {
      totals[verdict] += 1;
      const c = categorise(r);
      if (c) categories[c] += 1;
    }
    if (!r.cell) continue;
    cells.add(r.cell.id);
    for (const clause of r.clauses) {
      const row = (raw[clause] ??= {});
      const prev = row[r.cell.id];
      row[r.cell.id] = prev === "failed" || verdict === "failed" ? "failed" : prev === "passed" || verdict === "passed" ? "passed" : "skipped";
    }
  }
  const reasons: string[] = [];
  if (totals.failed > 0) reasons.push(`${totals.failed} test(s) failed (${categories.product} product, ${categories.harness} harness, ${categories.infrastructure} infrastructure)`);
  const hosts: ReportSummary["hosts"] = {};
  let clauses: ReportSummary["clauses"] = {};
  if (profiles.size > 0) {
    // Each host is judged on the clauses of the families it implements, on the platforms it has cells on.
    for (const profile of profiles.values()) {
      const v = hostVerdicts(profile, raw);
      hosts[profile.id] = v;
      for (const [clause, row] of Object.entries(v.clauses)) Object.assign((clauses[clause] ??= {}), row);
      reasons.push(...hostGateReasons(profile, v, options.requiredClauses));
    }
    clauses = sortKeys(clauses);
  } else {
    clauses = sortKeys(raw);
    // Every required clause, and every clause any test claimed, must have passed on every platform.
    for (const clause of new Set([...options.requiredClauses, ...Object.keys(clauses)])) {
      for (const platform of options.platforms) {
        const verdicts = Object.entries(clauses[clause] ?? {}).filter(([cell]) => cell.startsWith(`${platform}.`));
        if (!verdicts.some(([, v]) => v === "passed")) reasons.push(`${clause} did not run (and pass) on ${platform}`);
      }
    }
  }
  if (totals.tests === 0) reasons.push("no test ran");
  for (const m of runErrors.modules) reasons.push(`${m.file} did not run: ${m.messages.join("; ").slice(0, 300)}`);
  if (runErrors.unhandled.length > 0) reasons.push(`${runErrors.unhandled.length} error(s) outside any test: ${runErrors.unhandled.join("; ").slice(0, 300)}`);
  return {
    runId: options.runId,
    generatedAt: new Date().toISOString(),
    totals,
    notRun: all.filter((r) => r.state === "skipped" && r.skipReason).map((r) => ({ cell: r.cell?.id, test: `${r.file} > ${[...r.suitePath, r.name].join(" > ")}`, reason: r.skipReason! })).sort((a, b) => a.test.localeCompare(b.test)),
    categories,
    cells: [...cells].sort(),
    platforms: [...options.platforms],
    clauses,
    hosts,
    notApplicable: Object.values(hosts).flatMap((h) => h.notApplicable),
    gate: { passed: reasons.length === 0, reasons },
    contract: contractStamp(),
    environment,
  };
}

import { contractStamp, type ContractStamp } from "../contract/contract.ts";
import { categorise, type FailureCategory } from "./failure-category.ts";
import { hostGateReasons, hostVerdicts, isWaivedFailure, profilesOf, sortKeys, type HostProfile, type HostVerdicts, type NotApplicable, type Verdict } from "./host-verdicts.ts";
import type { RunEnvironment } from "./run-environment.ts";
import type { RunErrors, TestRecord } from "./test-record.ts";
import type { EngineOutage } from "../engine/engine-watch.ts";
import { ENGINE_RESTARTED, outageMessage } from "./engine-outages.ts";

export interface ReportSummary {
  runId: string;
  generatedAt: string;
  /** `failed` counts failures no waiver covers; `waived` the failures waivers cover. */
  totals: { tests: number; passed: number; failed: number; skipped: number; waived: number };
  /** Tests that were meant to run but did not, and why (their cell's host never became ready). */
  notRun: Array<{ cell?: string; test: string; reason: string }>;
  /** Failures by who is at fault. */
  categories: Record<FailureCategory, number>;
  /**
   * The distinct machine problems behind the infrastructure failures (by error code): what happened
   * and the fix, as the code that met it said, with the cells and how many tests it cost. Not the
   * host's fault: a run with any of them exits 3.
   */
  infrastructure: InfrastructureProblem[];
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

/** One machine problem of a run (an engine, qemu, disk or image failure), by its error code. */
export interface InfrastructureProblem {
  code: string;
  /** The first failed test's message: what happened and what to do. */
  message: string;
  tests: number;
  cells: string[];
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
  /** Times an engine went away during the run (its results directory's engine-outages.json). */
  outages?: EngineOutage[];
}

/** Clause x cell verdicts, totals and the quality gate. */
export function summarise(records: Iterable<TestRecord>, options: SummaryOptions, environment?: RunEnvironment, runErrors: RunErrors = { modules: [], unhandled: [] }): ReportSummary {
  const all = [...records];
  const raw: Record<string, Record<string, "passed" | "failed" | "skipped">> = {};
  const categories: Record<FailureCategory, number> = { product: 0, harness: 0, infrastructure: 0 };
  const totals = { tests: all.length, passed: 0, failed: 0, skipped: 0, waived: 0 };
  const cells = new Set<string>();
  const profiles = profilesOf(options.hosts ?? [], all);
  const infrastructure = new Map<string, InfrastructureProblem>();
  for (const r of all) {
    const verdict = r.state === "passed" ? "passed" : r.state === "failed" ? "failed" : "skipped";
    if (isWaivedFailure(r, profiles)) totals.waived += 1;
    else {
      totals[verdict] += 1;
      const c = categorise(r);
      if (c) categories[c] += 1;
      if (c === "infrastructure") {
        const first = r.errors[0];
        const code = first?.code ?? "infrastructure";
        const problem = infrastructure.get(code) ?? { code, message: first?.message ?? "", tests: 0, cells: [] };
        problem.tests += 1;
        if (r.cell && !problem.cells.includes(r.cell.id)) problem.cells.push(r.cell.id);
        infrastructure.set(code, problem);
      }
    }
    if (!r.cell) continue;
    cells.add(r.cell.id);
    for (const clause of r.clauses) {
      const row = (raw[clause] ??= {});
      const prev = row[r.cell.id];
      row[r.cell.id] = prev === "failed" || verdict === "failed" ? "failed" : prev === "passed" || verdict === "passed" ? "passed" : "skipped";
    }
  }
  for (const outage of options.outages ?? []) {
    // The suites on that engine were stopped: a machine problem even when no test failed of it.
    if (!infrastructure.has(ENGINE_RESTARTED)) infrastructure.set(ENGINE_RESTARTED, { code: ENGINE_RESTARTED, message: outageMessage(outage), tests: 0, cells: [] });
  }
  const reasons: string[] = [];
  for (const outage of options.outages ?? []) reasons.push(`the Docker engine at ${outage.endpoint} went away during the run (${outage.platforms.join(", ")}): its suites were stopped`);
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
    infrastructure: [...infrastructure.values()].map((p) => ({ ...p, cells: p.cells.sort() })),
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

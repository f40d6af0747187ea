import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Finding } from "../../src/certify/certification-document.ts";
import type { CellResultsOfJob, CertifyJob } from "../../src/certify/dynamic-plan.ts";
import type { CheckSpec } from "../../src/certify/finding-builder.ts";
import type { Cell } from "../../src/matrix/matrix.ts";

/** What one check saw: its status, a sentence saying why, and the measurements behind it. */
export interface CheckOutcome {
  status: "pass" | "fail" | "not-applicable";
  detail: string;
  evidence?: Record<string, unknown>;
}

export const pass = (detail: string, evidence: Record<string, unknown> = {}): CheckOutcome => ({ status: "pass", detail, evidence });
export const fail = (detail: string, evidence: Record<string, unknown> = {}): CheckOutcome => ({ status: "fail", detail, evidence });
export const notApplicable = (detail: string, evidence: Record<string, unknown> = {}): CheckOutcome => ({ status: "not-applicable", detail, evidence });
/** `pass` when `problems` is empty, else `fail` listing them. */
export const outcome = (problems: string[], passDetail: string, evidence: Record<string, unknown> = {}): CheckOutcome =>
  problems.length === 0 ? pass(passDetail, evidence) : fail(problems.join("; "), { ...evidence, problems });

/**
 * The findings of one job in one cell, written to `<resultsDir>/<job>/<cell>.json` when the cell
 * ends. A check that throws is a harness error (it says nothing about the artifact); a check that
 * cannot run because an earlier one failed is not applicable, with that reason.
 */
export class CellRecorder {
  readonly findings: Finding[] = [];
  readonly logs: Record<string, string> = {};
  image?: string;

  constructor(
    private readonly job: CertifyJob,
    readonly cell: Cell,
    private readonly resultsDir: string,
  ) {}

  record(spec: CheckSpec, subject: string, seen: CheckOutcome): CheckOutcome {
    this.findings.push({
      checkId: spec.checkId,
      clause: (seen.evidence?.clause as string | undefined) ?? spec.clause,
      cell: this.cell.id,
      subject,
      severity: spec.severity,
      status: seen.status,
      title: spec.title,
      detail: seen.detail,
      evidence: seen.evidence ?? {},
      reproduce: this.job.reproduce,
    });
    return seen;
  }

  /** Runs a check; its exception becomes a harness-error finding and is rethrown when `fatal`. */
  async check(spec: CheckSpec, subject: string, run: () => Promise<CheckOutcome>): Promise<CheckOutcome | undefined> {
    try {
      return this.record(spec, subject, await run());
    } catch (error) {
      this.harnessError(spec, subject, error);
      return undefined;
    }
  }

  harnessError(spec: CheckSpec, subject: string, error: unknown): void {
    this.findings.push({
      checkId: spec.checkId,
      clause: spec.clause,
      cell: this.cell.id,
      subject,
      severity: spec.severity,
      status: "harness-error",
      title: spec.title,
      detail: `the check could not be carried out: ${(error as Error).message ?? String(error)}`,
      evidence: { error: (error as Error).stack ?? String(error) },
      reproduce: this.job.reproduce,
    });
  }

  /** Marks checks that cannot run, with the reason. */
  blocked(specs: CheckSpec[], subject: string, reason: string): void {
    for (const spec of specs) this.record(spec, subject, notApplicable(`not checked: ${reason}`));
  }

  write(completed: boolean): CellResultsOfJob {
    const file = path.join(this.resultsDir, this.job.id, `${this.cell.id}.json`);
    mkdirSync(path.dirname(file), { recursive: true });
    const results: CellResultsOfJob = { job: this.job.id, cell: this.cell.id, completed, findings: this.findings, logs: this.logs, ...(this.image ? { image: this.image } : {}) };
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    return results;
  }
}

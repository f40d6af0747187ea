import { STATIC_CELL, type Finding, type Severity } from "./certification-document.ts";

/** The fixed part of a check: its id, clause, weight and what it looks for. */
export interface CheckSpec {
  checkId: string;
  clause: string;
  severity: Severity;
  /** What the check asserts, e.g. "RECORD lists every file with its sha256 and size". */
  title: string;
  invalidatesArtifact?: true;
}

/**
 * Builds the static findings of one artifact, so every check states its outcome the same way and
 * carries the command that reproduces it.
 */
export class StaticFindings {
  readonly findings: Finding[] = [];

  constructor(
    private readonly subject: string,
    private readonly reproduce: string,
  ) {}

  pass(spec: CheckSpec, detail: string, evidence: Record<string, unknown> = {}): void {
    this.add(spec, "pass", detail, evidence);
  }

  fail(spec: CheckSpec, detail: string, evidence: Record<string, unknown> = {}): void {
    this.add(spec, "fail", detail, evidence);
  }

  notApplicable(spec: CheckSpec, detail: string, evidence: Record<string, unknown> = {}): void {
    this.add(spec, "not-applicable", detail, evidence);
  }

  /** `pass` when `problems` is empty, else `fail` listing them. */
  outcome(spec: CheckSpec, problems: readonly string[], passDetail: string, evidence: Record<string, unknown> = {}): void {
    if (problems.length === 0) this.pass(spec, passDetail, evidence);
    else this.fail(spec, problems.join("; "), { ...evidence, problems: [...problems] });
  }

  private add(spec: CheckSpec, status: Finding["status"], detail: string, evidence: Record<string, unknown>): void {
    const finding: Finding = {
      checkId: spec.checkId,
      clause: spec.clause,
      cell: STATIC_CELL,
      subject: this.subject,
      severity: spec.severity,
      status,
      title: spec.title,
      detail,
      evidence,
      reproduce: this.reproduce,
    };
    if (spec.invalidatesArtifact) finding.invalidatesArtifact = true;
    this.findings.push(finding);
  }
}

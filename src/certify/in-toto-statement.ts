import type { CertificationDocument, Finding, Verdict } from "./certification-document.ts";

/**
 * The in-toto Statement a bundle signs (Statement v1, test-result predicate v0.1): its subjects are
 * the certified artifacts (by sha256) and the bundle's `SHA256SUMS`, which pins every other file.
 */

export const STATEMENT_TYPE = "https://in-toto.io/Statement/v1";
export const TEST_RESULT_PREDICATE = "https://in-toto.io/attestation/test-result/v0.1";
/** The name of the statement subject that pins the bundle's files. */
export const SUMS_SUBJECT = "SHA256SUMS";

export interface ResourceDescriptor {
  name?: string;
  uri?: string;
  digest?: Record<string, string>;
  annotations?: Record<string, unknown>;
}

export interface StatementSubject {
  name: string;
  digest: { sha256: string };
}

export interface TestResultPredicate {
  result: "PASSED" | "WARNED" | "FAILED";
  configuration: ResourceDescriptor[];
  passedTests: string[];
  warnedTests: string[];
  failedTests: string[];
}

export interface InTotoStatement {
  _type: typeof STATEMENT_TYPE;
  subject: StatementSubject[];
  predicateType: typeof TEST_RESULT_PREDICATE;
  predicate: TestResultPredicate & { verdict: Verdict };
}

/** A test's name in the predicate: `<artifact>:<cell>:<checkId>`. */
export function testName(f: Finding): string {
  return `${f.subject}:${f.cell}:${f.checkId}`;
}

/** CERTIFIED passes, CERTIFIED_WITH_WARNINGS warns, every other verdict fails. */
export function testResultOf(verdict: Verdict): TestResultPredicate["result"] {
  return verdict === "CERTIFIED" ? "PASSED" : verdict === "CERTIFIED_WITH_WARNINGS" ? "WARNED" : "FAILED";
}

export function buildStatement(doc: CertificationDocument, sha256SumsDigest: string): InTotoStatement {
  const failed = doc.findings.filter((f) => f.status === "fail" || f.status === "harness-error");
  return {
    _type: STATEMENT_TYPE,
    subject: [...doc.subjects.map((s) => ({ name: s.file, digest: { sha256: s.sha256 } })), { name: SUMS_SUBJECT, digest: { sha256: sha256SumsDigest } }],
    predicateType: TEST_RESULT_PREDICATE,
    predicate: {
      result: testResultOf(doc.verdict),
      // `verdict` is an addition the predicate's parsing rules allow (consumers ignore unknown fields).
      verdict: doc.verdict,
      configuration: [
        { name: "CONTRACT.md", digest: { sha256: doc.contract.sha256 }, annotations: { version: doc.contract.version } },
        { name: doc.tool.name, annotations: { version: doc.tool.version, commit: doc.tool.commit } },
        { name: "host", annotations: { ...doc.host } },
        { name: "matrix", annotations: { declared: doc.matrix.declared, executed: doc.matrix.executed } },
      ],
      passedTests: doc.findings.filter((f) => f.status === "pass").map(testName),
      warnedTests: failed.filter((f) => f.status === "fail" && f.severity === "warning").map(testName),
      failedTests: failed.filter((f) => f.status === "harness-error" || f.severity === "error").map(testName),
    },
  };
}

/**
 * The verdict document of `distcheck certify` (`certification.json`): what was certified, against
 * which contract and host, with which tool, every finding, and the verdict derived from them.
 * Static checks produce findings of the cell `static`; the dynamic checks (the artifact installed and
 * run in the cells of a matrix) add findings of their cells through the same type.
 */

/** How much a failed finding weighs: an error refuses certification, a warning qualifies it. */
export type Severity = "error" | "warning" | "info";

/** `harness-error`: the check could not be carried out, so it says nothing about the artifact. */
export type FindingStatus = "pass" | "fail" | "not-applicable" | "harness-error";

/** The cell of findings that need no container: checks of the artifact's bytes. */
export const STATIC_CELL = "static";

/** One check of one artifact in one cell. */
export interface Finding {
  /** Stable id naming the defect it looks for, e.g. `wheel.record.hash-mismatch`; `pass` means the defect is absent. */
  checkId: string;
  /** The contract clause the check stands for, e.g. `WHL-01`. */
  clause: string;
  /** `static`, or the matrix cell (`<platform>.<base>.<host>`) a dynamic check ran in. */
  cell: string;
  /** File name of the artifact the finding is about. */
  subject: string;
  severity: Severity;
  status: FindingStatus;
  title: string;
  detail: string;
  /** What was measured (names, digests, sizes, the offending entries). */
  evidence: Record<string, unknown>;
  /** A command that reproduces the finding. */
  reproduce: string;
  /**
   * Set on static checks whose failure means the file is not a valid artifact of its kind at all
   * (an unreadable zip, no `.dist-info`, an unreadable archive): the verdict is then INVALID_ARTIFACT.
   */
  invalidatesArtifact?: true;
}

/**
 * One artifact the document certifies: an extension's wheel or archive (`distcheck certify`), or the
 * host under test (`distcheck run --bundle`): kind `host-source`, format `tree` for a source folder
 * (sha256 by `sourceTreeDigest`, see SOURCE_TREE_SKIPPED) or `whl` for a built host wheel (sha256 of its bytes).
 */
export interface Subject {
  /** File name of the artifact; for a host source tree, the folder's name. */
  file: string;
  kind: "wheel" | "archive" | "host-source";
  format: "whl" | "tar.gz" | "zip" | "tree";
  sha256: string;
  /** Bytes; for a source tree, the bytes of the files its digest covers. */
  size: number;
  /** For a source tree: how many files (and symlinks) its digest covers. */
  files?: number;
  /** Distribution name (wheel METADATA), manifest name (archive) or host id (host source); null when unreadable. */
  name: string | null;
  version: string | null;
}

/**
 * Names a host source tree's digest leaves out wherever they occur: version control, caches and
 * environments that are not the host's source and change without it. The digest is
 * sha256 over `<relative path> NUL <bytes> NUL` of every regular file (a symlink: `symlink:<target>`),
 * paths POSIX-style and sorted bytewise; REPRODUCE.md of a run bundle recomputes it without distcheck.
 */
export const SOURCE_TREE_SKIPPED: readonly string[] = [".git", "__pycache__", "node_modules", ".venv", ".tox", ".pytest_cache", ".mypy_cache", ".ruff_cache"];

/** Cells (`<platform>.<base>.<host>`) the certification was asked to cover, and those that ran. */
export interface CertificationMatrix {
  declared: string[];
  executed: string[];
}

export const VERDICTS = ["CERTIFIED", "CERTIFIED_WITH_WARNINGS", "NOT_CERTIFIED", "INVALID_ARTIFACT", "INCOMPLETE"] as const;
export type Verdict = (typeof VERDICTS)[number];

export interface ToolIdentity {
  name: string;
  version: string;
  /** Git commit of the harness, or `unknown` outside a checkout. */
  commit: string;
}

export interface CertificationDocument {
  /** Version of this document's shape. */
  schemaVersion: 1;
  tool: ToolIdentity;
  contract: { version: string; sha256: string };
  host: { id: string; entryPointGroup?: string; version?: string };
  /** ISO 8601. */
  generatedAt: string;
  subjects: Subject[];
  matrix: CertificationMatrix;
  findings: Finding[];
  verdict: Verdict;
}

/**
 * The verdict, by this precedence (the first that applies):
 *
 * 1. INVALID_ARTIFACT: a failed finding that invalidates the artifact. Nothing else about a file that
 *    is not a wheel or archive at all means anything.
 * 2. NOT_CERTIFIED: a failed error. A proven defect stands whatever did not run, so it outranks
 *    INCOMPLETE: more cells could never turn it into a certification.
 * 3. INCOMPLETE: the executed matrix differs from the declared one, or a check hit a harness error.
 *    Without a proven defect, what did not run could still hide one.
 * 4. CERTIFIED_WITH_WARNINGS: only warnings failed.
 * 5. CERTIFIED.
 *
 * Info findings and not-applicable checks never change the verdict.
 */
export function deriveVerdict(findings: readonly Finding[], declared: readonly string[], executed: readonly string[]): Verdict {
  const failed = findings.filter((f) => f.status === "fail");
  if (failed.some((f) => f.invalidatesArtifact === true)) return "INVALID_ARTIFACT";
  if (failed.some((f) => f.severity === "error")) return "NOT_CERTIFIED";
  if (!sameCells(declared, executed) || findings.some((f) => f.status === "harness-error")) return "INCOMPLETE";
  if (failed.some((f) => f.severity === "warning")) return "CERTIFIED_WITH_WARNINGS";
  return "CERTIFIED";
}

function sameCells(a: readonly string[], b: readonly string[]): boolean {
  const [x, y] = [[...new Set(a)].sort(), [...new Set(b)].sort()];
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** Exit codes of `distcheck certify`, as the issue fixes them. */
export const CERTIFY_EXIT = { certified: 0, notCertified: 1, usage: 2, invalidArtifact: 3, infrastructure: 4 } as const;

/**
 * 0 for CERTIFIED and CERTIFIED_WITH_WARNINGS (1 for the latter with `--strict`), 1 NOT_CERTIFIED,
 * 3 INVALID_ARTIFACT, 4 INCOMPLETE (what did not run is the harness's or the machine's failure).
 */
export function certifyExitCode(verdict: Verdict, options: { strict?: boolean } = {}): number {
  switch (verdict) {
    case "CERTIFIED":
      return CERTIFY_EXIT.certified;
    case "CERTIFIED_WITH_WARNINGS":
      return options.strict ? CERTIFY_EXIT.notCertified : CERTIFY_EXIT.certified;
    case "NOT_CERTIFIED":
      return CERTIFY_EXIT.notCertified;
    case "INVALID_ARTIFACT":
      return CERTIFY_EXIT.invalidArtifact;
    case "INCOMPLETE":
      return CERTIFY_EXIT.infrastructure;
  }
}

/** Findings sorted for documents and bundles: by cell, subject, then check id (stable for equal keys). */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  const key = (f: Finding): string => `${f.cell}\u0000${f.subject}\u0000${f.checkId}`;
  return [...findings].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** A finding as one comparable string: JSON with keys sorted at every level, so field order never matters. */
export function findingIdentity(f: Finding): string {
  const canonical = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(canonical)
      : value !== null && typeof value === "object"
        ? Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]))
        : value;
  return JSON.stringify(canonical(f));
}

/** True when both lists hold the same findings, in any order. */
export function sameFindings(a: readonly Finding[], b: readonly Finding[]): boolean {
  const [x, y] = [a.map(findingIdentity).sort(), b.map(findingIdentity).sort()];
  return x.length === y.length && x.every((k, i) => k === y[i]);
}

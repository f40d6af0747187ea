import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, readFile, readlink, stat } from "node:fs/promises";
import path from "node:path";
import { DistcheckError } from "../errors/distcheck-error.ts";
import { categorise } from "../report/failure-category.ts";
import { waiverText, type HostVerdicts } from "../report/host-verdicts.ts";
import type { ReportSummary } from "../report/report-summary.ts";
import type { TestRecord } from "../report/test-record.ts";
import { waiverCovers, type Waiver } from "../hosts/waivers.ts";
import type { CellResult, RunMeta } from "./bundle-writer.ts";
import { deriveVerdict, SOURCE_TREE_SKIPPED, sortFindings, type CertificationDocument, type Finding, type Subject, type ToolIdentity } from "./certification-document.ts";
import { ArtifactError, SigningKeyError } from "./certify-errors.ts";
import { loadPrivateKey } from "./dsse-signer.ts";
import { harnessIdentity } from "./harness-identity.ts";

/**
 * The release sign-off bundle of a conformance run (`distcheck run --bundle FILE --sign-key KEY.pem`):
 * the same certification document and signed bundle as `distcheck certify`, with the host under test
 * as its subject (its source tree's or wheel's digest) and one finding per test and clause in each
 * cell the run executed, so `distcheck verify` checks it, and re-derives its verdict, the same way.
 */

/** The cell of a run bundle's findings about the run as a whole: its quality gate and vitest's exit. */
export const RUN_CELL = "run";

/** The clause a finding names for a test that claims none, and for run-level checks (`*`). */
const NO_CLAUSE = "none";
const ALL_CLAUSES = "*";

/** Longest error message a finding or a cell's `failures.txt` keeps: the bundle carries verdicts, the report carries everything. */
const MAX_MESSAGE = 2_000;

/** Problems with what `distcheck run --bundle` was asked, found before anything runs. */
export class RunBundleError extends DistcheckError {
  constructor(code: "bundle_options_incomplete" | "bundle_needs_one_host" | "bundle_with_mutant" | "bundle_path_invalid", message: string, options?: { cause?: unknown }) {
    super(code, message, { ...options, category: "input" });
    this.name = "RunBundleError";
  }
}

/**
 * Refuses a bundle request that cannot give a sign-off, before the run starts: `--bundle` and
 * `--sign-key` come together (`bundle_options_incomplete`); a bundle certifies one host, so the
 * selection must run exactly one (`bundle_needs_one_host`); and a mutant is not the host's release,
 * so a mutant run is never signed off (`bundle_with_mutant`). Without `hosts` (the CLI, before the
 * matrix is read), only the pairing is checked; without `bundle`, nothing else is.
 */
export function checkRunBundleRequest(request: { bundle?: string; signKey?: string; hosts?: readonly string[]; mutant?: string }): void {
  const { bundle, signKey } = request;
  if ((bundle === undefined) !== (signKey === undefined)) {
    throw new RunBundleError("bundle_options_incomplete", bundle === undefined ? "--sign-key was given without --bundle. Give both (--bundle FILE --sign-key KEY.pem) to write a signed sign-off bundle, or neither." : "--bundle was given without --sign-key. A bundle is signed: give the ed25519 private key (PEM) with --sign-key KEY.pem (openssl genpkey -algorithm ed25519 -out key.pem).");
  }
  if (bundle === undefined || request.hosts === undefined) return;
  const hosts = [...new Set(request.hosts)];
  if (hosts.length !== 1) {
    throw new RunBundleError("bundle_needs_one_host", `A sign-off bundle certifies one host; the selection runs ${hosts.length === 0 ? "none" : `${hosts.length} (${hosts.join(", ")})`}. Pick one with --host ID.`);
  }
  if (request.mutant !== undefined) {
    throw new RunBundleError("bundle_with_mutant", `A sign-off bundle certifies the host's own source; --mutant ${request.mutant} runs a host broken on purpose. Run the mutant without --bundle.`);
  }
}

/**
 * Reads and checks the signing key of a bundle (an ed25519 private key in PEM) and returns its bytes,
 * so a bad key fails before the run (`key_unreadable`, `key_not_ed25519`, exit 2) rather than after it.
 */
export async function readSigningKey(file: string): Promise<Buffer> {
  let pem: Buffer;
  try {
    pem = await readFile(file);
  } catch (error) {
    throw new SigningKeyError("key_unreadable", `cannot read the signing key ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}). Give an ed25519 private key in PEM (openssl genpkey -algorithm ed25519 -out key.pem).`, { cause: error });
  }
  loadPrivateKey(pem, `the signing key ${file}`);
  return pem;
}

/** Refuses a bundle path that can never be written: an existing folder (`bundle_path_invalid`). */
export async function checkBundlePath(outPath: string): Promise<void> {
  const existing = await stat(outPath).catch(() => undefined);
  if (existing?.isDirectory()) throw new RunBundleError("bundle_path_invalid", `--bundle ${outPath} is a folder; give the path of the bundle file to write, e.g. ${path.join(outPath, "signoff.tar.gz")}.`);
}

/** What a source tree's digest covers: its sha256, the bytes hashed and the number of entries. */
export interface SourceTreeDigest {
  sha256: string;
  size: number;
  files: number;
}

const byBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));

/**
 * The digest of a host source tree, independent of where it lies and of what its file system
 * returns first: sha256 over `<path> NUL <content> NUL` of every regular file, in bytewise order of
 * the POSIX relative paths; a symlink's content is `symlink:<target>` (never followed). Entries named
 * in SOURCE_TREE_SKIPPED (`.git`, `__pycache__`, `node_modules`, environments and caches) are left
 * out wherever they occur. REPRODUCE.md of a run bundle recomputes it with Python alone.
 */
export async function sourceTreeDigest(dir: string): Promise<SourceTreeDigest> {
  const entries: Array<{ rel: string; link?: string }> = [];
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await readdir(path.join(dir, rel), { withFileTypes: true })) {
      if (SOURCE_TREE_SKIPPED.includes(entry.name)) continue;
      const child = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (entry.isSymbolicLink()) entries.push({ rel: child, link: await readlink(path.join(dir, child)) });
      else if (entry.isDirectory()) await walk(child);
      else if (entry.isFile()) entries.push({ rel: child });
    }
  };
  await walk("");
  entries.sort((a, b) => byBytes(a.rel, b.rel));
  const hash = createHash("sha256");
  let size = 0;
  for (const e of entries) {
    const content = e.link !== undefined ? Buffer.from(`symlink:${e.link}`, "utf8") : await readFile(path.join(dir, e.rel));
    size += content.length;
    hash.update(e.rel, "utf8").update("\0").update(content).update("\0");
  }
  return { sha256: hash.digest("hex"), size, files: entries.length };
}

/**
 * The subject of a run bundle: the host under test as the matrix names its source. A folder is
 * `host-source`/`tree` with `sourceTreeDigest`; a file (a built host wheel) is `host-source`/`whl`
 * with the sha256 of its bytes, which `sha256sum` checks. `artifact_missing` or `artifact_unreadable`
 * when the source cannot be read.
 */
export async function hostSourceSubject(source: string, host: { id: string; version?: string }): Promise<Subject> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(source);
  } catch (error) {
    throw new ArtifactError("artifact_missing", `the source of host ${host.id} (${source}) does not exist (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}). Point matrix.hosts[].source or DISTCHECK_SOURCE_${host.id.toUpperCase()} at it.`, { cause: error });
  }
  const base = { file: path.basename(source), kind: "host-source" as const, name: host.id, version: host.version ?? null };
  try {
    if (info.isDirectory()) {
      const digest = await sourceTreeDigest(source);
      return { ...base, format: "tree", sha256: digest.sha256, size: digest.size, files: digest.files };
    }
    const hash = createHash("sha256");
    for await (const chunk of createReadStream(source)) hash.update(chunk as Buffer);
    return { ...base, format: "whl", sha256: hash.digest("hex"), size: info.size };
  } catch (error) {
    throw new ArtifactError("artifact_unreadable", `the source of host ${host.id} (${source}) cannot be read to digest it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`, { cause: error });
  }
}

/** The host a run bundle certifies. */
export interface RunBundleHost {
  id: string;
  /** The version under test (the source's own unless the run set another). */
  version: string;
  entryPointGroup?: string;
}

/** A finished conformance run, as `certifyConformanceRun` turns it into a certification. */
export interface RunCertificationInput {
  /** What `publishReport` returned: per-host clause x cell verdicts, waivers applied, not-applicable reasons, the gate. */
  summary: ReportSummary;
  /** Every test's record (`readRecords`); records of other hosts are ignored, records without a cell go to RUN_CELL. */
  records: Iterable<TestRecord>;
  host: RunBundleHost;
  /** `hostSourceSubject` of the host's source, taken before the run built its images. */
  subject: Subject;
  /** The cells the selection declared for the host; a declared cell without a test record did not run. */
  declared: readonly string[];
  /** vitest's exit code; one no test failure explains is a harness error of the run. Omitted: not judged. */
  vitestExitCode?: number;
  /**
   * What the run covered beyond its cells, recorded with the gate: the suites it selected, and whether
   * platform, Python or suite filters narrowed it (then the gate judged only the clauses that ran,
   * not every required clause).
   */
  scope?: { suites: readonly string[]; filtered: boolean };
  /** The command that re-runs the whole run (the gate's reproduce). @default `npx distcheck run --host <id>` */
  runCommand?: string;
  /** Per cell, the host image it ran on (meta/run.json). */
  images?: RunMeta["images"];
  /** @default () => new Date() */
  now?: () => Date;
  /** @default harnessIdentity() */
  tool?: ToolIdentity;
}

/** What `writeBundle` takes: the document, its cells (with each cell's failure messages as a log) and meta. */
export interface RunCertification {
  document: CertificationDocument;
  cells: CellResult[];
  meta: RunMeta;
}

const quote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);
const truncate = (text: string, max = MAX_MESSAGE): string => (text.length > max ? `${text.slice(0, max)}... (${text.length - max} more characters in the run's report)` : text);
const slug = (text: string): string =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 80)
    .replace(/-+$/, "") || "test";
const LEADING_CLAUSES = /^\s*(?:(?:WHL|ARC|DIR|BND|KRN|HST)-\d{2}[\s,]*)+:\s*/;

/** `npx distcheck run` narrowed to one cell (and suite) of the host. */
function cellCommand(hostId: string, cell: TestRecord["cell"] | string, suite?: string): string {
  const [platform, base] = typeof cell === "string" ? cell.split(".") : [cell?.platform, cell?.base];
  const args = ["npx", "distcheck", "run", "--host", hostId];
  if (platform) args.push("--platform", platform);
  if (base) args.push("--python", base);
  if (suite) args.push("--suite", suite);
  return args.map(quote).join(" ");
}

/**
 * The stable part of a test's check id: its suite, the describe blocks inside its cell's, and its
 * title without the leading clause ids (`discovery.loads-every-extension`).
 */
function testSlug(r: TestRecord): string {
  const cellIndex = r.cell ? r.suitePath.findLastIndex((s) => s.includes(r.cell!.id)) : -1;
  const inner = r.suitePath.slice(cellIndex + 1);
  return `${slug(r.suite)}.${slug([...inner, r.name.replace(LEADING_CLAUSES, "")].join(" "))}`;
}

/** Every clause's waiver when the failed test's failure is waived (every clause it names is waived on its cell). */
function waiversOf(r: TestRecord, verdicts: HostVerdicts | undefined): Waiver[] | undefined {
  if (r.state !== "failed" || !r.cell || r.clauses.length === 0 || !verdicts) return undefined;
  // The summary lists every waiver that met its clause on one of the host's cells, as the report applied them.
  const found = r.clauses.map((c): Waiver | undefined => verdicts.waivers.find((w) => w.clause === c && waiverCovers(w, r.cell!.id)));
  return found.every((w): w is Waiver => w !== undefined) ? found : undefined;
}

function errorsOf(r: TestRecord): Array<Record<string, string>> {
  return r.errors.map((e) => {
    const out: Record<string, string> = { message: truncate(e.message ?? "") };
    if (e.name) out.name = e.name;
    if (e.code) out.code = e.code;
    if (e.category) out.category = e.category;
    return out;
  });
}

/** The findings of one test: one per clause it names (a test that names none: clause `none`). */
function testFindings(r: TestRecord, subject: string, hostId: string, verdicts: HostVerdicts | undefined): Finding[] {
  const cell = r.cell?.id ?? RUN_CELL;
  const waivers = waiversOf(r, verdicts);
  const category = categorise(r);
  const message = r.errors[0]?.message?.split("\n")[0] ?? "no error recorded";
  const clauses = r.clauses.length > 0 ? r.clauses : [NO_CLAUSE];
  return clauses.map((clause, i): Finding => {
    const evidence: Record<string, unknown> = { test: r.key, suite: r.suite, state: r.state };
    if (r.clauses.length > 1) evidence.clauses = [...r.clauses];
    let status: Finding["status"];
    let severity: Finding["severity"] = "error";
    let detail: string;
    if (r.state === "passed") {
      status = "pass";
      detail = "passed";
    } else if (r.state === "failed") {
      evidence.errors = errorsOf(r);
      const waiver = waivers?.[i];
      if (waiver) {
        // A waived failure qualifies the sign-off: the host's own line that causes it is in the evidence.
        status = "fail";
        severity = "warning";
        evidence.waiver = { clause: waiver.clause, cells: waiver.cells, reason: waiver.reason, source: { ...waiver.source } };
        detail = truncate(`failed under a waiver: ${waiverText(waiver)}; ${message}`);
      } else if (category === "product") {
        status = "fail";
        detail = truncate(`failed: ${message}`);
      } else {
        // The harness or the machine failed, so the test says nothing about the host either way.
        status = "harness-error";
        detail = truncate(`could not be carried out (${category ?? "harness"} error): ${message}`);
      }
      if (category) evidence.category = category;
    } else {
      status = "not-applicable";
      severity = "info";
      detail = `${r.state}: the test did not run on ${cell}`;
    }
    return { checkId: `run.${clause}.${testSlug(r)}`, clause, cell, subject, severity, status, title: r.name, detail, evidence, reproduce: cellCommand(hostId, r.cell, r.suite) };
  });
}

/** Check ids unique within a cell: a repeated one (two tests with one slug) gets `-2`, `-3` in test order. */
function uniqueCheckIds(findings: Finding[]): Finding[] {
  const seen = new Map<string, number>();
  return findings.map((f) => {
    const key = `${f.cell}\u0000${f.checkId}`;
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    return n === 1 ? f : { ...f, checkId: `${f.checkId}-${n}` };
  });
}

/** Clauses not applicable to the host (families it does not implement) per cell, and cells it cannot run on. */
function notApplicableFindings(verdicts: HostVerdicts | undefined, subject: string, hostId: string): Finding[] {
  const findings: Finding[] = [];
  const seen = new Set<string>();
  for (const na of verdicts?.notApplicable ?? []) {
    for (const cell of na.cells) {
      if (na.clauses[0] === ALL_CLAUSES) {
        // A cell the matrix names but the host cannot run on: one finding, not one per clause.
        if (seen.has(`${cell}\u0000*`)) continue;
        seen.add(`${cell}\u0000*`);
        findings.push({ checkId: "run.cell-excluded", clause: ALL_CLAUSES, cell, subject, severity: "info", status: "not-applicable", title: `The host ${hostId} cannot run on ${cell}`, detail: na.reason, evidence: { reason: na.reason }, reproduce: "npx distcheck cells" });
        continue;
      }
      for (const clause of na.clauses) {
        if (verdicts?.clauses[clause]?.[cell] !== "not-applicable" || seen.has(`${cell}\u0000${clause}`)) continue;
        seen.add(`${cell}\u0000${clause}`);
        findings.push({ checkId: `run.${clause}`, clause, cell, subject, severity: "info", status: "not-applicable", title: `${clause} is not applicable to ${hostId}`, detail: na.reason, evidence: { reason: na.reason }, reproduce: cellCommand(hostId, cell) });
      }
    }
  }
  return findings;
}

/** The run's gate (and, when given, vitest's exit) as findings of RUN_CELL: a failed gate refuses the sign-off. */
function runFindings(input: RunCertificationInput, subject: string, runCommand: string): Finding[] {
  const { summary } = input;
  const findings: Finding[] = [
    {
      checkId: "run.gate",
      clause: ALL_CLAUSES,
      cell: RUN_CELL,
      subject,
      severity: "error",
      status: summary.gate.passed ? "pass" : "fail",
      title: "The run's quality gate passed: every clause the host implements ran and passed (or failed under a waiver) on every platform, and no test failed outside a waiver",
      detail: summary.gate.passed ? "passed" : truncate(summary.gate.reasons.join("; ")),
      evidence: { reasons: summary.gate.reasons.slice(0, 50).map((r) => truncate(r, 500)), moreReasons: Math.max(0, summary.gate.reasons.length - 50), totals: { ...summary.totals }, categories: { ...summary.categories }, runId: summary.runId, notYetCovered: [...summary.contract.notYetCovered], ...(input.scope ? { suites: [...input.scope.suites], filtered: input.scope.filtered } : {}) },
      reproduce: runCommand,
    },
  ];
  if (input.vitestExitCode !== undefined) {
    const exit = input.vitestExitCode;
    // vitest exits 1 for failed tests, waived ones too; any other exit, or 1 without a failure, is the harness's.
    const explained = exit === 0 || (exit === 1 && summary.totals.failed + summary.totals.waived > 0);
    findings.push({
      checkId: "run.vitest-exit",
      clause: ALL_CLAUSES,
      cell: RUN_CELL,
      subject,
      severity: "error",
      status: explained ? "pass" : "harness-error",
      title: "vitest ended the suites normally (its exit code is explained by the tests' results)",
      detail: explained ? `vitest exited ${exit}` : `vitest exited ${exit}, which no failed test explains: the suites did not run to the end normally`,
      evidence: { exitCode: exit },
      reproduce: runCommand,
    });
  }
  return findings;
}

/** `failures.txt` of a cell: every test that did not pass there, with its error messages (no stacks, no attachments). */
function failureLog(records: readonly TestRecord[], verdicts: HostVerdicts | undefined): string | undefined {
  const failed = records.filter((r) => r.state === "failed");
  if (failed.length === 0) return undefined;
  const lines: string[] = [];
  for (const r of failed) {
    const waivers = waiversOf(r, verdicts);
    lines.push(r.key, `  ${waivers ? `failed under waivers: ${waivers.map(waiverText).join("; ")}` : `failed (${categorise(r) ?? "harness"})`}`);
    for (const e of r.errors) lines.push(`  ${e.name ?? "Error"}${e.code ? ` [${e.code}]` : ""}: ${truncate(e.message ?? "").replace(/\n/g, "\n    ")}`);
    lines.push("");
  }
  return `${lines.join("\n")}`;
}

/**
 * Turns a finished conformance run of one host into a certification document, the cells of its
 * bundle and the bundle's meta. Findings are one per test and clause in the cell it ran on
 * (`run.<clause>.<suite>.<test>`): passed is pass; failed is fail (error), or fail (warning) with the
 * waiver's reason and quoted source line when a waiver covers it, or harness-error when the harness
 * or the machine failed (the failure category); skipped is not-applicable. Clauses the host does not
 * implement are not-applicable per cell (`run.<clause>`), cells it cannot run on once
 * (`run.cell-excluded`), and the run's gate is `run.gate` (a failed gate refuses the sign-off:
 * NOT_CERTIFIED). The matrix declares the selection's cells and executes those with a test record;
 * the verdict is `deriveVerdict`'s, which `distcheck verify` re-derives from the cells.
 */
export function certifyConformanceRun(input: RunCertificationInput): RunCertification {
  const { summary, host, subject } = input;
  const verdicts = summary.hosts[host.id];
  const runCommand = input.runCommand ?? cellCommand(host.id, undefined);
  const records = [...input.records].filter((r) => !r.cell || r.cell.host === host.id).sort((a, b) => byBytes(`${a.cell?.id ?? ""}\u0000${a.key}`, `${b.cell?.id ?? ""}\u0000${b.key}`));

  const findings = sortFindings([
    ...uniqueCheckIds(records.flatMap((r) => testFindings(r, subject.file, host.id, verdicts))),
    ...notApplicableFindings(verdicts, subject.file, host.id),
    ...runFindings(input, subject.file, runCommand),
  ]);
  const declared = [...new Set(input.declared)].sort();
  const executed = [...new Set(records.flatMap((r) => (r.cell ? [r.cell.id] : [])))].sort();
  const hostInfo: CertificationDocument["host"] = { id: host.id, version: host.version };
  if (host.entryPointGroup !== undefined) hostInfo.entryPointGroup = host.entryPointGroup;
  const document: CertificationDocument = {
    schemaVersion: 1,
    tool: input.tool ?? harnessIdentity(),
    contract: { version: summary.contract.version, sha256: summary.contract.sha256 },
    host: hostInfo,
    generatedAt: (input.now ?? (() => new Date()))().toISOString(),
    subjects: [subject],
    matrix: { declared, executed },
    findings,
    verdict: deriveVerdict(findings, declared, executed),
  };

  const cellIds = [...new Set([...findings.map((f) => f.cell), ...executed])].sort();
  const cells: CellResult[] = cellIds.map((cell) => {
    const result: CellResult = { cell, findings: findings.filter((f) => f.cell === cell) };
    const log = failureLog(records.filter((r) => (r.cell?.id ?? RUN_CELL) === cell), verdicts);
    if (log !== undefined) result.logs = { "failures.txt": log };
    return result;
  });
  return { document, cells, meta: { host: { ...hostInfo }, images: { ...(input.images ?? {}) } } };
}

import { createHash, randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { BUNDLE, type RunMetaFile } from "../certify/bundle-layout.ts";
import { runCertification, type CertifyOutcome } from "../certify/certify-run.ts";
import { deriveVerdict, STATIC_CELL, type Finding, type Subject, type Verdict } from "../certify/certification-document.ts";
import type { PlatformId } from "../platform/platforms.ts";
import type { CellIdentity } from "../report/test-identity.ts";
import { bundleCells, cellFindings, json, openVerifiedBundle } from "./bundle-cell.ts";
import { certificationTimingFactor } from "./artifact-replay.ts";
import { checkBundleImage } from "./bundle-replay.ts";
import { ReproEnvironmentError, ReproInputError } from "./repro-errors.ts";
import { shellWord, stamp } from "./repro.ts";

/**
 * `distcheck repro --bundle FILE --key PUB --cell ID --artifact FILE...`: replays one cell of a
 * signed certification bundle (`distcheck certify --sign-key`). A bundle carries the artifact's
 * sha256, never its bytes, so the artifact is given again and must be byte for byte the one the
 * bundle certifies. Each try is one `distcheck certify` of it narrowed to that cell, and its verdict
 * for the cell is compared with the bundle's, finding by finding.
 */
export interface CertificationReplayOptions {
  bundle: string;
  key: string;
  cell: string;
  /** The artifact(s) the bundle certifies; each must match one of its subjects by sha256. */
  artifacts: readonly string[];
  /** A folder of wheels the artifact's dependencies install from (the bundle does not record it). */
  deps?: string;
  /** The older release an upgrade was certified from (the bundle does not record it). */
  previous?: string;
  matrix?: string;
  reports?: string;
  /** @default 1 */
  repeat?: number;
  allowDifferentImage?: boolean;
  progress: (line: string) => void;
  interrupts?: (stop: (reason: string) => void) => () => void;
  /** The certification library; a test gives a fake. @default runCertification */
  certify?: typeof runCertification;
  /** The image check; a test gives a fake. @default checkBundleImage */
  checkImage?: typeof checkBundleImage;
}

/** A finding whose status the replay did not reproduce. */
export interface FindingDifference {
  checkId: string;
  subject: string;
  /** The bundle's status (`absent` when it has no such finding). */
  recorded: string;
  replayed: string;
}

export interface CertificationTry {
  n: number;
  verdict: Verdict;
  sameVerdict: boolean;
  differences: FindingDifference[];
  dir: string;
  /** The timing factor the try measured on the cell's platform (timing tolerances are multiplied by it). */
  timingFactor?: number;
}

export interface CertificationReplayResult {
  reproId: string;
  dir: string;
  bundle: string;
  cell: string;
  subjects: Array<Pick<Subject, "file" | "sha256">>;
  /** The cell's verdict in the bundle: its static findings and the cell's, as if it were the only cell. */
  recordedVerdict: Verdict;
  tries: CertificationTry[];
  /** Every try gave the bundle's verdict. */
  sameVerdict: boolean;
  warnings: string[];
  command: string;
  /** 0 when every try gives the bundle's verdict for the cell, 1 when one does not. */
  exitCode: 0 | 1;
}

/** The verdict of one cell: its findings with the artifact's static ones, as though it were the only cell declared. */
export function cellCertificationVerdict(staticFindings: readonly Finding[], findings: readonly Finding[], cell: string, executed: boolean): Verdict {
  return deriveVerdict([...staticFindings, ...findings], [cell], executed ? [cell] : []);
}

/** Findings whose status differs between the bundle's cell and a replay of it, keyed by check and subject. */
export function findingDifferences(recorded: readonly Finding[], replayed: readonly Finding[]): FindingDifference[] {
  const key = (f: Finding): string => `${f.checkId}\u0000${f.subject}`;
  const before = new Map(recorded.map((f) => [key(f), f]));
  const after = new Map(replayed.map((f) => [key(f), f]));
  const differences: FindingDifference[] = [];
  for (const k of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const [b, a] = [before.get(k), after.get(k)];
    const [checkId, subject] = k.split("\u0000") as [string, string];
    if (b?.status !== a?.status) differences.push({ checkId, subject, recorded: b?.status ?? "absent", replayed: a?.status ?? "absent" });
  }
  return differences;
}

/**
 * Matches the given files to the bundle's subjects by sha256: every subject needs its file and every
 * file must be a subject (`artifact_mismatch` otherwise, naming both digests). A file under another
 * name is certified under the subject's name (staged in `stage`), since findings name artifacts by
 * file name and a wheel's name carries its tags.
 */
export function matchSubjects(files: readonly string[], subjects: readonly Subject[], bundlePath: string, stage: string): string[] {
  const wanted = subjects.map((s) => `${s.file} (sha256 ${s.sha256})`).join(", ");
  const bySha = new Map<string, string>();
  for (const file of files) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (error) {
      throw new ReproInputError("artifact_missing", `Cannot read --artifact ${file} (${(error as NodeJS.ErrnoException).code}). Give the artifact ${bundlePath} certifies: ${wanted}.`, { cause: error });
    }
    const sha = createHash("sha256").update(bytes).digest("hex");
    if (!subjects.some((s) => s.sha256 === sha)) throw new ReproInputError("artifact_mismatch", `--artifact ${file} (sha256 ${sha}) is not what ${bundlePath} certifies: ${wanted}. A replay needs the same bytes; get the artifact the bundle names (its sha256 must match).`);
    bySha.set(sha, file);
  }
  const missing = subjects.filter((s) => !bySha.has(s.sha256));
  if (missing.length > 0) throw new ReproInputError("artifact_mismatch", `${bundlePath} certifies ${subjects.length} artifact(s) together; missing --artifact for ${missing.map((s) => `${s.file} (sha256 ${s.sha256})`).join(", ")}.`);
  return subjects.map((s) => {
    const file = bySha.get(s.sha256)!;
    if (path.basename(file) === s.file) return file;
    mkdirSync(stage, { recursive: true });
    const staged = path.join(stage, s.file);
    copyFileSync(file, staged);
    return staged;
  });
}

/**
 * Verifies the bundle, matches the artifact(s) to its subjects, checks that the cell's host image is
 * the one the bundle names, then certifies the artifact on that cell `repeat` times (outputs under
 * `<reports>/repro/<id>/certification/try-<n>/`) and compares each try's verdict and findings for the
 * cell with the bundle's. INCOMPLETE is `certification_incomplete` when the bundle's cell was not.
 */
export async function replayCertificationCell(opts: CertificationReplayOptions): Promise<CertificationReplayResult> {
  const repeat = opts.repeat ?? 1;
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 100) throw new ReproInputError("repro_usage", `--repeat must be a whole number from 1 to 100 (got ${repeat}).`);
  const bundle = openVerifiedBundle(opts.bundle, opts.key);
  if (bundle.isRun) throw new ReproInputError("repro_usage", `${opts.bundle} is a sign-off bundle of a host run (distcheck run --bundle): it replays its recorded tests, with no --artifact.`);
  const doc = bundle.document;
  if (opts.cell === STATIC_CELL || !bundleCells(bundle.files).includes(opts.cell)) {
    throw new ReproInputError("cell_not_found", `${opts.bundle} has no cell ${opts.cell} that ran the artifact; its cells: ${bundleCells(bundle.files).join(", ") || "none (the static checks refused it, nothing ran)"}. Pass one with --cell.`);
  }
  const recorded = cellFindings(bundle, opts.bundle, opts.cell);
  const staticFindings = doc.findings.filter((f) => f.cell === STATIC_CELL);
  const recordedVerdict = cellCertificationVerdict(staticFindings, recorded, opts.cell, doc.matrix.executed.includes(opts.cell));
  const [platform, base, host] = opts.cell.split(".") as [PlatformId, string, string];
  const cell: CellIdentity = { id: opts.cell, platform, base, host };
  const meta = json<RunMetaFile>(bundle.files, BUNDLE.run);

  const reproId = `${stamp()}-${randomBytes(3).toString("hex")}`;
  const { selection, warnings } = await (opts.checkImage ?? checkBundleImage)({ cell, imageId: meta.images[opts.cell]?.id, matrix: opts.matrix, allowDifferentImage: opts.allowDifferentImage });
  const dir = path.join(path.resolve(selection.root, opts.reports ?? "reports"), "repro", reproId);
  const artifacts = matchSubjects(opts.artifacts, doc.subjects, opts.bundle, path.join(dir, "artifact"));
  if (opts.previous) warnings.push(`--previous ${opts.previous}: the bundle does not record the release an upgrade was certified from; the replay uses this one`);
  if (opts.deps) warnings.push(`--deps ${opts.deps}: the bundle does not record the dependency wheels; the replay installs from this folder`);
  for (const w of warnings) opts.progress(`warning: ${w}`);

  const certify = opts.certify ?? runCertification;
  const extra = [...(opts.deps ? ["--deps", opts.deps] : []), ...(opts.previous ? ["--previous", opts.previous] : []), ...(opts.matrix ? ["--matrix", opts.matrix] : [])];
  const command = ["npx", "distcheck", "repro", "--bundle", opts.bundle, "--key", opts.key, "--cell", opts.cell, ...opts.artifacts.flatMap((a) => ["--artifact", a]), ...extra, ...(repeat > 1 ? ["--repeat", String(repeat)] : [])].map(shellWord).join(" ");
  opts.progress(`replaying cell ${opts.cell} of ${opts.bundle} (${doc.subjects.map((s) => s.file).join(", ")}): ${repeat} tr${repeat === 1 ? "y" : "ies"}, recorded verdict ${recordedVerdict}`);
  const tries: CertificationTry[] = [];
  for (let n = 1; n <= repeat; n++) {
    const tryDir = path.join(dir, "certification", `try-${n}`);
    mkdirSync(tryDir, { recursive: true });
    const tryCommand = ["npx", "distcheck", "certify", ...artifacts, "--host", host, "--platform", platform, "--python", base, ...extra, "--out", path.relative(selection.root, tryDir) || tryDir].map(shellWord).join(" ");
    writeFileSync(path.join(tryDir, "command.sh"), `#!/bin/sh\n# Replays cell ${opts.cell} of ${opts.bundle} (all tries): ${command}\n# This try alone:\ncd ${shellWord(selection.root)} && ${tryCommand}\n`);
    const [outcome] = await certify({
      requests: [{ artifacts, ...(opts.deps ? { deps: opts.deps } : {}), ...(opts.previous ? { previous: opts.previous } : {}) }],
      host,
      platform: [platform],
      python: [base],
      ...(opts.matrix ? { matrix: opts.matrix } : {}),
      out: tryDir,
      suiteOutputToStderr: true,
      progress: opts.progress,
      ...(opts.interrupts ? { interrupts: opts.interrupts } : {}),
    });
    const replayed = (outcome as CertifyOutcome).document;
    if (replayed.verdict === "INCOMPLETE" && recordedVerdict !== "INCOMPLETE") {
      throw new ReproEnvironmentError("certification_incomplete", `Try ${n}: the certification on ${opts.cell} is INCOMPLETE (the cell did not run to the end, or a check could not be carried out), so it says nothing about the artifact. See ${path.join(tryDir, "certification.md")} and the engine.`);
    }
    const differences = findingDifferences(recorded, replayed.findings.filter((f) => f.cell === opts.cell));
    const timingFactor = certificationTimingFactor(tryDir, platform);
    const t: CertificationTry = { n, verdict: replayed.verdict, sameVerdict: replayed.verdict === recordedVerdict, differences, dir: tryDir, ...(timingFactor !== undefined ? { timingFactor } : {}) };
    tries.push(t);
    opts.progress(`try ${n}/${repeat}: ${t.verdict}${t.sameVerdict ? " (as in the bundle)" : ` (the bundle: ${recordedVerdict})`}${differences.length ? `, ${differences.length} finding(s) differ` : ""}, timing factor ${t.timingFactor ?? "?"}`);
  }
  const sameVerdict = tries.every((t) => t.sameVerdict);
  const result: CertificationReplayResult = {
    reproId,
    dir,
    bundle: opts.bundle,
    cell: opts.cell,
    subjects: doc.subjects.map((s) => ({ file: s.file, sha256: s.sha256 })),
    recordedVerdict,
    tries,
    sameVerdict,
    warnings,
    command,
    exitCode: sameVerdict ? 0 : 1,
  };
  writeFileSync(path.join(dir, "repro.json"), JSON.stringify(result, null, 2));
  return result;
}

/** The result as a person reads it. */
export function certificationReplayText(r: CertificationReplayResult, cwd = process.cwd()): string {
  const lines = [`cell ${r.cell} of ${r.bundle} (${r.subjects.map((s) => s.file).join(", ")})`];
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  for (const t of r.tries) {
    lines.push(`  try ${t.n}: ${t.verdict.padEnd(24)} ${t.sameVerdict ? "as in the bundle" : `the bundle: ${r.recordedVerdict}`}   timing factor ${t.timingFactor ?? "?"}   ${path.relative(cwd, t.dir)}`);
    for (const d of t.differences) lines.push(`    ${d.checkId} [${d.subject}]: ${d.recorded} in the bundle, ${d.replayed} now`);
  }
  const same = r.tries.filter((t) => t.sameVerdict).length;
  lines.push(`  verdict: ${r.sameVerdict ? "the same verdict" : "a DIFFERENT verdict"} (${same} of ${r.tries.length} tr${r.tries.length === 1 ? "y" : "ies"} ${r.recordedVerdict}, as the bundle)`);
  lines.push(`  again: ${r.command}`);
  lines.push(`trace: ${path.relative(cwd, r.dir) || r.dir}`);
  return `${lines.join("\n")}\n`;
}

import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { runCertification, type CertifyOutcome } from "../certify/certify-run.ts";
import type { CertificationDocument, Verdict as CertificationVerdict } from "../certify/certification-document.ts";
import { isDistcheckError } from "../errors/distcheck-error.ts";
import { select } from "../matrix/selection.ts";
import { readRunEnvironment } from "../report/run-environment.ts";
import type { Classification } from "./classification.ts";
import { ReproEnvironmentError, ReproInputError } from "./repro-errors.ts";
import { shellWord, stamp } from "./repro.ts";

/**
 * `distcheck repro --host ID --platform ID --python V --artifact FILE`: "does this artifact fail on
 * that cell?" without a published run. Each try is one `distcheck certify` of the artifact narrowed to
 * exactly that cell; a try fails when its verdict is NOT_CERTIFIED.
 */
export interface ArtifactReplayOptions {
  host: string;
  platform: string;
  python: string;
  artifact: string;
  /** A folder of wheels the artifact's dependencies install from. */
  deps?: string;
  matrix?: string;
  /** Where `repro/<id>/artifact/try-<n>/` goes. @default "reports" */
  reports?: string;
  /** @default 1 */
  repeat?: number;
  progress: (line: string) => void;
  interrupts?: (stop: (reason: string) => void) => () => void;
  /** The certification library; a test gives a fake. @default runCertification */
  certify?: typeof runCertification;
}

/** One try: the certification's verdict and the error findings that refused it. */
export interface ArtifactTry {
  n: number;
  verdict: CertificationVerdict;
  failed: boolean;
  /** `<checkId>@<cell>` of each failed error finding, sorted: what made the verdict NOT_CERTIFIED. */
  failingFindings: string[];
  dir: string;
  /** This try alone: the `distcheck certify` command line. */
  command: string;
  /** The timing factor the try's certification measured on the cell's platform (timing tolerances are multiplied by it). */
  timingFactor?: number;
}

export interface ArtifactVerdict {
  classification: Classification;
  failed: number;
  of: number;
  /** Every failed try failed on the same findings (true when fewer than two failed). */
  sameFindings: boolean;
}

export interface ArtifactReplayResult {
  reproId: string;
  dir: string;
  cell: string;
  artifact: string;
  tries: ArtifactTry[];
  verdict: ArtifactVerdict;
  /** Replays this again (all tries). */
  command: string;
  exitCode: 0 | 1;
}

/** The explicit form's flags, and the others it cannot be combined with. */
export interface ExplicitFlags {
  host?: string;
  platform?: string;
  python?: string;
  artifact?: string;
  deps?: string;
  from?: string;
  bundle?: string;
  lastFailed?: boolean;
  test?: string;
  cell?: string;
  keep?: boolean;
  shell?: boolean;
}

/**
 * Whether the flags ask for the explicit form; refuses (repro_usage) a half-given one, or one mixed
 * with another way of naming what to replay.
 */
export function wantsArtifactReplay(f: ExplicitFlags): boolean {
  const explicit = { "--host": f.host, "--platform": f.platform, "--python": f.python, "--artifact": f.artifact };
  const given = Object.entries(explicit).filter(([, v]) => v !== undefined).map(([k]) => k);
  if (given.length === 0 && f.deps === undefined) return false;
  // --bundle with --artifact (and --deps) replays a cell of a certification bundle: not this form.
  if (f.bundle !== undefined && f.host === undefined && f.platform === undefined && f.python === undefined) return false;
  const others = { "--from": f.from, "--bundle": f.bundle, "--last-failed": f.lastFailed, "a test argument": f.test, "--cell": f.cell, "--keep": f.keep, "--shell": f.shell };
  const mixed = Object.entries(others).filter(([, v]) => v !== undefined && v !== false).map(([k]) => k);
  if (mixed.length > 0) throw new ReproInputError("repro_usage", `${[...given, ...(f.deps !== undefined ? ["--deps"] : [])].join(", ")} name an artifact and a cell to replay on; ${mixed.join(", ")} name another thing to replay. Use one form: --host --platform --python --artifact, or --from, or --bundle.`);
  const missing = Object.keys(explicit).filter((k) => !given.includes(k));
  if (missing.length > 0) throw new ReproInputError("repro_usage", `Replaying an artifact needs --host, --platform, --python and --artifact; missing ${missing.join(", ")} (e.g. --host reference --platform linux-aarch64 --python 3.13 --artifact dist/my_ext-1.0.0-py3-none-any.whl).`);
  return true;
}

/**
 * The timing factor a certification under `dir` measured for the platform: its suite's run
 * environment travels with the Allure results it copies to `<dir>/allure/allure-results/`.
 */
export function certificationTimingFactor(dir: string, platform: string): number | undefined {
  return readRunEnvironment([path.join(dir, "allure", "allure-results")])?.timingFactors[platform];
}

/** The error findings that refused a certification, as `<checkId>@<cell>`. */
export function failingFindingIds(doc: Pick<CertificationDocument, "findings">): string[] {
  return [...new Set(doc.findings.filter((f) => f.status === "fail" && f.severity === "error").map((f) => `${f.checkId}@${f.cell}`))].sort();
}

/** fails every time / flaky (k of N) / does not reproduce, and whether the failed tries failed on the same findings. */
export function classifyArtifactTries(tries: ReadonlyArray<Pick<ArtifactTry, "failed" | "failingFindings">>): ArtifactVerdict {
  const failedTries = tries.filter((t) => t.failed);
  const failed = failedTries.length;
  const classification: Classification = tries.length > 0 && failed === tries.length ? "fails_every_time" : failed > 0 ? "flaky" : "does_not_reproduce";
  const first = failedTries[0]?.failingFindings.join("\n");
  return { classification, failed, of: tries.length, sameFindings: failedTries.every((t) => t.failingFindings.join("\n") === first) };
}

/** The one cell the flags name; cell_not_found when they name none or several. */
export function explicitCell(opts: Pick<ArtifactReplayOptions, "host" | "platform" | "python" | "matrix">): { id: string; root: string } {
  let selection;
  try {
    selection = select({ matrix: opts.matrix, platform: [opts.platform], python: [opts.python], host: [opts.host] });
  } catch (error) {
    if (isDistcheckError(error) && error.category === "input") throw new ReproInputError("cell_not_found", `--host ${opts.host} --platform ${opts.platform} --python ${opts.python} is no cell of the matrix: ${error.message}. \`distcheck cells\` lists them.`, { cause: error });
    throw error;
  }
  const cells = selection.cells.filter((c) => c.host.id === opts.host);
  if (cells.length !== 1) throw new ReproInputError("cell_not_found", `--host ${opts.host} --platform ${opts.platform} --python ${opts.python} names ${cells.length === 0 ? "no cell" : `${cells.length} cells (${cells.map((c) => c.id).join(", ")})`} of ${selection.matrixFile}; it must name exactly one. \`distcheck cells\` lists them.`);
  return { id: cells[0]!.id, root: selection.root };
}

/**
 * Certifies the artifact `repeat` times on its one cell, each try's outputs (certification.json,
 * .md, junit.xml, allure) and command.sh under `<reports>/repro/<id>/artifact/try-<n>/`, and
 * classifies. INCOMPLETE (the cell did not run to the end) is certification_incomplete (exit 3);
 * INVALID_ARTIFACT (the static checks refuse the bytes, nothing ran on the cell) is artifact_invalid.
 */
export async function replayArtifact(opts: ArtifactReplayOptions): Promise<ArtifactReplayResult> {
  const repeat = opts.repeat ?? 1;
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 100) throw new ReproInputError("repro_usage", `--repeat must be a whole number from 1 to 100 (got ${repeat}).`);
  const cell = explicitCell(opts);
  const certify = opts.certify ?? runCertification;
  const reportsRoot = path.resolve(cell.root, opts.reports ?? "reports");
  const reproId = `${stamp()}-${randomBytes(3).toString("hex")}`;
  const dir = path.join(reportsRoot, "repro", reproId);
  const common = [...(opts.deps ? ["--deps", opts.deps] : []), ...(opts.matrix ? ["--matrix", opts.matrix] : [])];
  const command = ["npx", "distcheck", "repro", "--host", opts.host, "--platform", opts.platform, "--python", opts.python, "--artifact", opts.artifact, ...common, ...(repeat > 1 ? ["--repeat", String(repeat)] : [])].map(shellWord).join(" ");
  opts.progress(`certifying ${path.basename(opts.artifact)} on ${cell.id}, ${repeat} tr${repeat === 1 ? "y" : "ies"}`);
  const tries: ArtifactTry[] = [];
  for (let n = 1; n <= repeat; n++) {
    const tryDir = path.join(dir, "artifact", `try-${n}`);
    const tryCommand = ["npx", "distcheck", "certify", opts.artifact, "--host", opts.host, "--platform", opts.platform, "--python", opts.python, ...common, "--out", path.relative(cell.root, tryDir) || tryDir].map(shellWord).join(" ");
    mkdirSync(tryDir, { recursive: true });
    writeFileSync(path.join(tryDir, "command.sh"), `#!/bin/sh\n# Replays this artifact on ${cell.id} (all tries): ${command}\n# This try alone:\ncd ${shellWord(cell.root)} && ${tryCommand}\n`);
    const [outcome] = await certify({ requests: [{ artifacts: [opts.artifact], ...(opts.deps ? { deps: opts.deps } : {}) }], host: opts.host, platform: [opts.platform], python: [opts.python], ...(opts.matrix ? { matrix: opts.matrix } : {}), out: tryDir, suiteOutputToStderr: true, progress: opts.progress, ...(opts.interrupts ? { interrupts: opts.interrupts } : {}) });
    const doc = (outcome as CertifyOutcome).document;
    if (doc.verdict === "INVALID_ARTIFACT") throw new ReproInputError("artifact_invalid", `${opts.artifact} is not a valid artifact (the static checks refuse its bytes: ${failingFindingIds(doc).join(", ")}); nothing ran on ${cell.id}. See ${path.join(tryDir, "certification.md")}.`);
    if (doc.verdict === "INCOMPLETE") throw new ReproEnvironmentError("certification_incomplete", `Try ${n}: the certification on ${cell.id} is INCOMPLETE (the cell did not run to the end, or a check could not be carried out), so it says nothing about the artifact. See ${path.join(tryDir, "certification.md")} and the engine.`);
    const timingFactor = certificationTimingFactor(tryDir, opts.platform);
    const t: ArtifactTry = { n, verdict: doc.verdict, failed: doc.verdict === "NOT_CERTIFIED", failingFindings: failingFindingIds(doc), dir: tryDir, command: tryCommand, ...(timingFactor !== undefined ? { timingFactor } : {}) };
    tries.push(t);
    opts.progress(`try ${n}/${repeat}: ${t.verdict}${t.failed ? ` (${t.failingFindings.join(", ")})` : ""}, timing factor ${t.timingFactor ?? "?"}`);
  }
  const verdict = classifyArtifactTries(tries);
  const result: ArtifactReplayResult = { reproId, dir, cell: cell.id, artifact: opts.artifact, tries, verdict, command, exitCode: verdict.failed > 0 ? 1 : 0 };
  writeFileSync(path.join(dir, "repro.json"), JSON.stringify(result, null, 2));
  return result;
}

/** The result as a person reads it. */
export function artifactReplayText(r: ArtifactReplayResult, cwd = process.cwd()): string {
  const words = { fails_every_time: "fails every time", flaky: "flaky", does_not_reproduce: "does not reproduce" }[r.verdict.classification];
  const lines = [`${r.artifact} on ${r.cell}`];
  for (const t of r.tries) lines.push(`  try ${t.n}: ${t.verdict.padEnd(24)} ${t.failingFindings.join(", ") || "-"}   timing factor ${t.timingFactor ?? "?"}   ${path.relative(cwd, t.dir)}`);
  lines.push(`  verdict: ${words} (${r.verdict.failed} of ${r.verdict.of} not certified${r.verdict.failed > 1 ? `, ${r.verdict.sameFindings ? "the same findings each time" : "different findings"}` : ""})`);
  lines.push(`  again: ${r.command}`);
  lines.push(`trace: ${path.relative(cwd, r.dir) || r.dir}`);
  return `${lines.join("\n")}\n`;
}

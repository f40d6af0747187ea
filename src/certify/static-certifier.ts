import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import { CONTRACT } from "../contract/contract.ts";
import { classifyArtifact, type ArtifactKind } from "./artifact-kind.ts";
import { checkArchive } from "./archive-static-checks.ts";
import { deriveVerdict, sortFindings, STATIC_CELL, type CertificationDocument, type Finding, type Subject, type ToolIdentity } from "./certification-document.ts";
import { ArtifactError } from "./certify-errors.ts";
import { harnessIdentity } from "./harness-identity.ts";
import { certifyCommand } from "./reproduce-guide.ts";
import { checkWheel } from "./wheel-static-checks.ts";

/** The host an artifact is certified for. */
export interface CertifyHost {
  id: string;
  /** The entry point group the host discovers wheels in, e.g. `toposync.extensions`. */
  entryPointGroup: string;
  version?: string;
}

export interface CertifyStaticOptions {
  host: CertifyHost;
  /**
   * Cells (`<platform>.<base>.<host>`) the certification declares. The static checks execute none
   * of them, so declaring any makes the verdict INCOMPLETE until the dynamic checks fill the
   * executed matrix. @default [] (a certification of the artifact's bytes only)
   */
  cells?: string[];
  /** @default () => new Date() */
  now?: () => Date;
  /** @default harnessIdentity() */
  tool?: ToolIdentity;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** What the static checks read from an artifact that the dynamic checks' expectations start from. */
export interface ArtifactFacts {
  /** `extension.json` (wheel) or `extension.toml` (archive), when valid enough to read. */
  manifest?: Record<string, unknown>;
  /** An archive's config schema, when it has one that parses. */
  configSchema?: unknown;
  /** An archive's platform from its file name (ARC-12), `universal` when none. */
  platform?: string;
}

/** One artifact's static result: its subject, findings and the facts the dynamic checks need. */
export interface StaticResult {
  artifact: ArtifactKind;
  subject: Subject;
  findings: Finding[];
  facts: ArtifactFacts;
}

/** Every static check of one artifact; a check that throws becomes a harness-error finding, never a crash. */
export async function checkOne(artifact: ArtifactKind, host: CertifyHost): Promise<StaticResult> {
  const reproduce = certifyCommand([artifact.fileName], host.id);
  let sha256: string;
  let bytes: Buffer | undefined;
  try {
    sha256 = await sha256File(artifact.path);
    if (artifact.kind === "wheel") bytes = await readFile(artifact.path);
  } catch (error) {
    throw new ArtifactError("artifact_unreadable", `${artifact.path} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`, { cause: error });
  }
  const subject: Subject = { file: artifact.fileName, kind: artifact.kind, format: artifact.format, sha256, size: artifact.size, name: null, version: null };
  try {
    if (artifact.kind === "wheel") {
      const result = checkWheel(bytes!, artifact.fileName, host, reproduce);
      return { artifact, subject: { ...subject, name: result.name, version: result.version }, findings: result.findings, facts: result.manifest ? { manifest: result.manifest } : {} };
    }
    const result = await checkArchive(artifact.path, artifact.fileName, reproduce);
    const facts: ArtifactFacts = { platform: result.platform };
    if (result.manifest) facts.manifest = result.manifest;
    if (result.configSchema !== undefined) facts.configSchema = result.configSchema;
    return { artifact, subject: { ...subject, name: result.name, version: result.version }, findings: result.findings, facts };
  } catch (error) {
    const finding: Finding = {
      checkId: "static.harness-error",
      clause: artifact.kind === "wheel" ? "WHL-01" : "ARC-01",
      cell: STATIC_CELL,
      subject: artifact.fileName,
      severity: "error",
      status: "harness-error",
      title: "The static checks ran to the end",
      detail: `the static checks stopped with an error of the harness: ${(error as Error).message ?? String(error)}`,
      evidence: { stack: (error as Error).stack ?? String(error) },
      reproduce,
    };
    return { artifact, subject, findings: [finding], facts: {} };
  }
}

/**
 * Certifies artifacts from their bytes alone: every static check, and the document with its verdict.
 * Every path is classified first, so a missing or unrecognised file fails (`artifact_missing`,
 * `artifact_unrecognised`) before any work and nothing is written anywhere. The executed matrix is
 * empty: the dynamic checks (installing and running the artifact in containers) will add their
 * cells' findings and executed cells to the same document.
 */
export async function certifyStatic(artifactPaths: readonly string[], options: CertifyStaticOptions): Promise<CertificationDocument> {
  if (artifactPaths.length === 0) throw new ArtifactError("artifact_missing", "No artifact given. Give the paths of wheels (.whl) or archives (.tar.gz, .tgz, .zip).");
  const artifacts: ArtifactKind[] = [];
  for (const path of artifactPaths) artifacts.push(await classifyArtifact(path));
  const names = artifacts.map((a) => a.fileName);
  const repeated = names.find((n, i) => names.indexOf(n) !== i);
  if (repeated !== undefined) throw new ArtifactError("artifact_duplicate", `Two artifacts are named ${repeated}; findings name artifacts by file name, so certify them separately.`);

  const results = [];
  for (const artifact of artifacts) results.push(await checkOne(artifact, options.host));
  const findings = sortFindings(results.flatMap((r) => r.findings));
  const matrix = { declared: [...(options.cells ?? [])], executed: [] as string[] };
  const host: CertificationDocument["host"] = { id: options.host.id, entryPointGroup: options.host.entryPointGroup };
  if (options.host.version !== undefined) host.version = options.host.version;
  return {
    schemaVersion: 1,
    tool: options.tool ?? harnessIdentity(),
    contract: { version: CONTRACT.version, sha256: CONTRACT.sha256 },
    host,
    generatedAt: (options.now ?? (() => new Date()))().toISOString(),
    subjects: results.map((r) => r.subject),
    matrix,
    findings,
    verdict: deriveVerdict(findings, matrix.declared, matrix.executed),
  };
}

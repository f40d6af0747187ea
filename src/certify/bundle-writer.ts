import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { KeyObject } from "node:crypto";
import { GzipWriter } from "../fixtures/encoding/gzip-writer.ts";
import { TarWriter } from "../fixtures/encoding/tar-writer.ts";
import { entryNameProblem } from "./archive-entry-rules.ts";
import { BUNDLE, CELL_ID, cellLogPath, cellResultsPath, type CellResultsFile, type RunMetaFile } from "./bundle-layout.ts";
import { deriveVerdict, sameFindings, sortFindings, type CertificationDocument, type Finding } from "./certification-document.ts";
import { renderMarkdown } from "./certification-markdown.ts";
import { BundleWriteError } from "./certify-errors.ts";
import { keyIdOf, loadPrivateKey, serializeEnvelope, signEnvelope } from "./dsse-signer.ts";
import { buildStatement } from "./in-toto-statement.ts";
import { renderReproduceGuide } from "./reproduce-guide.ts";
import { formatSha256Sums, sha256Hex } from "./sha256-sums.ts";

/** The results of one cell as a bundle carries them, with its logs (name → content). */
export interface CellResult {
  cell: string;
  findings: Finding[];
  logs?: Record<string, string | Uint8Array>;
}

/** What a bundle's `meta/run.json` adds to the document: the host and the images cells ran on. */
export interface RunMeta {
  host: { id: string; version?: string; entryPointGroup?: string };
  /** Per cell. @default {} */
  images?: Record<string, { id?: string; digest?: string }>;
}

export interface WrittenBundle {
  path: string;
  sha256: string;
  keyId: string;
  files: string[];
}

const json = (value: unknown): Buffer => Buffer.from(`${JSON.stringify(value, null, 2)}\n`, "utf8");

/** The document's findings grouped by cell, one entry per cell with findings or executed. */
export function cellResultsOf(doc: CertificationDocument): CellResult[] {
  const cells = [...new Set([...doc.findings.map((f) => f.cell), ...doc.matrix.executed])].sort();
  return cells.map((cell) => ({ cell, findings: sortFindings(doc.findings.filter((f) => f.cell === cell)) }));
}

/**
 * The bundle's files before sealing. Refuses what `distcheck verify` would refuse: cells whose
 * findings are not the document's, a verdict that does not follow from them, unsafe cell or log names.
 */
export function bundleFiles(doc: CertificationDocument, cells: readonly CellResult[], meta: RunMeta): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const result of cells) {
    if (!CELL_ID.test(result.cell)) throw new BundleWriteError("bundle_inconsistent", `cell id ${JSON.stringify(result.cell)} cannot be a folder name in the bundle; cell ids are letters, digits, '.', '_' and '-'.`);
    const stray = result.findings.find((f) => f.cell !== result.cell);
    if (stray) throw new BundleWriteError("bundle_inconsistent", `cell ${result.cell} carries a finding of cell ${stray.cell} (${stray.checkId}).`);
    const path = cellResultsPath(result.cell);
    if (files.has(path)) throw new BundleWriteError("bundle_inconsistent", `cell ${result.cell} is given twice.`);
    files.set(path, json({ cell: result.cell, findings: sortFindings(result.findings) } satisfies CellResultsFile));
    for (const [name, content] of Object.entries(result.logs ?? {})) {
      const problem = entryNameProblem(name);
      if (problem) throw new BundleWriteError("bundle_inconsistent", `log ${JSON.stringify(name)} of cell ${result.cell} is not a safe file name: ${problem.detail}.`);
      files.set(cellLogPath(result.cell, name), Buffer.from(content));
    }
  }
  const inCells = cells.flatMap((c) => c.findings);
  if (!sameFindings(inCells, doc.findings)) {
    throw new BundleWriteError("bundle_inconsistent", `the cells carry ${inCells.length} findings, the document ${doc.findings.length}, and they differ; pass cellResultsOf(doc) or the cells the document was built from.`);
  }
  const derived = deriveVerdict(doc.findings, doc.matrix.declared, doc.matrix.executed);
  if (derived !== doc.verdict) throw new BundleWriteError("bundle_inconsistent", `the document records ${doc.verdict}, its findings and matrix give ${derived}.`);

  files.set(BUNDLE.document, json(doc));
  files.set(BUNDLE.markdown, Buffer.from(renderMarkdown(doc), "utf8"));
  files.set(BUNDLE.reproduce, Buffer.from(renderReproduceGuide(doc), "utf8"));
  const run: RunMetaFile = { harness: doc.tool, contract: doc.contract, host: meta.host, matrix: doc.matrix, images: meta.images ?? {}, generatedAt: doc.generatedAt };
  files.set(BUNDLE.run, json(run));
  return files;
}

/**
 * Adds `SHA256SUMS` over every file and the DSSE envelope of the in-toto statement whose subjects
 * are the artifacts and SHA256SUMS. `artifacts` defaults to the document's subjects.
 */
export function sealBundle(files: ReadonlyMap<string, Buffer>, doc: CertificationDocument, privateKey: KeyObject, artifacts = doc.subjects): Map<string, Buffer> {
  const sealed = new Map(files);
  sealed.delete(BUNDLE.sums);
  sealed.delete(BUNDLE.attestation);
  const sums = Buffer.from(formatSha256Sums(sealed), "utf8");
  sealed.set(BUNDLE.sums, sums);
  const statement = buildStatement({ ...doc, subjects: artifacts }, sha256Hex(sums));
  sealed.set(BUNDLE.attestation, Buffer.from(serializeEnvelope(signEnvelope(Buffer.from(JSON.stringify(statement), "utf8"), privateKey)), "utf8"));
  return sealed;
}

/** A reproducible .tar.gz: names sorted, regular files only, mode 0644, mtime and uid/gid 0, fixed gzip header. */
export function packBundle(files: ReadonlyMap<string, Uint8Array>): Buffer {
  const gzip = new GzipWriter();
  const tar = new TarWriter(gzip);
  for (const name of [...files.keys()].sort()) tar.add({ name, type: "file", mode: 0o644, content: files.get(name)! });
  tar.end();
  return gzip.end();
}

/** The signed bundle's bytes; the key is loaded first, so a bad key fails before any work. */
export function buildBundle(doc: CertificationDocument, cells: readonly CellResult[], meta: RunMeta, signKeyPem: string | Buffer): { bytes: Buffer; keyId: string; files: string[] } {
  const key = loadPrivateKey(signKeyPem);
  const sealed = sealBundle(bundleFiles(doc, cells, meta), doc, key);
  return { bytes: packBundle(sealed), keyId: keyIdOf(key), files: [...sealed.keys()].sort() };
}

/**
 * Builds the bundle in memory and only then writes it, through a temporary file renamed into place:
 * a bad key or an inconsistent document leaves nothing at `outPath` or in its folder.
 */
export async function writeBundle(doc: CertificationDocument, cells: readonly CellResult[], meta: RunMeta, signKeyPem: string | Buffer, outPath: string): Promise<WrittenBundle> {
  const built = buildBundle(doc, cells, meta, signKeyPem);
  const temporary = `${outPath}.partial-${process.pid}`;
  try {
    await mkdir(dirname(outPath), { recursive: true });
    await writeFile(temporary, built.bytes);
    await rename(temporary, outPath);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new BundleWriteError("bundle_write_failed", `cannot write the bundle to ${outPath}: ${(error as Error).message}. Check that the folder is writable and has space.`, { cause: error });
  }
  return { path: outPath, sha256: sha256Hex(built.bytes), keyId: built.keyId, files: built.files };
}

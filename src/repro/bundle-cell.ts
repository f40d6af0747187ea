import { readFileSync } from "node:fs";
import { BundleVerificationError, verifyBundle } from "../certify/index.ts";
import { readBundle } from "../certify/bundle-reader.ts";
import { BUNDLE, cellResultsPath, type CellResultsFile, type RunMetaFile } from "../certify/bundle-layout.ts";
import type { CertificationDocument, Finding } from "../certify/certification-document.ts";
import type { CellIdentity } from "../report/test-identity.ts";
import type { TestRecordError } from "../report/test-record.ts";
import type { PlatformId } from "../platform/platforms.ts";
import { ReproInputError } from "./repro-errors.ts";

/** One test of a bundle cell, from its findings' evidence (a test with several clauses has one finding each). */
export interface BundleTest {
  key: string;
  file: string;
  /** What vitest matches `-t` against: the key after `#`. */
  fullName: string;
  name: string;
  suite: string;
  state: string;
  errors: TestRecordError[];
}

/** A cell of a verified sign-off bundle (`distcheck run --bundle`), as `distcheck repro --bundle` replays it. */
export interface BundleCell {
  cell: CellIdentity;
  host: { id: string; version?: string };
  /** The image id meta/run.json names for the cell. */
  imageId?: string;
  tests: BundleTest[];
  /** `fail` when a test of the cell failed, else `pass` (a harness error is `harness-error`). */
  verdict: CellVerdict;
}

export type CellVerdict = "pass" | "fail" | "harness-error";

/** A cell's verdict from its tests' states: any failure fails it. */
export function cellVerdict(states: ReadonlyArray<{ state: string; harness?: boolean }>): CellVerdict {
  if (states.some((s) => s.state === "failed" && !s.harness)) return "fail";
  if (states.some((s) => s.state === "failed")) return "harness-error";
  return "pass";
}

export const json = <T>(files: Map<string, Buffer>, name: string): T => JSON.parse(files.get(name)!.toString("utf8")) as T;

/** A bundle whose signature and SHA256SUMS the signer's key verified: its files and its document. */
export interface VerifiedBundleFiles {
  files: Map<string, Buffer>;
  document: CertificationDocument;
  /** True for a sign-off bundle of `distcheck run --bundle` (its subject is the host's source). */
  isRun: boolean;
}

/**
 * Reads and verifies a bundle with the signer's key before anything else (any failure is
 * `bundle_invalid`, with the verifier's code): a bundle that does not verify names nothing to replay.
 */
export function openVerifiedBundle(bundlePath: string, keyPath: string): VerifiedBundleFiles {
  let bytes: Buffer;
  let key: Buffer;
  try {
    bytes = readFileSync(bundlePath);
    key = readFileSync(keyPath);
  } catch (error) {
    throw new ReproInputError("bundle_invalid", `Cannot read ${(error as NodeJS.ErrnoException).path ?? bundlePath} (${(error as NodeJS.ErrnoException).code}). Give the bundle (.tar.gz) and the signer's public key (PEM) with --key.`, { cause: error });
  }
  try {
    verifyBundle(bytes, key);
  } catch (error) {
    if (!(error instanceof BundleVerificationError)) throw error;
    throw new ReproInputError("bundle_invalid", `${bundlePath} does not verify [${error.code}]: ${error.message} A bundle that does not verify names nothing to replay; check it with \`distcheck verify ${bundlePath} --key ${keyPath}\`.`, { cause: error });
  }
  const files = readBundle(bytes);
  const document = json<CertificationDocument>(files, BUNDLE.document);
  return { files, document, isRun: document.subjects.some((s) => s.kind === "host-source") };
}

/** The matrix cells a bundle has results for (`cells/<platform>.<base>.<host>/results.json`). */
export function bundleCells(files: Map<string, Buffer>): string[] {
  return [...files.keys()].flatMap((f) => /^cells\/([^/]+)\/results\.json$/.exec(f)?.[1] ?? []).filter((c) => c.split(".").length === 3);
}

/** The cell's findings; `cell_not_found` naming the bundle's cells when it has none for it. */
export function cellFindings(bundle: VerifiedBundleFiles, bundlePath: string, cellId: string): Finding[] {
  if (!bundle.files.has(cellResultsPath(cellId))) {
    throw new ReproInputError("cell_not_found", `${bundlePath} has no cell ${cellId}; its cells: ${bundleCells(bundle.files).join(", ") || "none"}. Pass one with --cell.`);
  }
  return json<CellResultsFile>(bundle.files, cellResultsPath(cellId)).findings;
}

/**
 * Verifies a sign-off bundle (`distcheck run --bundle`) and reads the cell: its tests from the
 * findings' evidence, the host and the image id. A cell the bundle lacks is `cell_not_found`; a
 * bundle of an artifact certification (`distcheck certify`) is replayed by replayCertificationCell.
 */
export function openBundleCell(bundlePath: string, keyPath: string, cellId: string): BundleCell {
  const bundle = openVerifiedBundle(bundlePath, keyPath);
  const { files, document: doc } = bundle;
  if (!bundle.isRun) {
    throw new ReproInputError("repro_usage", `${bundlePath} certifies an artifact (distcheck certify), not a host run: give the artifact it certifies with --artifact FILE to replay its cell.`);
  }
  const findings = cellFindings(bundle, bundlePath, cellId);
  const meta = json<RunMetaFile>(files, BUNDLE.run);
  const [platform, base, host] = cellId.split(".") as [PlatformId, string, string];
  const tests = new Map<string, BundleTest>();
  for (const f of findings) {
    const test = testOf(f);
    if (test && !tests.has(test.key)) tests.set(test.key, test);
  }
  const list = [...tests.values()];
  const harness = new Set(findings.filter((f) => f.status === "harness-error").map((f) => (f.evidence as { test?: string }).test));
  return {
    cell: { id: cellId, platform, base, host },
    host: { id: doc.host?.id ?? host, version: doc.host?.version },
    imageId: meta.images[cellId]?.id,
    tests: list,
    verdict: cellVerdict(list.map((t) => ({ state: t.state, harness: harness.has(t.key) }))),
  };
}

function testOf(f: Finding): BundleTest | undefined {
  const e = f.evidence as { test?: string; suite?: string; state?: string; errors?: TestRecordError[] };
  if (typeof e.test !== "string" || !e.test.includes("#")) return undefined;
  const [file, fullName] = [e.test.slice(0, e.test.indexOf("#")), e.test.slice(e.test.indexOf("#") + 1)];
  return { key: e.test, file, fullName, name: f.title, suite: e.suite ?? "", state: e.state ?? "unknown", errors: e.errors ?? [] };
}

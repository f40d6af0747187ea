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

const json = <T>(files: Map<string, Buffer>, name: string): T => JSON.parse(files.get(name)!.toString("utf8")) as T;

/**
 * Verifies the bundle with the signer's key first (any failure is `bundle_invalid`, with the
 * verifier's code), then reads the cell: its tests from the findings' evidence, the host and the
 * image id. A cell the bundle lacks is `cell_not_found`; a bundle of an artifact certification
 * (`distcheck certify`) has no test per finding and is refused as usage.
 */
export function openBundleCell(bundlePath: string, keyPath: string, cellId: string): BundleCell {
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
  const doc = json<CertificationDocument>(files, BUNDLE.document);
  if (!doc.subjects.some((s) => s.kind === "host-source")) {
    throw new ReproInputError("repro_usage", `${bundlePath} certifies an artifact (distcheck certify), not a host run: --bundle replays the cells of a sign-off bundle of \`distcheck run --bundle\`.`);
  }
  const cells = [...files.keys()].flatMap((f) => /^cells\/([^/]+)\/results\.json$/.exec(f)?.[1] ?? []).filter((c) => c.split(".").length === 3);
  if (!files.has(cellResultsPath(cellId))) {
    throw new ReproInputError("cell_not_found", `${bundlePath} has no cell ${cellId}; its cells: ${cells.join(", ") || "none"}. Pass one with --cell.`);
  }
  const findings = json<CellResultsFile>(files, cellResultsPath(cellId)).findings;
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

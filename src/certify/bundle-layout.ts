import type { CertificationMatrix, Finding, ToolIdentity } from "./certification-document.ts";

/** File names inside a certification bundle; writer and verifier share them. */
export const BUNDLE = {
  document: "certification.json",
  markdown: "certification.md",
  run: "meta/run.json",
  reproduce: "REPRODUCE.md",
  sums: "SHA256SUMS",
  attestation: "attestation.dsse.json",
} as const;

/** Files every bundle's SHA256SUMS must list. */
export const REQUIRED_LISTED = [BUNDLE.document, BUNDLE.markdown, BUNDLE.run, BUNDLE.reproduce] as const;

/** Cell ids are folder names in the bundle: `static` or `<platform>.<base>.<host>`. */
export const CELL_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function cellResultsPath(cell: string): string {
  return `cells/${cell}/results.json`;
}

export function cellLogPath(cell: string, name: string): string {
  return `cells/${cell}/logs/${name}`;
}

/** `cells/<cell>/results.json`: the findings of one cell. */
export interface CellResultsFile {
  cell: string;
  findings: Finding[];
}

/** `meta/run.json`: what ran, for whom, with what. */
export interface RunMetaFile {
  harness: ToolIdentity;
  contract: { version: string; sha256: string };
  host: { id: string; version?: string; entryPointGroup?: string };
  matrix: CertificationMatrix;
  /** Per cell: the image ids and digests it ran on (empty for a static-only certification). */
  images: Record<string, { id?: string; digest?: string }>;
  generatedAt: string;
}

import { BUNDLE, REQUIRED_LISTED, type CellResultsFile } from "./bundle-layout.ts";
import { readBundle } from "./bundle-reader.ts";
import { deriveVerdict, sameFindings, VERDICTS, type CertificationDocument, type Finding, type Verdict } from "./certification-document.ts";
import { BundleVerificationError } from "./certify-errors.ts";
import { keyIdOf, loadPublicKey, parseEnvelope, verifyEnvelope } from "./dsse-signer.ts";
import { STATEMENT_TYPE, SUMS_SUBJECT, TEST_RESULT_PREDICATE, testResultOf, type InTotoStatement, type StatementSubject } from "./in-toto-statement.ts";
import { parseSha256Sums, sha256Hex } from "./sha256-sums.ts";

/** What a bundle that verified says. */
export interface VerifiedBundle {
  verdict: Verdict;
  /** The certified artifacts, as the signed statement names them. */
  subjects: StatementSubject[];
  keyId: string;
  files: string[];
}

const fail = (code: ConstructorParameters<typeof BundleVerificationError>[0], message: string, file?: string): never => {
  throw new BundleVerificationError(code, message, file === undefined ? {} : { file });
};

function parseJson<T>(bytes: Buffer, file: string): T {
  try {
    return JSON.parse(bytes.toString("utf8")) as T;
  } catch (error) {
    // Only reached for files whose digest SHA256SUMS confirmed: the signer wrote something unreadable.
    throw new BundleVerificationError("bundle_unreadable", `${file} is not JSON: ${(error as Error).message}`, { file, cause: error });
  }
}

/**
 * Verifies a certification bundle offline, in this order, and throws at the first problem with a
 * code naming it: the key (`key_unreadable`, `key_not_ed25519`), the container (`bundle_unreadable`),
 * the envelope's signature (`key_mismatch`, `signature_invalid`), the SHA256SUMS subject
 * (`subject_digest_mismatch`), every file against SHA256SUMS (`file_missing`, `file_digest_mismatch`,
 * `file_unlisted`), the artifact subjects against `certification.json` (`subject_digest_mismatch`),
 * and the verdict re-derived from `cells/*\/results.json` and the document's matrix (`verdict_mismatch`).
 * The signature is checked before any file is trusted, so every later check rests on signed digests.
 */
export function verifyBundle(bytes: Buffer, publicKeyPem: string | Buffer): VerifiedBundle {
  const publicKey = loadPublicKey(publicKeyPem);
  const files = readBundle(bytes);
  for (const name of [BUNDLE.attestation, BUNDLE.sums]) if (!files.has(name)) fail("file_missing", `the bundle has no ${name}`, name);

  const payload = verifyEnvelope(parseEnvelope(files.get(BUNDLE.attestation)!), publicKey);
  const statement = parseJson<InTotoStatement>(payload, "the signed statement");
  if (statement._type !== STATEMENT_TYPE || statement.predicateType !== TEST_RESULT_PREDICATE || !Array.isArray(statement.subject) || typeof statement.predicate !== "object") {
    fail("bundle_unreadable", `the signed statement is not an in-toto ${STATEMENT_TYPE} with predicate ${TEST_RESULT_PREDICATE}`);
  }

  const sumsBytes = files.get(BUNDLE.sums)!;
  const sumsSubject = statement.subject.find((s) => s.name === SUMS_SUBJECT);
  if (sumsSubject === undefined) fail("subject_digest_mismatch", `the signed statement has no ${SUMS_SUBJECT} subject, so no file of the bundle is pinned`, BUNDLE.sums);
  if (sumsSubject!.digest?.sha256 !== sha256Hex(sumsBytes)) fail("subject_digest_mismatch", `${BUNDLE.sums} has sha256 ${sha256Hex(sumsBytes)}; the signed statement says ${sumsSubject!.digest?.sha256}`, BUNDLE.sums);
  const sums = parseSha256Sums(sumsBytes.toString("utf8"));
  if (sums === null) return fail("bundle_unreadable", `${BUNDLE.sums} is not in sha256sum format`, BUNDLE.sums);

  for (const [name, digest] of [...sums].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const content = files.get(name);
    if (content === undefined) fail("file_missing", `${name} is listed in ${BUNDLE.sums} but not in the bundle`, name);
    else if (sha256Hex(content) !== digest) fail("file_digest_mismatch", `${name} has sha256 ${sha256Hex(content)}; ${BUNDLE.sums} says ${digest}`, name);
  }
  for (const name of [...files.keys()].sort()) {
    if (name !== BUNDLE.sums && name !== BUNDLE.attestation && !sums.has(name)) fail("file_unlisted", `${name} is in the bundle but not in ${BUNDLE.sums}`, name);
  }
  for (const name of REQUIRED_LISTED) if (!sums.has(name)) fail("file_missing", `the bundle has no ${name}`, name);

  const doc = parseJson<CertificationDocument>(files.get(BUNDLE.document)!, BUNDLE.document);
  if (doc === null || typeof doc !== "object" || !Array.isArray(doc.subjects) || !Array.isArray(doc.findings)) fail("bundle_unreadable", `${BUNDLE.document} is not a certification document`, BUNDLE.document);
  const artifactSubjects = statement.subject.filter((s) => s.name !== SUMS_SUBJECT);
  const key = (s: { name: string; sha256: string }): string => `${s.sha256}  ${s.name}`;
  const signed = artifactSubjects.map((s) => key({ name: s.name, sha256: s.digest?.sha256 })).sort();
  const recorded = doc.subjects.map((s) => key({ name: s.file, sha256: s.sha256 })).sort();
  if (signed.length !== recorded.length || signed.some((s, i) => s !== recorded[i])) {
    fail("subject_digest_mismatch", `the signed statement names the artifacts ${signed.join(", ") || "none"}; ${BUNDLE.document} names ${recorded.join(", ") || "none"}`, BUNDLE.document);
  }

  const findings: Finding[] = [];
  for (const name of [...files.keys()].filter((n) => /^cells\/[^/]+\/results\.json$/.test(n)).sort()) {
    const cell = name.split("/")[1]!;
    const results = parseJson<CellResultsFile>(files.get(name)!, name);
    if (!Array.isArray(results.findings) || results.cell !== cell || results.findings.some((f) => f.cell !== cell)) fail("verdict_mismatch", `${name} holds findings of another cell than ${cell}`, name);
    findings.push(...results.findings);
  }
  if (!sameFindings(findings, doc.findings)) fail("verdict_mismatch", `${BUNDLE.document} lists ${doc.findings.length} findings; cells/*/results.json hold ${findings.length}, and they differ`, BUNDLE.document);
  const matrix = doc.matrix ?? { declared: [], executed: [] };
  const derived = deriveVerdict(findings, matrix.declared ?? [], matrix.executed ?? []);
  if (!VERDICTS.includes(doc.verdict) || derived !== doc.verdict) fail("verdict_mismatch", `${BUNDLE.document} records ${doc.verdict}; its cells' findings and matrix give ${derived}`, BUNDLE.document);
  const predicate = statement.predicate as InTotoStatement["predicate"];
  if (predicate.verdict !== derived || predicate.result !== testResultOf(derived)) fail("verdict_mismatch", `the signed statement records ${predicate.verdict} (${predicate.result}); the cells give ${derived}`, BUNDLE.attestation);

  return { verdict: derived, subjects: artifactSubjects, keyId: keyIdOf(publicKey), files: [...files.keys()].sort() };
}

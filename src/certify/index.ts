// The public entry of certification: static checks, the verdict document, signed bundles and their
// verification. Everything not exported here is internal to src/certify/.

export { certifyStatic, type CertifyHost, type CertifyStaticOptions } from "./static-certifier.ts";
export { writeBundle, buildBundle, cellResultsOf, type CellResult, type RunMeta, type WrittenBundle } from "./bundle-writer.ts";
export { verifyBundle, type VerifiedBundle } from "./bundle-verifier.ts";
export {
  certifyConformanceRun,
  checkBundlePath,
  checkRunBundleRequest,
  hostSourceSubject,
  readSigningKey,
  RUN_CELL,
  RunBundleError,
  sourceTreeDigest,
  type RunBundleHost,
  type RunCertification,
  type RunCertificationInput,
  type SourceTreeDigest,
} from "./run-bundle.ts";
export {
  CERTIFY_EXIT,
  certifyExitCode,
  deriveVerdict,
  STATIC_CELL,
  VERDICTS,
  type CertificationDocument,
  type CertificationMatrix,
  type Finding,
  type FindingStatus,
  type Severity,
  SOURCE_TREE_SKIPPED,
  type Subject,
  type ToolIdentity,
  type Verdict,
} from "./certification-document.ts";
export { renderMarkdown } from "./certification-markdown.ts";
export { classifyArtifact, type ArtifactKind } from "./artifact-kind.ts";
export { checkWheel, WHEEL_CHECKS, type WheelStaticResult } from "./wheel-static-checks.ts";
export { checkArchive, ARCHIVE_CHECKS, type ArchiveStaticResult } from "./archive-static-checks.ts";
export { loadPrivateKey, loadPublicKey, keyIdOf } from "./dsse-signer.ts";
export { ArtifactError, BundleVerificationError, BundleWriteError, SigningKeyError, type BundleVerificationCode } from "./certify-errors.ts";

import { DistcheckError } from "../errors/distcheck-error.ts";

/**
 * Errors of certification and bundle verification, each with a stable code. The CLI maps them to
 * exit codes: artifact errors to 3 (invalid or unreadable artifact), key errors to 2 (usage),
 * verification failures to 1.
 */

/** The artifact to certify is missing, unreadable, or neither a wheel nor an archive. */
export class ArtifactError extends DistcheckError {
  constructor(code: "artifact_missing" | "artifact_unreadable" | "artifact_unrecognised" | "artifact_duplicate", message: string, options?: { cause?: unknown }) {
    super(code, message, { ...options, category: "input" });
    this.name = "ArtifactError";
  }
}

/** A signing or verification key that cannot be read or is not an ed25519 key. */
export class SigningKeyError extends DistcheckError {
  constructor(code: "key_unreadable" | "key_not_ed25519", message: string, options?: { cause?: unknown }) {
    super(code, message, { ...options, category: "input" });
    this.name = "SigningKeyError";
  }
}

/** What `distcheck verify` found broken in a bundle; the code names what broke. */
export type BundleVerificationCode =
  | "bundle_unreadable"
  | "signature_invalid"
  | "key_mismatch"
  | "subject_digest_mismatch"
  | "file_digest_mismatch"
  | "file_unlisted"
  | "file_missing"
  | "verdict_mismatch";

export class BundleVerificationError extends DistcheckError {
  /** The bundle file the problem is in, when it is about one file. */
  readonly file: string | undefined;

  constructor(code: BundleVerificationCode, message: string, options?: { cause?: unknown; file?: string }) {
    super(code, message, { cause: options?.cause, category: "input" });
    this.name = "BundleVerificationError";
    this.file = options?.file;
  }
}

/** A bundle cannot be written from what it was given (inconsistent cells, an unsafe cell id). */
export class BundleWriteError extends DistcheckError {
  constructor(code: "bundle_inconsistent" | "bundle_write_failed", message: string, options?: { cause?: unknown }) {
    super(code, message, { ...options, category: code === "bundle_write_failed" ? "infrastructure" : "harness" });
    this.name = "BundleWriteError";
  }
}

import { DistcheckError, InfrastructureError } from "../errors/distcheck-error.ts";

/**
 * What `distcheck repro` was asked for does not exist or cannot be named uniquely: the run, the
 * test, the flags. Exit 2; the message lists what does exist.
 */
export class ReproInputError extends DistcheckError {
  constructor(code: "run_not_found" | "test_not_found" | "test_ambiguous" | "repro_usage" | "no_tty" | "bundle_invalid" | "cell_not_found" | "artifact_invalid" | "artifact_mismatch" | "artifact_missing", message: string, options?: { cause?: unknown }) {
    super(code, message, { ...options, category: "input" });
    this.name = "ReproInputError";
  }
}

/**
 * The replay cannot run on what the test ran on: an image the run recorded is gone from the engine
 * (`image_missing`) or is not the one the run used (`image_differs`), or a try did not run the test
 * at all (`test_not_run`). Exit 3; the message says how to rebuild.
 */
export class ReproEnvironmentError extends InfrastructureError {
  constructor(code: "image_missing" | "image_differs" | "test_not_run" | "certification_incomplete", message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "ReproEnvironmentError";
  }
}

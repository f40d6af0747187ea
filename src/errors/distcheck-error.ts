/**
 * Who is at fault, decided where the error is thrown:
 * - `product`: the host under test broke the contract (never became ready, never reached a state
 *   it must reach); a mutant counts as killed only by these and by assertions about the host.
 * - `harness`: distcheck itself (a suite's setup, a bug, an impossible state).
 * - `infrastructure`: the machine (Docker engine, qemu binfmt, image build, disk).
 * - `input`: what the user gave (matrix, filters, declarations, artifacts, options).
 *
 * The CLI exits 2 for `input`, 3 for `infrastructure` and 1 otherwise; a test report files
 * `product`, `harness` and `infrastructure` failures under those names and `input` under harness.
 */
export type ErrorCategory = "product" | "harness" | "infrastructure" | "input";

/** Every category, for code that reads one back from a serialized error. */
export const ERROR_CATEGORIES: readonly ErrorCategory[] = ["product", "harness", "infrastructure", "input"];

/**
 * Every error the harness raises on purpose carries a stable `code` (for scripts, reports and
 * categories) and a message that states the fact with measured values and then what to do.
 * Only the CLI decides how to print them.
 */
export class DistcheckError extends Error {
  /** Stable machine-readable code, e.g. `matrix_invalid`. */
  readonly code: string;
  /** Which category a report files this under. @default "harness" */
  readonly category: ErrorCategory;

  constructor(code: string, message: string, options?: { cause?: unknown; category?: ErrorCategory }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "DistcheckError";
    this.code = code;
    this.category = options?.category ?? "harness";
  }
}

/** The matrix file is missing, not JSON, or does not follow the schema. */
export class MatrixError extends DistcheckError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("matrix_invalid", message, { ...options, category: "input" });
    this.name = "MatrixError";
  }
}

/** An image recipe is missing or malformed. */
export class RecipeError extends DistcheckError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("recipe_invalid", message, { ...options, category: "input" });
    this.name = "RecipeError";
  }
}

/** The Docker engine, qemu or another machine prerequisite is unavailable. */
export class InfrastructureError extends DistcheckError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, { ...options, category: "infrastructure" });
    this.name = "InfrastructureError";
  }
}

/** Building an image failed (debootstrap, docker load, registry pull). */
export class ImageBuildError extends DistcheckError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("image_build_failed", message, { ...options, category: "infrastructure" });
    this.name = "ImageBuildError";
  }
}

/** A container did not start or is not what the cell asked for (architecture, Python). */
export class ContainerError extends DistcheckError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, { ...options, category: "infrastructure" });
    this.name = "ContainerError";
  }
}

export function isDistcheckError(error: unknown): error is DistcheckError {
  return error instanceof DistcheckError;
}

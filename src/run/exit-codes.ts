import type { ErrorCategory } from "../errors/distcheck-error.ts";

/** Exit codes of distcheck's commands, documented in `distcheck run --help`. */
export const EXIT = { ok: 0, failed: 1, input: 2, infrastructure: 3, interrupted: 130 } as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The exit code for an error of this category: 2 for input, 3 for infrastructure, 1 otherwise. */
export function exitCodeOf(category: ErrorCategory): ExitCode {
  return category === "input" ? EXIT.input : category === "infrastructure" ? EXIT.infrastructure : EXIT.failed;
}

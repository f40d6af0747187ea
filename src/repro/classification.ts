import type { TestRecordError } from "../report/test-record.ts";

/** What one try of a replay saw. */
export interface TryOutcome {
  /** 1-based. */
  n: number;
  state: "passed" | "failed" | "skipped";
  /** A failed try failed as the recorded run did (same error signature); absent when the try passed. */
  sameFailure?: boolean;
  /** The test's own duration, as vitest measured it. */
  durationMs: number;
  /** The whole try: vitest's start, global setup (timing probe), the cell's host boot, the test, teardown. */
  wallMs: number;
  /** The timing factor the try measured for the cell's platform (its timing tolerances were multiplied by it). */
  timingFactor?: number;
  errors: TestRecordError[];
  /** Fixture files whose bytes differ from the recorded run's (empty: the same bytes); absent when the run recorded none. */
  fixtureDifferences?: string[];
}

/**
 * fails_every_time: every try failed; flaky: some did (k of N); does_not_reproduce: none did.
 * A try is run once, never retried: a retry would hide exactly the flakiness this measures.
 */
export type Classification = "fails_every_time" | "flaky" | "does_not_reproduce";

export interface Verdict {
  classification: Classification;
  failed: number;
  of: number;
  /** Of the failed tries, those that failed as the recorded run did. */
  sameWay: number;
}

export function classify(tries: readonly TryOutcome[]): Verdict {
  const failed = tries.filter((t) => t.state === "failed").length;
  const sameWay = tries.filter((t) => t.state === "failed" && t.sameFailure).length;
  const classification: Classification = tries.length > 0 && failed === tries.length ? "fails_every_time" : failed > 0 ? "flaky" : "does_not_reproduce";
  return { classification, failed, of: tries.length, sameWay };
}

/** The verdict in words: `fails every time (3 of 3)`, `flaky (1 of 3)`, `does not reproduce (0 of 3)`. */
export function verdictText(v: Verdict): string {
  const words = { fails_every_time: "fails every time", flaky: "flaky", does_not_reproduce: "does not reproduce" }[v.classification];
  return `${words} (${v.failed} of ${v.of} failed${v.failed > 0 ? `, ${v.sameWay} the same way as recorded` : ""})`;
}

/**
 * What makes two failures "the same": the first error's stable code when it has one, else its name
 * and first line with every number and hex run masked (pids, ports, durations, ids differ per try).
 */
export function failureSignature(errors: readonly TestRecordError[]): string {
  const first = errors[0];
  if (!first) return "";
  if (first.code) return `code:${first.code}`;
  const line = (first.message.split("\n")[0] ?? "").replace(/\b[0-9a-f]{8,}\b/gi, "<hex>").replace(/\d+(\.\d+)?/g, "#");
  return `${first.name ?? "Error"}: ${line.slice(0, 300)}`;
}

/** Exit codes of `distcheck repro`: 1 when a try failed (every time or flaky), 0 when none did. */
export function exitCodeOfVerdicts(verdicts: readonly Verdict[]): 0 | 1 {
  return verdicts.some((v) => v.failed > 0) ? 1 : 0;
}

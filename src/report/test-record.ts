import type { ErrorCategory } from "../errors/distcheck-error.ts";
import type { CellIdentity } from "./test-identity.ts";

/** What distcheck's vitest reporter records per test, beside the Allure result of the same test. */
export interface TestRecord {
  key: string;
  file: string;
  suite: string;
  suitePath: string[];
  name: string;
  clauses: string[];
  cell?: CellIdentity;
  state: "passed" | "failed" | "skipped" | "pending";
  /** Why a test that was meant to run was not (its cell's host never became ready); absent on deliberate skips. */
  skipReason?: string;
  durationMs: number;
  /** Epoch milliseconds when the test ended (its start plus its duration, or when it was reported). */
  endedAt?: number;
  errors: TestRecordError[];
  attachments: Array<{ name: string; contentType: string; body: string }>;
}

/** One error of a failed test, as vitest serialized it. */
export interface TestRecordError {
  message: string;
  stack?: string;
  name?: string;
  /** The error's stable code, when it has one (every DistcheckError; Node's system errors too). */
  code?: string;
  /** Whose fault, as the code that threw it decided (DistcheckError.category); absent on other errors. */
  category?: ErrorCategory;
}

export const RECORDS_DIR = "distcheck";

/** Prefix of the file (one per vitest process) with the errors no test record carries. */
export const RUN_ERRORS_FILE = "run-errors";

/** Errors of a run outside its tests: suite files that did not load or registered nothing, unhandled errors. */
export interface RunErrors {
  modules: Array<{ file: string; messages: string[] }>;
  unhandled: string[];
}

/** An attachment a failing test carries in its task meta (`distcheckAttachments`). */
export interface FailureAttachment {
  name: string;
  contentType: string;
  body: string;
}

/**
 * The first boot of a cell whose host never became ready, as every later boot of the cell learns it
 * (`src/run/cell-health.ts`) and as the error that stops those boots carries it to the reporter: the
 * one failure of the cell (HST-02) the reporter records, whichever affected test reports it first.
 */
export interface NeverReadyFailure {
  cellId: string;
  /** The failure record's identity: the file whose boot failed first, a describe naming the cell, its HST-02 title. */
  key: string;
  file: string;
  suitePath: string[];
  name: string;
  /** Why the boot failed, in the boot's own words (the bound and the timing factor). */
  message: string;
  stack?: string;
  /** The host's log of that boot (its tail). */
  log: string;
  /** What every other test of the cell is reported with: it was not run, and why. */
  reason: string;
  /** When the boot gave up (ISO time). */
  at: string;
}

/** The code of the error a boot throws when its cell's host never became ready in an earlier boot. */
export const CELL_NEVER_READY_CODE = "cell_host_never_ready";

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

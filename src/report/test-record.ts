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
  errors: Array<{ message: string; stack?: string; name?: string }>;
  attachments: Array<{ name: string; contentType: string; body: string }>;
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

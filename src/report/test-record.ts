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

/** An attachment a failing test carries in its task meta (`distcheckAttachments`). */
export interface FailureAttachment {
  name: string;
  contentType: string;
  body: string;
}

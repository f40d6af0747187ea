import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Reporter, SerializedError, TestCase, TestModule } from "vitest/node";
import { cellOf, clauseIdsOf, suiteOf, testId, testKey } from "./test-identity.ts";
import { ERROR_CATEGORIES, type ErrorCategory } from "../errors/distcheck-error.ts";
import { RECORDS_DIR, RUN_ERRORS_FILE, type FailureAttachment, type RunErrors, type TestRecord, type TestRecordError } from "./test-record.ts";

/**
 * Writes one record per finished test: its clause ids and cell (derived from its own title and
 * describe names, so concurrent tests can never swap them), its errors, and the attachments its
 * annotations carry. `distcheck report` merges these into the Allure results.
 */
export default class DistcheckVitestReporter implements Reporter {
  private readonly dir: string;
  private readonly root = process.cwd();

  constructor(options: { resultsDir: string }) {
    this.dir = path.resolve(options.resultsDir, RECORDS_DIR);
    mkdirSync(this.dir, { recursive: true });
  }

  onTestCaseResult(testCase: TestCase): void {
    const suitePath: string[] = [];
    for (let p = testCase.parent; p.type === "suite"; p = p.parent) suitePath.unshift(p.name);
    const file = path.relative(this.root, testCase.module.moduleId);
    const result = testCase.result();
    // A test that was selected to run but was skipped because a beforeAll of its suite (or its
    // module) failed did not pass: it fails with that hook's error, so a host that cannot even be
    // set up for a clause fails the clause instead of vanishing from it.
    const hookErrors = result.state === "skipped" && testCase.options.mode === "run" ? setupErrorsOf(testCase) : [];
    const state = hookErrors.length > 0 ? "failed" : result.state;
    const errors = hookErrors.length > 0 ? hookErrors : (result.errors ?? []);
    const record: TestRecord = {
      key: testKey(file, suitePath, testCase.name),
      file,
      suite: suiteOf(file),
      suitePath,
      name: testCase.name,
      clauses: clauseIdsOf(testCase.name),
      cell: cellOf(suitePath),
      state,
      durationMs: testCase.diagnostic()?.duration ?? 0,
      errors: errors.map(errorRecord),
      attachments: [
        ...((testCase.meta() as { distcheckAttachments?: FailureAttachment[] }).distcheckAttachments ?? []),
        ...testCase
        .annotations()
        .filter((a) => a.attachment)
        .map((a) => ({
          name: a.message,
          contentType: a.attachment!.contentType ?? "text/plain",
          body: a.attachment!.path
            ? readFileSync(a.attachment!.path, "utf8")
            : typeof a.attachment!.body === "string"
              ? a.attachment!.bodyEncoding === "utf-8"
                ? a.attachment!.body
                : Buffer.from(a.attachment!.body, "base64").toString("utf8")
              : Buffer.from(a.attachment!.body ?? "").toString("utf8"),
        })),
      ],
    };
    const id = testId(record.key);
    writeFileSync(path.join(this.dir, `${id}.json`), JSON.stringify(record));
  }

  /**
   * Errors no test record carries: a suite file that failed to load or registered nothing, and
   * errors outside any test. The report's gate fails on them, so a run whose tests all passed (or
   * failed under waivers) is not taken for a complete one when a suite never ran.
   */
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>): void {
    const errors: RunErrors = {
      modules: testModules
        .filter((m) => m.errors().length > 0)
        .map((m) => ({ file: path.relative(this.root, m.moduleId), messages: m.errors().map((e) => e.message) })),
      unhandled: unhandledErrors.map((e) => e.message),
    };
    writeFileSync(path.join(this.dir, `${RUN_ERRORS_FILE}-${process.pid}.json`), JSON.stringify(errors));
  }
}

/**
 * What a record keeps of a serialized error. vitest's serialization keeps an error's own
 * properties, so a DistcheckError arrives with the `code` and `category` set where it was thrown;
 * the report's failure categories come from those, never from the message.
 */
export function errorRecord(error: SerializedError): TestRecordError {
  const record: TestRecordError = { message: error.message, stack: error.stack, name: error.name };
  if (typeof error.code === "string") record.code = error.code;
  if (ERROR_CATEGORIES.includes(error.category as ErrorCategory)) record.category = error.category as ErrorCategory;
  return record;
}

/** Errors of the nearest enclosing suite or module whose setup failed, none when they all ran. */
function setupErrorsOf(testCase: TestCase): ReadonlyArray<SerializedError> {
  for (let p: TestCase["parent"] = testCase.parent; ; p = p.parent) {
    const errors = p.errors();
    if (errors.length > 0) return errors.map((e) => ({ ...e, message: `in the setup of ${p.type === "suite" ? `"${p.name}"` : p.moduleId}: ${e.message}` }));
    if (p.type === "module") return [];
  }
}

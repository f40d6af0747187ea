import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Reporter, SerializedError, TestCase, TestModule } from "vitest/node";
import { cellOf, clauseIdsOf, suiteOf, testId, testKey } from "./test-identity.ts";
import { ERROR_CATEGORIES, type ErrorCategory } from "../errors/distcheck-error.ts";
import { CELL_NEVER_READY_CODE, RECORDS_DIR, RUN_ERRORS_FILE, type FailureAttachment, type NeverReadyFailure, type RunErrors, type TestRecord, type TestRecordError } from "./test-record.ts";

/**
 * Writes one record per finished test: its clause ids and cell (derived from its own title and
 * describe names, so concurrent tests can never swap them), its errors, and the attachments its
 * annotations carry. `distcheck report` merges these into the Allure results.
 */
export default class DistcheckVitestReporter implements Reporter {
  private readonly dir: string;
  private readonly resultsDir: string;
  private readonly root = process.cwd();
  /** Cells whose one never-ready failure this process has recorded. */
  private readonly neverReadyRecorded = new Set<string>();

  constructor(options: { resultsDir: string }) {
    this.resultsDir = path.resolve(options.resultsDir);
    this.dir = path.resolve(options.resultsDir, RECORDS_DIR);
    mkdirSync(this.dir, { recursive: true });
  }

  onTestCaseResult(testCase: TestCase): void {
    this.record(testCase);
  }

  /**
   * Records again the tests of the module that vitest skipped although they were to run. In a
   * concurrent suite whose setup failed, vitest can report the first such test before the suite
   * carries the setup's error: recorded then, it would read as a deliberate skip.
   */
  onTestModuleEnd(testModule: TestModule): void {
    for (const testCase of testModule.children.allTests("skipped")) if (testCase.options.mode === "run") this.record(testCase);
  }

  private record(testCase: TestCase): void {
    const suitePath: string[] = [];
    for (let p = testCase.parent; p.type === "suite"; p = p.parent) suitePath.unshift(p.name);
    const file = path.relative(this.root, testCase.module.moduleId);
    const result = testCase.result();
    // A test that was selected to run but was skipped because a beforeAll of its suite (or its
    // module) failed did not pass: it fails with that hook's error, so a host that cannot even be
    // set up for a clause fails the clause instead of vanishing from it.
    const hookErrors = result.state === "skipped" && testCase.options.mode === "run" ? setupErrorsOf(testCase) : [];
    // A test stopped because its cell's host never became ready (in its own boot or an earlier one)
    // was not run: skipped with the reason, and the cell's one failure is recorded apart (HST-02).
    const neverReady = [...hookErrors, ...(result.errors ?? [])].map(neverReadyOf).find((f) => f !== undefined);
    if (neverReady) this.recordNeverReady(neverReady);
    const state = neverReady ? "skipped" : hookErrors.length > 0 ? "failed" : result.state;
    const errors = neverReady ? [] : hookErrors.length > 0 ? hookErrors : (result.errors ?? []);
    const diagnostic = testCase.diagnostic();
    const record: TestRecord = {
      key: testKey(file, suitePath, testCase.name),
      file,
      suite: suiteOf(file),
      suitePath,
      name: testCase.name,
      clauses: clauseIdsOf(testCase.name),
      cell: cellOf(suitePath),
      state,
      ...(neverReady ? { skipReason: neverReady.reason } : {}),
      durationMs: diagnostic?.duration ?? 0,
      endedAt: diagnostic ? Math.round(diagnostic.startTime + diagnostic.duration) : Date.now(),
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
    this.writeRecord(record);
  }

  private writeRecord(record: TestRecord): void {
    const id = testId(record.key);
    writeFileSync(path.join(this.dir, `${id}.json`), JSON.stringify(record));
  }

  /**
   * The one failure of a cell whose host never became ready: HST-02 in that cell, a product failure
   * with the boot's message and host log, named after the suite file whose boot gave up first. Its
   * key comes from the cell's marker, so every test stopped by it (any file, any vitest process)
   * names the same record: one failure per cell. An Allure result goes with it, so the report shows
   * it like any test.
   */
  private recordNeverReady(f: NeverReadyFailure): void {
    if (this.neverReadyRecorded.has(f.cellId)) return;
    this.neverReadyRecorded.add(f.cellId);
    const error: TestRecordError = { message: f.message, stack: f.stack, name: "HostBootError", code: "host_boot_failed", category: "product" };
    this.writeRecord({
      key: f.key,
      file: f.file,
      suite: suiteOf(f.file),
      suitePath: f.suitePath,
      name: f.name,
      clauses: clauseIdsOf(f.name),
      cell: cellOf(f.suitePath),
      state: "failed",
      durationMs: 0,
      // When the boot gave up: an engine outage after it does not make it the machine's.
      endedAt: Date.parse(f.at),
      errors: [error],
      attachments: [{ name: `host log (${f.cellId})`, contentType: "text/plain", body: f.log }],
    });
    const uuid = createHash("sha256").update(`never-ready\0${f.key}`).digest("hex").slice(0, 32);
    const at = Date.parse(f.at);
    writeFileSync(path.join(this.resultsDir, `${uuid}-result.json`), JSON.stringify({
      uuid,
      historyId: createHash("md5").update(f.key).digest("hex"),
      name: f.name,
      fullName: `distcheck:${f.key}`,
      status: "failed",
      statusDetails: { message: f.message, trace: f.stack },
      stage: "finished",
      start: at,
      stop: at,
      labels: [{ name: "parentSuite", value: f.suitePath[0] }],
      parameters: [],
      attachments: [],
      steps: [],
    }));
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

/** The never-ready failure an error of a test carries (CellNeverReadyError, src/run/cell-health.ts), if it does. */
function neverReadyOf(error: SerializedError): NeverReadyFailure | undefined {
  if (error.code !== CELL_NEVER_READY_CODE) return undefined;
  const f = (error as { neverReady?: NeverReadyFailure }).neverReady;
  return f && typeof f.key === "string" && typeof f.cellId === "string" ? f : undefined;
}

/** Errors of the nearest enclosing suite or module whose setup failed, none when they all ran. */
function setupErrorsOf(testCase: TestCase): ReadonlyArray<SerializedError> {
  for (let p: TestCase["parent"] = testCase.parent; ; p = p.parent) {
    const errors = p.errors();
    if (errors.length > 0) return errors.map((e) => ({ ...e, message: `in the setup of ${p.type === "suite" ? `"${p.name}"` : p.moduleId}: ${e.message}` }));
    if (p.type === "module") return [];
  }
}

import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Reporter, TestCase } from "vitest/node";
import { cellOf, clauseIdsOf, suiteOf, testKey } from "./test-identity.ts";
import { RECORDS_DIR, type FailureAttachment, type TestRecord } from "./test-record.ts";

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
    const record: TestRecord = {
      key: testKey(file, suitePath, testCase.name),
      file,
      suite: suiteOf(file),
      suitePath,
      name: testCase.name,
      clauses: clauseIdsOf(testCase.name),
      cell: cellOf(suitePath),
      state: result.state,
      durationMs: testCase.diagnostic()?.duration ?? 0,
      errors: (result.errors ?? []).map((e) => ({ message: e.message, stack: e.stack, name: e.name })),
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
    const id = createHash("sha256").update(record.key).digest("hex").slice(0, 24);
    writeFileSync(path.join(this.dir, `${id}.json`), JSON.stringify(record));
  }
}

import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { RECORDS_DIR, RUN_ERRORS_FILE, type TestRecord } from "../report/test-record.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");

/**
 * Test support: runs one fixture test file (under src/report/__fixtures__) in a child vitest with
 * distcheck's reporter, and allure-vitest's too when asked, writing into `resultsDir`; returns the
 * child's result and the test records the reporter wrote.
 */
export async function runThroughReporter(fixture: string, resultsDir: string, options: { allure?: boolean } = {}) {
  const config = path.join(resultsDir, "vitest.config.mts");
  const reporters = [
    ...(options.allure ? [["allure-vitest/reporter", { resultsDir }]] : []),
    [path.join(ROOT, "src/report/distcheck-vitest-reporter.ts"), { resultsDir }],
  ];
  writeFileSync(config, `export default ${JSON.stringify({ test: { root: ROOT, include: [`src/report/__fixtures__/${fixture}`], reporters } })};\n`);
  const run = await execa("npx", ["vitest", "run", "--config", config], { cwd: ROOT, reject: false, all: true });
  const dir = path.join(resultsDir, RECORDS_DIR);
  const records = readdirSync(dir).filter((f) => !f.startsWith(RUN_ERRORS_FILE)).map((f) => JSON.parse(readFileSync(path.join(dir, f), "utf8")) as TestRecord);
  return { run, records };
}

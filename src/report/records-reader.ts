import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { attributeBinfmtOutages, readBinfmtOutages } from "./binfmt-outages.ts";
import { attributeOutages, readEngineOutages } from "./engine-outages.ts";
import { RECORDS_DIR, RUN_ERRORS_FILE, type RunErrors, type TestRecord } from "./test-record.ts";

/** The files distcheck's reporter wrote under each results directory (shards included). */
function recordFiles(dirs: readonly string[]): string[] {
  return dirs.flatMap((dir) => {
    const recDir = path.join(dir, RECORDS_DIR);
    return existsSync(recDir) ? readdirSync(recDir).map((f) => path.join(recDir, f)) : [];
  });
}

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, "utf8")) as T;
}

/**
 * Every test's record, keyed by test; a test recorded by several shards counts once. A failure
 * after an engine outage the run recorded is attributed to it (src/report/engine-outages.ts), and
 * one that ran while an emulated platform's binfmt registration was off to that (binfmt-outages.ts).
 */
export function readRecords(dirs: readonly string[]): Map<string, TestRecord> {
  const records = new Map<string, TestRecord>();
  for (const dir of dirs) {
    const outages = readEngineOutages(dir);
    const binfmt = readBinfmtOutages(dir);
    for (const file of recordFiles([dir])) {
      const f = path.basename(file);
      if (!f.endsWith(".json") || f === "environment.json" || f.startsWith(RUN_ERRORS_FILE)) continue;
      const r = attributeBinfmtOutages(attributeOutages(readJson<TestRecord>(file), outages), binfmt);
      records.set(r.key, r);
    }
  }
  return records;
}

/** The errors outside tests of every vitest process of the run (shards included). */
export function readRunErrors(dirs: readonly string[]): RunErrors {
  const out: RunErrors = { modules: [], unhandled: [] };
  for (const file of recordFiles(dirs).filter((f) => path.basename(f).startsWith(RUN_ERRORS_FILE))) {
    const e = readJson<RunErrors>(file);
    out.modules.push(...e.modules);
    out.unhandled.push(...e.unhandled);
  }
  return out;
}

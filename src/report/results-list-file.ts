import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

/** Writes a list the run saw (outages) to `file` in the results directory; nothing when it is empty. */
export function writeResultsList(resultsDir: string, file: string, items: readonly unknown[]): void {
  if (items.length > 0) writeFileSync(path.join(resultsDir, file), `${JSON.stringify(items, null, 2)}\n`);
}

/** The list writeResultsList wrote to `file`, or none when the run wrote none. */
export function readResultsList<T>(resultsDir: string, file: string): T[] {
  const at = path.join(resultsDir, file);
  return existsSync(at) ? (JSON.parse(readFileSync(at, "utf8")) as T[]) : [];
}

import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

/** The latest mutation run's score (reports/mutants/latest.json), for the report's environment; none before the first mutation run. */
export function mutationScore(reportsRoot: string): Record<string, string> {
  const file = path.join(reportsRoot, "mutants", "latest.json");
  if (!existsSync(file)) return {};
  const run = JSON.parse(readFileSync(file, "utf8")) as { runId: string; score: { killed: number; total: number } };
  return { "mutation score": `${run.score.killed}/${run.score.total} mutants killed (run ${run.runId})` };
}

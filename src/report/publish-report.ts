import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { DistcheckError } from "../errors/distcheck-error.ts";
import { REQUIRED_CLAUSES } from "./coverage.ts";
import { hostProfiles } from "../hosts/host-profiles.ts";
import { clauseTable } from "./clause-table.ts";
import { buildReport } from "./report-builder.ts";
import type { ReportSummary } from "./report-summary.ts";
import type { Selection } from "../matrix/selection.ts";

/** Where a run's raw results go: reports/<run-id>/results. */
export function resultsDirOf(reportsRoot: string, runId: string): string {
  return path.join(reportsRoot, runId, "results");
}

export interface PublishReportOptions {
  selection: Selection;
  reportsRoot: string;
  runId: string;
  resultsDirs: string[];
  /** Judge only the clauses that ran (a run of part of the matrix). */
  filtered: boolean;
  /** Progress lines while the report builds. */
  progress: (line: string) => void;
  /** The clause x platform table, the totals, the report's path and the gate, as text. */
  out: (text: string) => void;
}

/** Builds the report of a run (or of merged shards) and writes the clause x platform table to `out`. */
export async function publishReport(options: PublishReportOptions): Promise<ReportSummary> {
  const { selection, out } = options;
  const { dir, summary } = await buildReport({
    runId: options.runId,
    resultsDirs: options.resultsDirs,
    reportsRoot: options.reportsRoot,
    // A filtered run is judged on what it ran; the default matrix must cover every required clause.
    requiredClauses: options.filtered ? [] : REQUIRED_CLAUSES,
    platforms: selection.matrix.platforms.map((p) => p.id),
    hosts: hostProfiles(selection.allHosts, selection.cells, selection.root),
    pythonOf: (base) => selection.matrix.bases.find((b) => b.id === base)?.python,
    progress: options.progress,
  });
  out(`\n${clauseTable(summary)}\n\n`);
  out(`${summary.totals.passed} passed, ${summary.totals.failed} failed, ${summary.totals.skipped} skipped\n`);
  if (summary.totals.waived > 0) out(`${summary.totals.waived} failed under waivers (hosts/<id>/waivers.json; each is listed above with the host line that causes it)\n`);
  out(`report: ${path.relative(process.cwd(), path.join(dir, "index.html"))} (also ${path.relative(process.cwd(), path.join(options.reportsRoot, "latest", "index.html"))})\n`);
  for (const p of summary.infrastructure) {
    const scope = p.tests > 0 ? `, ${p.tests} test(s) on ${p.cells.join(", ")}` : "";
    out(`infrastructure (not the host's fault): ${p.code}${scope}:\n  ${p.message.split("\n").slice(0, 6).join("\n  ")}\n`);
  }
  out(summary.gate.passed ? "gate: passed\n" : `gate: FAILED\n  - ${summary.gate.reasons.slice(0, 20).join("\n  - ")}${summary.gate.reasons.length > 20 ? `\n  ... ${summary.gate.reasons.length - 20} more in summary.json` : ""}\n`);
  return summary;
}

function newestRun(reportsRoot: string): string | undefined {
  if (!existsSync(reportsRoot)) return undefined;
  return readdirSync(reportsRoot)
    .filter((d) => existsSync(path.join(reportsRoot, d, "results")))
    .sort((a, b) => statSync(path.join(reportsRoot, b)).mtimeMs - statSync(path.join(reportsRoot, a)).mtimeMs)[0];
}

/**
 * The run a report is built for: shards' results folders joined under a new `merged-<time>` id, the
 * named run, or else the newest run under `reportsRoot` that has results.
 */
export function reportedRun(options: { reportsRoot: string; runId?: string; merge?: string[]; now?: Date }): { runId: string; resultsDirs: string[] } {
  const { reportsRoot } = options;
  if (options.merge?.length) {
    return { runId: `merged-${(options.now ?? new Date()).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}`, resultsDirs: options.merge.map((d) => path.resolve(d)) };
  }
  const runId = options.runId ?? newestRun(reportsRoot);
  if (!runId) throw new DistcheckError("results_missing", `No run with results under ${reportsRoot}. Run \`npm run conformance\` first, or pass --merge DIR... with shard results.`);
  return { runId, resultsDirs: [resultsDirOf(reportsRoot, runId)] };
}

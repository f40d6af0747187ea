import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { DistcheckError } from "../../errors/distcheck-error.ts";
import { REQUIRED_CLAUSES } from "../../report/coverage.ts";
import { hostProfiles } from "../../hosts/host-profiles.ts";
import { buildReport, clauseTable, type ReportSummary } from "../../report/report-builder.ts";
import type { Selection } from "../context.ts";
import { progress, select } from "../context.ts";

/** Where a run's raw results go: reports/<run-id>/results. */
export function resultsDirOf(reportsRoot: string, runId: string): string {
  return path.join(reportsRoot, runId, "results");
}

/** Builds the report of a run (or of merged shards) and prints the clause x platform table. */
export async function publishReport(options: { selection: Selection; reportsRoot: string; runId: string; resultsDirs: string[]; filtered: boolean }): Promise<ReportSummary> {
  const { selection } = options;
  const { dir, summary } = await buildReport({
    runId: options.runId,
    resultsDirs: options.resultsDirs,
    reportsRoot: options.reportsRoot,
    // A filtered run is judged on what it ran; the default matrix must cover every required clause.
    requiredClauses: options.filtered ? [] : REQUIRED_CLAUSES,
    platforms: selection.matrix.platforms.map((p) => p.id),
    hosts: hostProfiles(selection.allHosts, selection.cells, selection.root),
    pythonOf: (base) => selection.matrix.bases.find((b) => b.id === base)?.python,
    progress,
  });
  process.stdout.write(`\n${clauseTable(summary)}\n\n`);
  process.stdout.write(`${summary.totals.passed} passed, ${summary.totals.failed} failed, ${summary.totals.skipped} skipped\n`);
  if (summary.totals.waived > 0) process.stdout.write(`${summary.totals.waived} failed under waivers (hosts/<id>/waivers.json; each is listed above with the host line that causes it)\n`);
  process.stdout.write(`report: ${path.relative(process.cwd(), path.join(dir, "index.html"))} (also ${path.relative(process.cwd(), path.join(options.reportsRoot, "latest", "index.html"))})\n`);
  process.stdout.write(summary.gate.passed ? "gate: passed\n" : `gate: FAILED\n  - ${summary.gate.reasons.slice(0, 20).join("\n  - ")}${summary.gate.reasons.length > 20 ? `\n  ... ${summary.gate.reasons.length - 20} more in summary.json` : ""}\n`);
  return summary;
}

function newestRun(reportsRoot: string): string | undefined {
  if (!existsSync(reportsRoot)) return undefined;
  return readdirSync(reportsRoot)
    .filter((d) => existsSync(path.join(reportsRoot, d, "results")))
    .sort((a, b) => statSync(path.join(reportsRoot, b)).mtimeMs - statSync(path.join(reportsRoot, a)).mtimeMs)[0];
}

export function registerReportCommand(program: Command): void {
  program
    .command("report")
    .description("generate the Allure report, summary.json and junit.xml of a run (default: the newest), or merge shards; exits 1 when the quality gate fails")
    .option("--run-id <id>", "the run whose results to report")
    .option("--merge <dirs...>", "results folders of shards (vitest --shard on several machines) to join into one report")
    .option("--reports <dir>", "reports folder", "reports")
    .option("--matrix <file>", "matrix file (platforms the gate expects)")
    .option("--filtered", "judge only the clauses that ran (for a run of part of the matrix)")
    .addHelpText("after", "\nThe gate passes when every required WHL, ARC and HST clause ran and passed on every platform, and no test failed.")
    .action(async (opts: { runId?: string; merge?: string[]; reports: string; matrix?: string; filtered?: boolean }) => {
      const selection = select({ matrix: opts.matrix });
      const reportsRoot = path.resolve(selection.root, opts.reports);
      let runId: string;
      let resultsDirs: string[];
      if (opts.merge?.length) {
        runId = `merged-${new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}`;
        resultsDirs = opts.merge.map((d) => path.resolve(d));
      } else {
        const found = opts.runId ?? newestRun(reportsRoot);
        if (!found) throw new DistcheckError("results_missing", `No run with results under ${reportsRoot}. Run \`npm run conformance\` first, or pass --merge DIR... with shard results.`);
        runId = found;
        resultsDirs = [resultsDirOf(reportsRoot, runId)];
      }
      const summary = await publishReport({ selection, reportsRoot, runId, resultsDirs, filtered: Boolean(opts.filtered) });
      process.exitCode = summary.gate.passed ? 0 : 1;
    });
}

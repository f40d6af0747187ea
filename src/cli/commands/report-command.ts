import path from "node:path";
import type { Command } from "commander";
import { select } from "../../matrix/selection.ts";
import { publishReport, reportedRun } from "../../report/publish-report.ts";
import { EXIT } from "../../run/exit-codes.ts";
import { out, progress } from "../context.ts";

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
      const { runId, resultsDirs } = reportedRun({ reportsRoot, runId: opts.runId, merge: opts.merge });
      const summary = await publishReport({ selection, reportsRoot, runId, resultsDirs, filtered: Boolean(opts.filtered), progress, out });
      process.exitCode = summary.gate.passed ? EXIT.ok : EXIT.failed;
    });
}

import path from "node:path";
import type { Command } from "commander";
import { runMutation } from "../../mutants/mutation-runner.ts";
import { EXIT } from "../../run/exit-codes.ts";
import { collect, progress } from "../context.ts";

export function registerMutantsCommand(program: Command): void {
  program
    .command("mutants")
    .description("run the suites against reference-host mutants (each breaks one clause) and report killed / survived per clause")
    .option("--matrix <file>", "matrix file")
    .option("--only <name>", "only these mutants (repeatable or comma-separated)", collect)
    .option("--platform <id>", "run every mutant on these platforms (default: linux-x86_64, plus linux-aarch64 for timing mutants)", collect)
    .option("--python <version>", "the base to use, by Python version or base id (default: the first of the matrix)")
    .option("--reports <dir>", "reports folder", "reports")
    .addHelpText(
      "after",
      `
A baseline run of the normal host comes first on each platform: it must pass, or no verdict means anything.
A mutant is killed when a test of its clause fails because of the host (an assertion, not a harness or
infrastructure error). Writes reports/mutants/<run>.json and latest.json; the Allure report shows the score.
Exit code: 0 when every mutant was killed, 1 when one survived or errored.`,
    )
    .action(async (opts: { matrix?: string; only?: string[]; platform?: string[]; python?: string; reports: string }) => {
      const outcome = await runMutation({ ...opts, progress });
      if (outcome.status === "baseline_failed") {
        process.exitCode = EXIT.failed;
        return;
      }
      const { run, file } = outcome;
      process.stdout.write(`\n${"clause".padEnd(8)} killed survived error\n`);
      for (const [clause, row] of Object.entries(run.byClause)) process.stdout.write(`${clause.padEnd(8)} ${String(row.killed).padStart(6)} ${String(row.survived).padStart(8)} ${String(row.error).padStart(5)}\n`);
      for (const v of run.verdicts.filter((x) => x.status !== "killed")) process.stdout.write(`${v.status.toUpperCase()}: ${v.mutant} on ${v.platform}${v.detail ? `: ${v.detail.split("\n")[0]}` : ""}\n`);
      process.stdout.write(`\nmutation score: ${run.score.killed}/${run.score.total} killed; ${path.relative(process.cwd(), file)}\n`);
      process.exitCode = run.score.killed === run.score.total ? EXIT.ok : EXIT.failed;
    });
}

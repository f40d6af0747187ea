import path from "node:path";
import type { Command } from "commander";
import { loadMutants, findMutant, type Mutant } from "../../mutants/mutant-catalog.ts";
import { runJobs, summariseMutation, writeMutationRun, type MutationJob } from "../../mutants/mutation-runner.ts";
import { collect, progress, select, referenceHost } from "../context.ts";

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
      const selection = select({ matrix: opts.matrix });
      const host = referenceHost(selection);
      const catalog = loadMutants(host.source);
      const mutants: Mutant[] = opts.only?.length ? opts.only.map((n) => findMutant(catalog, n)) : catalog;
      const python = opts.python ?? selection.matrix.bases[0]!.id;
      const platformsOf = (m: Mutant): string[] => opts.platform ?? (m.timing ? ["linux-x86_64", "linux-aarch64"] : ["linux-x86_64"]);
      const jobs: MutationJob[] = mutants.flatMap((m) => platformsOf(m).map((platform) => ({ mutant: m, platform, suites: m.suites, clause: m.clause })));
      // The baseline: the normal host on the same suites, per platform, with every clause the jobs
      // there select (one vitest run per suite set instead of one per clause).
      const groups = new Map<string, MutationJob>();
      for (const j of jobs) {
        const key = `${j.platform}|${j.suites.join(",")}`;
        const g = groups.get(key);
        if (!g) groups.set(key, { ...j, mutant: null });
        else if (!g.clause.split("|").includes(j.clause)) g.clause = [...g.clause.split("|"), j.clause].sort().join("|");
      }
      const baselineJobs = [...groups.values()];
      const runId = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
      const reportsRoot = path.resolve(selection.root, opts.reports);
      const outDir = path.join(reportsRoot, "mutants", runId);
      progress(`mutation run ${runId}: ${mutants.length} mutant(s), ${jobs.length} job(s), ${baselineJobs.length} baseline job(s), base ${python}`);
      const baseline = await runJobs(baselineJobs, { root: selection.root, outDir, python, progress });
      const broken = baseline.filter((b) => b.status !== "survived");
      if (broken.length > 0) {
        for (const b of broken) progress(`baseline ${b.clause} on ${b.platform}: ${b.status} ${b.failed.join("; ")} ${b.detail ?? ""}`);
        progress("the normal host does not pass these selections: fix the suites or the host before judging mutants");
        process.exitCode = 1;
        return;
      }
      const verdicts = await runJobs(jobs, { root: selection.root, outDir, python, progress });
      const run = summariseMutation(runId, python, baseline, verdicts);
      const file = writeMutationRun(reportsRoot, run);
      process.stdout.write(`\n${"clause".padEnd(8)} killed survived error\n`);
      for (const [clause, row] of Object.entries(run.byClause)) process.stdout.write(`${clause.padEnd(8)} ${String(row.killed).padStart(6)} ${String(row.survived).padStart(8)} ${String(row.error).padStart(5)}\n`);
      for (const v of verdicts.filter((x) => x.status !== "killed")) process.stdout.write(`${v.status.toUpperCase()}: ${v.mutant} on ${v.platform}${v.detail ? `: ${v.detail.split("\n")[0]}` : ""}\n`);
      process.stdout.write(`\nmutation score: ${run.score.killed}/${run.score.total} killed; ${path.relative(process.cwd(), file)}\n`);
      process.exitCode = run.score.killed === run.score.total ? 0 : 1;
    });
}

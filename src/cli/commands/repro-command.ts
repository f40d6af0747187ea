import type { Command } from "commander";
import { isDistcheckError } from "../../errors/distcheck-error.ts";
import { exitCodeOf } from "../../run/exit-codes.ts";
import { reproText } from "../../repro/repro-text.ts";
import { runRepro } from "../../repro/repro.ts";
import { onSignals, out, progress } from "../context.ts";

interface ReproFlags {
  from?: string;
  lastFailed?: boolean;
  cell?: string;
  repeat: number;
  allowDifferentImage?: boolean;
  reports: string;
  matrix?: string;
  json?: boolean;
}

export function registerReproCommand(program: Command): void {
  program
    .command("repro")
    .description("replay a failing test of a published run on its cell (same image, mutant, host), N times, and classify it: fails every time, flaky, or does not reproduce")
    .argument("[test]", "the test: its id (as `repro` lists them; the record's file name under results/distcheck/), `<cell>: <name>`, its name, or part of its full name")
    .option("--from <dir>", "the published run the test failed in: reports/<run-id> or reports/latest (default with --last-failed: the newest run)")
    .option("--last-failed", "replay every failing test of the run")
    .option("--cell <id>", "only the test(s) of this cell (e.g. linux-aarch64.trixie.reference), for a name several cells ran")
    .option("--repeat <n>", "tries per test; each runs once, with no retries", (v) => Number(v), 1)
    .option("--allow-different-image", "replay even when an image is not the one the run recorded (rebuilt, or its recipe changed); the differences are printed as warnings")
    .option("--reports <dir>", "where published runs are; the trace goes to <dir>/repro/<id>/", "reports")
    .option("--matrix <file>", "matrix file")
    .option("--json", "print the result as JSON on stdout (vitest's output of each try stays in the trace)")
    .addHelpText(
      "after",
      `
Each try is one vitest process on the test's file with -t its exact name, narrowed to its cell,
with the run's mutant (recorded in the run's environment), in a run of its own whose containers are
removed when it ends. Before the first try, the images the run recorded for the cell (tags and ids)
are compared with the engine's and with today's recipe: a recorded image that is gone is
image_missing, one that was rebuilt or whose recipe changed is image_differs; both print the command
that rebuilds it, and --allow-different-image replays anyway.

Each try writes <reports>/repro/<id>/<test-id>/try-<n>/: vitest.log, record.json (the test's record:
state, errors, host log and other attachments) and command.sh (the command line of the replay and of
this try alone). The verdict compares each failure with the recorded one (the first error's code,
else its first line with numbers masked) and shows the timing factor each try measured.

Exit codes: 0 no try failed (does not reproduce); 1 a try failed (fails every time, or flaky: k of
N); 2 bad input (run_not_found, test_not_found, test_ambiguous, cell_not_found, repro_usage); 3
infrastructure (image_missing, image_differs, test_not_run, engine); 130 interrupted.

Examples:
  distcheck repro --from reports/latest 7ce78932fc9f --repeat 3
  distcheck repro --from reports/20261130T132513Z-ae1e5d "linux-x86_64.bookworm.reference: ARC-09: a manifest with 21 keywords (one over the limit of 20) is refused with manifest_invalid and installs nothing"
  distcheck repro --last-failed --json`,
    )
    .action(async (test: string | undefined, opts: ReproFlags) => {
      try {
        const result = await runRepro({
          from: opts.from,
          test,
          lastFailed: opts.lastFailed,
          cell: opts.cell,
          repeat: opts.repeat,
          allowDifferentImage: opts.allowDifferentImage,
          reports: opts.reports,
          matrix: opts.matrix,
          progress,
          echo: opts.json ? undefined : (text) => process.stderr.write(text),
          interrupts: onSignals,
        });
        out(opts.json ? `${JSON.stringify({ ok: true, ...result }, null, 2)}\n` : reproText(result));
        process.exitCode = result.exitCode;
      } catch (error) {
        if (!opts.json || !isDistcheckError(error)) throw error;
        out(`${JSON.stringify({ ok: false, code: error.code, category: error.category, message: error.message }, null, 2)}\n`);
        process.stderr.write(`distcheck: error [${error.code}]: ${error.message}\n`);
        process.exitCode = exitCodeOf(error.category);
      }
    });
}

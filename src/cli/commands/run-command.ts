import type { Command } from "commander";
import { runConformance } from "../../run/conformance-run.ts";
import type { MatrixOptions } from "../../matrix/selection.ts";
import { collect, out, progress } from "../context.ts";

/** SIGINT and SIGTERM stop the run cleanly (once each: a second of the same kind ends the process). */
function onSignals(stop: (reason: string) => void): () => void {
  const onSignal = (sig: NodeJS.Signals): void => stop(sig);
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  return () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
}

export function registerRunCommand(program: Command): void {
  program
    .command("run")
    .description("run the conformance suites on every cell of the matrix (builds missing images first)")
    .option("--matrix <file>", "matrix file")
    .option("--platform <id>", "only these platforms (repeatable or comma-separated)", collect)
    .option("--python <version>", "only these bases, by Python version or base id", collect)
    .option("--host <id>", "only these hosts", collect)
    .option("--suite <name>", "only these suites", collect)
    .option("--no-build", "fail instead of building missing images")
    .option("--mutant <name>", "boot a reference host built with this mutant (one clause broken on purpose; see hosts/reference/mutants/catalog.json)")
    .option("--reports <dir>", "where reports go (reports/<run-id>/ and reports/latest)", "reports")
    .option("--skip-missing-source", "when a selected host's source does not exist, say so and exit 0 instead of 2 (not with CI=true: there a missing host is an error)")
    .addHelpText(
      "after",
      `
Publishes reports/<run-id>/ (Allure HTML, summary.json, junit.xml) and points reports/latest at it.

Exit codes: 0 every test passed and the gate passed; 1 a test failed or the gate did not pass (a clause
that did not run and pass on every platform);
2 bad input (matrix, filters); 3 infrastructure (engine, qemu, image build); 130 interrupted.

Examples:
  distcheck run                                   the default matrix
  distcheck run --platform linux-aarch64 --python 3.11 --suite platform   one cell, one suite`,
    )
    .action(async (opts: MatrixOptions & { build: boolean; reports: string; mutant?: string; skipMissingSource?: boolean }) => {
      process.exitCode = await runConformance({ ...opts, progress, out, interrupts: onSignals });
    });
}

import type { Command } from "commander";
import { checkRunBundleRequest } from "../../certify/index.ts";
import { runConformance } from "../../run/conformance-run.ts";
import type { MatrixOptions } from "../../matrix/selection.ts";
import { collect, onSignals, out, progress } from "../context.ts";

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
    .option("--bundle <file>", "also write a signed release sign-off bundle (.tar.gz) of the run; needs --sign-key and exactly one host")
    .option("--sign-key <pem>", "the ed25519 private key (PEM) that signs --bundle; checked before the run starts")
    .addHelpText(
      "after",
      `
Publishes reports/<run-id>/ (Allure HTML, summary.json, junit.xml) and points reports/latest at it.

With --bundle FILE --sign-key KEY.pem (both or neither), also writes a certification bundle of the
run, signed with KEY.pem, for one host (pick it with --host): its subject is the host's source tree
digest (or its wheel's sha256), its findings one per test and clause in each cell, its verdict
CERTIFIED, CERTIFIED_WITH_WARNINGS (failures under waivers), NOT_CERTIFIED (a failure or a failed
gate) or INCOMPLETE (a declared cell that did not run). Check it with
  distcheck verify FILE --key PUBLIC.pem
The bundle is written whenever the run is not interrupted and does not change the exit code (only a
bundle that cannot be written is an infrastructure error, 3). A bad key, several hosts or --mutant
with --bundle are input errors (2) before anything runs.

Exit codes: 0 every test passed and the gate passed; 1 a test failed or the gate did not pass (a clause
that did not run and pass on every platform); 2 bad input (matrix, filters, --bundle/--sign-key);
3 infrastructure: the engine, qemu, a disk or an image build failed, before or during the tests (the
report lists each problem and its fix; the verdicts of the cells it hit are unknown); 130 interrupted.

Examples:
  distcheck run                                   the default matrix
  distcheck run --platform linux-aarch64 --python 3.11 --suite platform   one cell, one suite
  distcheck run --host toposync --bundle signoff.tar.gz --sign-key key.pem   a signed sign-off of one host`,
    )
    .action(async (opts: MatrixOptions & { build: boolean; reports: string; mutant?: string; skipMissingSource?: boolean; bundle?: string; signKey?: string }) => {
      // Both or neither, before anything else: a usage error (exit 2) names the missing one.
      checkRunBundleRequest({ bundle: opts.bundle, signKey: opts.signKey });
      process.exitCode = await runConformance({ ...opts, progress, out, interrupts: onSignals });
    });
}

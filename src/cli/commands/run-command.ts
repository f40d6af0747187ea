import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { execa, type ResultPromise } from "execa";
import { resolveEndpoint } from "../../engine/docker-engine.ts";
import { currentRun } from "../../run/run-identity.ts";
import { sweep } from "../../run/run-sweeper.ts";
import { removeScratchDir } from "../../run/scratch.ts";
import { TaskRunner } from "../../run/task-runner.ts";
import { collect, enginesFor, progress, referenceHost, select, type MatrixOptions, type Selection } from "../context.ts";
import { buildImages } from "./images-command.ts";
import { publishReport, resultsDirOf } from "./report-command.ts";
import { findMutant, loadMutants } from "../../mutants/mutant-catalog.ts";
import { suiteApplies } from "../../hosts/suite-families.ts";

/** Exit codes of `distcheck run`, documented in --help. */
export const EXIT = { ok: 0, failed: 1, input: 2, infrastructure: 3, interrupted: 130 } as const;

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
    .option("--mutant <name>", "boot a reference host built with this mutant (one clause broken on purpose; see hosts/reference/src/distcheck_host/mutants.json)")
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
      process.exitCode = await runConformance(opts);
    });
}

export async function runConformance(opts: MatrixOptions & { build: boolean; reports: string; mutant?: string; skipMissingSource?: boolean }): Promise<number> {
  const wallStart = performance.now();
  let selection: Selection;
  try {
    selection = select(opts);
  } catch (error) {
    // Third-party hosts live outside the repository: a clone without them skips their run and says why.
    if (opts.skipMissingSource && process.env.CI !== "true" && (error as { code?: string }).code === "host_source_missing") {
      progress(`not run: ${(error as Error).message}`);
      return EXIT.ok;
    }
    throw error;
  }
  if (opts.mutant) findMutant(loadMutants(referenceHost(selection).source), opts.mutant);
  const run = currentRun();
  const reportsRoot = path.resolve(selection.root, opts.reports);
  const reportDir = path.join(reportsRoot, run.runId);
  const resultsDir = resultsDirOf(reportsRoot, run.runId);
  // --host picks hosts, each judged on every clause its adapter implements; the others narrow the clauses.
  const filtered = [opts.platform, opts.python, opts.suite].some((f) => (f?.length ?? 0) > 0);
  const engines = enginesFor(selection.matrix);
  progress(`run ${run.runId}: ${selection.cells.length} cell(s) x ${selection.matrix.suites.length} suite(s): ${selection.matrix.suites.join(", ")}`);

  const abort = new AbortController();
  let child: ResultPromise | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    progress(`${sig}: stopping, cleaning up`);
    abort.abort();
    child?.kill("SIGTERM");
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  let testExit = 0;
  const runner = new TaskRunner(progress);
  const result = await runner.run(
    [
      {
        title: "check engines",
        setup: async () => {
          for (const { engine } of engines) await engine.version();
        },
      },
      {
        title: "sweep what dead runs left",
        setup: async () => {
          for (const { engine } of engines) {
            const swept = await sweep(engine);
            const n = swept.containers.length + swept.networks.length + swept.scratchDirs.length;
            if (n > 0) progress(`swept ${swept.containers.length} container(s), ${swept.networks.length} network(s), ${swept.scratchDirs.length} temp dir(s) of dead runs`);
          }
        },
      },
      {
        title: "images",
        setup: async () => {
          if (opts.build) await buildImages(selection, { mutant: opts.mutant });
        },
      },
      {
        title: "suites",
        setup: async (signal) => {
          mkdirSync(reportDir, { recursive: true });
          for (const { platforms, engine } of engines) {
            if (signal.aborted) return;
            // A suite that needs a family no selected host implements has no cell to run on.
            const suites = selection.matrix.suites.filter((s) => selection.cells.some((c) => platforms.includes(c.platform.id) && suiteApplies(s, c.host.adapter)));
            const suiteFiles = suites.map((s) => `suites/${s}.test.ts`);
            progress(`vitest on ${engine.endpoint} for ${platforms.join(", ")}`);
            child = execa("npx", ["vitest", "run", "--project", "conformance", ...suiteFiles], {
              cwd: selection.root,
              stdio: "inherit",
              reject: false,
              env: {
                DISTCHECK_RUN_ID: run.runId,
                DISTCHECK_OWNER_PID: String(run.ownerPid),
                DISTCHECK_PARENT_PID: String(process.pid),
                DISTCHECK_MATRIX: selection.matrixFile,
                DISTCHECK_PLATFORM: platforms.join(","),
                DISTCHECK_PYTHON: (opts.python ?? []).join(","),
                DISTCHECK_HOST: (opts.host ?? []).join(","),
                DISTCHECK_SKIP_IMAGE_BUILD: "1",
                DISTCHECK_RESULTS_DIR: resultsDir,
                DISTCHECK_MUTANT: opts.mutant ?? "",
                DOCKER_HOST: resolveEndpoint(selection.matrix.platforms.find((p) => p.id === platforms[0])?.engine ?? "env"),
                TESTCONTAINERS_RYUK_DISABLED: "true",
              },
            });
            const r = await child;
            child = undefined;
            if (r.exitCode !== 0) testExit = r.exitCode ?? EXIT.failed;
          }
        },
        teardown: async () => {
          for (const { engine } of engines) {
            const swept = await sweep(engine, run);
            if (swept.containers.length + swept.networks.length > 0) progress(`removed ${swept.containers.length} container(s) and ${swept.networks.length} network(s) left by this run`);
          }
          removeScratchDir();
        },
      },
    ],
    abort.signal,
  );
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  const wall = ((performance.now() - wallStart) / 1000).toFixed(1);
  if (result.status === "interrupted") {
    progress(`interrupted after ${wall} s; everything this run created was removed`);
    return EXIT.interrupted;
  }
  if (result.error) throw result.error;
  const summary = await publishReport({ selection, reportsRoot, runId: run.runId, resultsDirs: [resultsDir], filtered });
  progress(`wall time ${wall} s`);
  // vitest exits 1 for failed tests, waived ones too; the gate counts what no waiver covers, and
  // fails on suite files that did not run. Any other vitest exit is a failure of its own.
  return summary.gate.passed && (testExit === 0 || (testExit === EXIT.failed && summary.totals.waived > 0)) ? EXIT.ok : EXIT.failed;
}

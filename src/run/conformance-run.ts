import { mkdirSync } from "node:fs";
import path from "node:path";
import { execa, type ResultPromise } from "execa";
import { resolveEndpoint } from "../engine/docker-engine.ts";
import { currentRun } from "./run-identity.ts";
import { sweep } from "./run-sweeper.ts";
import { removeScratchDir } from "./scratch.ts";
import { TaskRunner } from "./task-runner.ts";
import { EXIT, type ExitCode } from "./exit-codes.ts";
import { toEnv } from "./run-protocol.ts";
import { enginesFor, referenceHost, select, type MatrixOptions, type Selection } from "../matrix/selection.ts";
import { buildImages } from "../images/image-planner.ts";
import { publishReport, resultsDirOf } from "../report/publish-report.ts";
import { findMutant, loadMutants } from "../mutants/mutant-catalog.ts";
import { suiteApplies } from "../hosts/suite-families.ts";

/** A conformance run: the matrix and its filters, what to build and where to report. */
export interface ConformanceRunOptions extends MatrixOptions {
  /** Build missing images first; false fails instead. */
  build: boolean;
  /** Where reports go (`<reports>/<run-id>/` and `<reports>/latest`), relative to the project root. */
  reports: string;
  /** Boot a reference host built with this mutant. */
  mutant?: string;
  /** A selected host whose source does not exist is reported and the run exits 0 (not when `CI=true`). @default false */
  skipMissingSource?: boolean;
  /** Progress lines (steps, images, sweeping, wall time). */
  progress: (line: string) => void;
  /** The report's clause x platform table, totals and gate. vitest's own output goes to this process's stdio. */
  out: (text: string) => void;
  /**
   * Subscribes to interrupts (the CLI: SIGINT, SIGTERM) while the run can stop cleanly, from its first
   * step to the end of its teardown; returns the unsubscribe. `stop` ends the suites (the vitest child
   * gets SIGTERM), removes what the run created and makes the run return 130.
   */
  interrupts?: (stop: (reason: string) => void) => () => void;
  /** Read for `CI`. @default process.env */
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs the suites on every selected cell: checks the engines, sweeps what dead runs left, builds
 * missing images, runs vitest once per engine, removes what this run created (also after an abort)
 * and publishes the report. Returns the exit code: 0 when the gate passed, 1 otherwise, 130 when
 * aborted; input and infrastructure errors are thrown.
 */
export async function runConformance(opts: ConformanceRunOptions): Promise<ExitCode> {
  const { progress } = opts;
  const env = opts.env ?? process.env;
  const wallStart = performance.now();
  let selection: Selection;
  try {
    selection = select(opts);
  } catch (error) {
    // Third-party hosts live outside the repository: a clone without them skips their run and says why.
    if (opts.skipMissingSource && env.CI !== "true" && (error as { code?: string }).code === "host_source_missing") {
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
  const unsubscribe = opts.interrupts?.((reason) => {
    progress(`${reason}: stopping, cleaning up`);
    abort.abort();
    child?.kill("SIGTERM");
  });

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
          if (opts.build) await buildImages(selection, { mutant: opts.mutant, progress });
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
              env: toEnv({
                runId: run.runId,
                ownerPid: run.ownerPid,
                // The vitest process watches this pid and removes the run's containers when it is gone.
                parentPid: process.pid,
                matrixFile: selection.matrixFile,
                platforms,
                pythons: opts.python,
                hosts: opts.host,
                skipImageBuild: true,
                resultsDir,
                mutant: opts.mutant,
                dockerHost: resolveEndpoint(selection.matrix.platforms.find((p) => p.id === platforms[0])?.engine ?? "env"),
              }),
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
  unsubscribe?.();
  const wall = ((performance.now() - wallStart) / 1000).toFixed(1);
  if (result.status === "interrupted") {
    progress(`interrupted after ${wall} s; everything this run created was removed`);
    return EXIT.interrupted;
  }
  if (result.error) throw result.error;
  const summary = await publishReport({ selection, reportsRoot, runId: run.runId, resultsDirs: [resultsDir], filtered, progress, out: opts.out });
  progress(`wall time ${wall} s`);
  // vitest exits 1 for failed tests, waived ones too; the gate counts what no waiver covers, and
  // fails on suite files that did not run. Any other vitest exit is a failure of its own.
  return summary.gate.passed && (testExit === 0 || (testExit === EXIT.failed && summary.totals.waived > 0)) ? EXIT.ok : EXIT.failed;
}

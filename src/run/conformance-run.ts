import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { ResultPromise } from "execa";
import { currentRun } from "./run-identity.ts";
import { sweep } from "./run-sweeper.ts";
import { startSuites } from "./suite-process.ts";
import { startReaper, type ReaperHandle } from "./reaper.ts";
import { removeScratchDir } from "./scratch.ts";
import { TaskRunner } from "./task-runner.ts";
import { EXIT, type ExitCode } from "./exit-codes.ts";
import { enginesFor, referenceHost, select, type MatrixOptions, type Selection } from "../matrix/selection.ts";
import { buildImages } from "../images/image-planner.ts";
import { publishReport, resultsDirOf } from "../report/publish-report.ts";
import { findMutant, loadMutants } from "../mutants/mutant-catalog.ts";
import { suiteApplies } from "../hosts/suite-families.ts";
import { hostAdapter } from "../hosts/host-adapters.ts";
import { ImageService } from "../images/image-service.ts";
import { readRecords } from "../report/records-reader.ts";
import type { ReportSummary } from "../report/report-summary.ts";
import type { ContainerEngine } from "../engine/container-engine.ts";
import { EngineWatch } from "../engine/engine-watch.ts";
import { BinfmtWatch } from "../engine/binfmt-watch.ts";
import { writeBinfmtOutages } from "../report/binfmt-outages.ts";
import { RECORDS_DIR, RUN_ERRORS_FILE, type RunErrors } from "../report/test-record.ts";
import { writeEngineOutages } from "../report/engine-outages.ts";
import {
  certifyConformanceRun,
  checkBundlePath,
  checkRunBundleRequest,
  hostSourceSubject,
  readSigningKey,
  writeBundle,
  type RunBundleHost,
  type RunMeta,
  type Subject,
} from "../certify/index.ts";

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
  /**
   * Where to write the run's signed sign-off bundle (a .tar.gz that `distcheck verify` checks), with
   * the host's source as its subject. Needs `signKey` and a selection of exactly one host; written
   * after the report whenever the run was not interrupted (a failed gate is recorded as NOT_CERTIFIED).
   */
  bundle?: string;
  /** The ed25519 private key (PEM file) that signs `bundle`; read and checked before the run starts. */
  signKey?: string;
}

/** What a sign-off bundle needs, gathered and checked before the run starts, so nothing runs for a bundle that cannot be written. */
interface SignOff {
  outPath: string;
  keyPem: Buffer;
  host: RunBundleHost;
  /** The host's source digest, taken before the images are built from it. */
  subject: Subject;
  declared: string[];
  runCommand: string;
  /** Per cell, the host image tag it runs on and the engine that holds it (its id goes into meta/run.json). */
  images: Array<{ cell: string; tag: string; engine: ContainerEngine }>;
}

const shellWord = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);

/** `npx distcheck run` with this run's matrix and filters: what a bundle's run-level findings reproduce with. */
function runCommandOf(opts: ConformanceRunOptions, hostId: string): string {
  const args = ["npx", "distcheck", "run", ...(opts.matrix ? ["--matrix", opts.matrix] : []), "--host", hostId];
  for (const [flag, values] of [["--platform", opts.platform], ["--python", opts.python], ["--suite", opts.suite]] as const) for (const v of values ?? []) args.push(flag, v);
  return args.map(shellWord).join(" ");
}

/**
 * Checks a bundle request before anything runs: one host, no mutant, a readable ed25519 key, a
 * writable-looking path; then digests the host's source and names the image each cell will run on.
 */
async function prepareSignOff(opts: ConformanceRunOptions, selection: Selection): Promise<SignOff> {
  checkRunBundleRequest({ bundle: opts.bundle, signKey: opts.signKey, hosts: selection.cells.map((c) => c.host.id), mutant: opts.mutant });
  const keyPem = await readSigningKey(path.resolve(opts.signKey!));
  const outPath = path.resolve(opts.bundle!);
  await checkBundlePath(outPath);
  const matrixHost = selection.cells[0]!.host;
  const adapter = hostAdapter(matrixHost.adapter);
  const source = path.resolve(selection.root, matrixHost.source);
  const subject = await hostSourceSubject(source, { id: matrixHost.id });
  const version = adapter.defaultVersion(source);
  const images: SignOff["images"] = [];
  for (const { platforms, engine } of enginesFor(selection.matrix)) {
    const service = new ImageService(engine, selection.root);
    for (const cell of selection.cells.filter((c) => platforms.includes(c.platform.id))) {
      images.push({ cell: cell.id, tag: service.hostTarget(cell.host, service.hostBaseTarget(cell.host, cell.base.image, cell.platform.id)).tag, engine });
    }
  }
  return {
    outPath,
    keyPem,
    host: { id: matrixHost.id, version, entryPointGroup: adapter.entryPointGroup },
    subject: { ...subject, version },
    declared: selection.cells.map((c) => c.id),
    runCommand: runCommandOf(opts, matrixHost.id),
    images,
  };
}

/** Signs off the finished run: its records and summary as a certification, written as a signed bundle. */
async function writeSignOff(signOff: SignOff, run: { summary: ReportSummary; resultsDir: string; vitestExitCode: number; scope: { suites: string[]; filtered: boolean } }, progress: (line: string) => void): Promise<void> {
  const images: RunMeta["images"] = {};
  for (const { cell, tag, engine } of signOff.images) {
    // Best effort: the image ids make the bundle name what ran; an engine gone by now leaves them out.
    const image = await engine.inspectImage(tag).catch(() => undefined);
    if (image) images[cell] = { id: image.id };
  }
  const { document, cells, meta } = certifyConformanceRun({
    summary: run.summary,
    records: readRecords([run.resultsDir]).values(),
    host: signOff.host,
    subject: signOff.subject,
    declared: signOff.declared,
    vitestExitCode: run.vitestExitCode,
    scope: run.scope,
    runCommand: signOff.runCommand,
    images,
  });
  const written = await writeBundle(document, cells, meta, signOff.keyPem, signOff.outPath);
  progress(`bundle ${path.relative(process.cwd(), written.path) || written.path}: ${document.verdict}, sha256 ${written.sha256} (signed by key ${written.keyId})`);
}

/**
 * Runs the suites on every selected cell: checks the engines, sweeps what dead runs left, builds
 * missing images, runs vitest once per engine, removes what this run created (also after an abort)
 * and publishes the report. With `bundle`, the key, the single host and the host's source digest
 * are settled before the first step, and the signed sign-off bundle is written after the report
 * (not when interrupted). Returns the exit code: 0 when the gate passed, 1 otherwise, 130 when
 * aborted; input and infrastructure errors are thrown.
 */
export async function runConformance(opts: ConformanceRunOptions): Promise<ExitCode> {
  const { progress } = opts;
  const env = opts.env ?? process.env;
  const wallStart = performance.now();
  checkRunBundleRequest({ bundle: opts.bundle, signKey: opts.signKey });
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
  // A bad key, several hosts or a mutant fail here, before any engine is touched and with nothing written.
  const signOff = opts.bundle !== undefined ? await prepareSignOff(opts, selection) : undefined;
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
  let interruption = "";
  const unsubscribe = opts.interrupts?.((reason) => {
    interruption = reason;
    progress(`${reason}: stopping, cleaning up`);
    abort.abort();
    child?.kill("SIGTERM");
  });

  let testExit = 0;
  const reapers: ReaperHandle[] = [];
  const watches: EngineWatch[] = [];
  let binfmtWatch: BinfmtWatch | undefined;
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
        // From here on a run killed whole (kill -9 of its process group) is cleaned up by its reaper,
        // with no later distcheck command.
        title: "reaper",
        setup: async () => {
          for (const { engine } of engines) {
            const reaper = await startReaper(engine.endpoint, run);
            if ("skipped" in reaper) progress(`no reaper on ${engine.endpoint}: ${reaper.skipped}; a killed run is cleaned up by the next run's sweep`);
            else reapers.push(reaper);
          }
        },
        teardown: async () => {
          // The run's sweep removed the reapers with everything else of the run; the connections go last.
          for (const reaper of reapers) reaper.close();
        },
      },
      {
        title: "suites",
        setup: async (signal) => {
          mkdirSync(reportDir, { recursive: true });
          // An engine that stops mid-run takes every container of the run with it (the hosts under
          // test, mid-request): the suites on it are stopped at once, and the run reports the machine,
          // not the host (exit 3; src/report/engine-outages.ts).
          let running: string | undefined;
          for (const { platforms, engine } of engines) {
            const watch = await EngineWatch.start(engine.endpoint, platforms, {
              lost: () => {
                progress(`the Docker engine at ${engine.endpoint} went away: every container of this run on it is gone; stopping the suites on ${platforms.join(", ")}`);
                if (running === engine.endpoint) child?.kill("SIGTERM");
              },
              back: (o) => progress(`the Docker engine at ${engine.endpoint} answers again after ${((o.backAt! - o.wentAwayAt) / 1000).toFixed(1)} s`),
            });
            watches.push(watch);
          }
          // A platform's binfmt registration switched off mid-run: what ran then is the machine's (src/report/binfmt-outages.ts).
          binfmtWatch = BinfmtWatch.start(
            engines.flatMap(({ platforms, engine }) => platforms.map((id) => ({ id, endpoint: engine.endpoint }))),
            {
              off: (o) => progress(`the ${o.entry} binfmt registration is ${o.state}: ${o.platform} processes cannot start; what fails on ${o.platform} from now is the machine's`),
              back: (o) => progress(`the ${o.entry} binfmt registration is enabled again`),
            },
          );
          for (const { platforms, engine } of engines) {
            if (signal.aborted) return;
            // An engine that went away and did not come back is not run on.
            if (watches.some((w) => w.endpoint === engine.endpoint && w.outages().length > 0)) continue;
            running = engine.endpoint;
            // A suite that needs a family no selected host implements has no cell to run on.
            const suites = selection.matrix.suites.filter((s) => selection.cells.some((c) => platforms.includes(c.platform.id) && suiteApplies(s, c.host.adapter)));
            const suiteFiles = suites.map((s) => `suites/${s}.test.ts`);
            progress(`vitest on ${engine.endpoint} for ${platforms.join(", ")}`);
            child = startSuites(selection, "conformance", suiteFiles, {
              runId: run.runId,
              ownerPid: run.ownerPid,
              // The vitest process watches this pid and removes the run's containers when it is gone.
              parentPid: process.pid,
              platforms,
              pythons: opts.python,
              hosts: opts.host,
              skipImageBuild: true,
              resultsDir,
              mutant: opts.mutant,
            });
            const r = await child;
            child = undefined;
            if (r.exitCode !== 0) testExit = r.exitCode ?? EXIT.failed;
          }
        },
        teardown: async () => {
          // Give an engine that went away a minute to come back, so what the run left can be removed.
          for (const w of watches) {
            if (!(await w.answering(60_000))) progress(`the Docker engine at ${w.endpoint} did not come back within 60 s; the next run's sweep (or its reaper, when the engine returns) removes what this run left`);
            w.stop();
          }
          binfmtWatch?.check();
          binfmtWatch?.stop();
          const binfmtOutages = binfmtWatch?.outages() ?? [];
          if (binfmtOutages.length > 0) {
            mkdirSync(resultsDir, { recursive: true });
            writeBinfmtOutages(resultsDir, binfmtOutages);
          }
          const outages = watches.flatMap((w) => w.outages());
          if (outages.length > 0) {
            mkdirSync(resultsDir, { recursive: true });
            writeEngineOutages(resultsDir, outages);
          }
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
  // Interrupts stay subscribed through the report: a SIGINT while it is written (the suites done)
  // lets it finish and exits 130 without a sign-off; unsubscribed, the signal killed the process
  // mid-write. A second signal still exits at once (onSignals).
  try {
    const wall = ((performance.now() - wallStart) / 1000).toFixed(1);
    if (result.status === "interrupted") {
      progress(`interrupted after ${wall} s; everything this run created was removed`);
      // What ran is still reported (its gate fails: the clauses that did not run are missing).
      if (existsSync(resultsDir)) {
        // vitest stops cleanly on SIGTERM and records only what finished: the run's own record of the
        // interruption fails the gate, or a filtered run whose finished tests all passed would pass it.
        const errors: RunErrors = { modules: [], unhandled: [`the run was interrupted (${interruption || "aborted"}) before its suites finished`] };
        mkdirSync(path.join(resultsDir, RECORDS_DIR), { recursive: true });
        writeFileSync(path.join(resultsDir, RECORDS_DIR, `${RUN_ERRORS_FILE}-interrupted.json`), JSON.stringify(errors));
        await publishReport({ selection, reportsRoot, runId: run.runId, resultsDirs: [resultsDir], filtered, progress, out: opts.out }).catch((error: unknown) => progress(`the report of the interrupted run could not be written: ${(error as Error).message}`));
      }
      return EXIT.interrupted;
    }
    if (result.error) throw result.error;
    const summary = await publishReport({ selection, reportsRoot, runId: run.runId, resultsDirs: [resultsDir], filtered, progress, out: opts.out });
    if (interruption) {
      progress(`${interruption} while the report was written: the suites had finished and the report is complete; no sign-off (wall time ${wall} s)`);
      return EXIT.interrupted;
    }
    // Also when the gate failed: the bundle then records NOT_CERTIFIED.
    if (signOff) await writeSignOff(signOff, { summary, resultsDir, vitestExitCode: testExit, scope: { suites: selection.matrix.suites, filtered } }, progress);
    if (interruption) return EXIT.interrupted;
    progress(`wall time ${wall} s`);
    // A machine problem (engine, qemu, disk) makes the verdicts of the cells it hit unknown, whatever
    // else failed: exit 3, with the problems and their fixes printed above.
    if (summary.infrastructure.length > 0) return EXIT.infrastructure;
    // vitest exits 1 for failed tests, waived ones too; the gate counts what no waiver covers, and
    // fails on suite files that did not run. Any other vitest exit is a failure of its own.
    return summary.gate.passed && (testExit === 0 || (testExit === EXIT.failed && summary.totals.waived > 0)) ? EXIT.ok : EXIT.failed;
  } finally {
    unsubscribe?.();
  }
}

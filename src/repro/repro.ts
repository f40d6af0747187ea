import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { ResultPromise } from "execa";
import { enginesFor, select } from "../matrix/selection.ts";
import { ImageService } from "../images/image-service.ts";
import { findMutant, loadMutants } from "../mutants/mutant-catalog.ts";
import { classify, exitCodeOfVerdicts, failureSignature, type TryOutcome, type Verdict } from "./classification.ts";
import { checkImages, requireSameImages } from "./image-check.ts";
import { failingTests, findTest, newestRun, openRun, type RecordedRun, type ReproTarget } from "./recorded-run.ts";
import { ReproEnvironmentError, ReproInputError } from "./repro-errors.ts";
import { planTry, runTry, tryCommandLine } from "./replay-try.ts";
import { TRACE_DIR_VARIABLE } from "../hosts/host-trace.ts";
import { spawnSync } from "node:child_process";
import { execLine, keptHosts, keptTryAfter, releaseTry, type KeptHost } from "./kept-host.ts";

/** What `distcheck repro` replays and how. */
export interface ReproOptions {
  /** Where published runs are, relative to the project root or absolute; traces go to `<reports>/repro/<id>/`. @default "reports" */
  reports?: string;
  /** The matrix file. @default the project's matrix.json */
  matrix?: string;
  /** A published run (`reports/<run-id>`, `reports/latest`, or a run id). */
  from?: string;
  /** The test of `from` to replay: its id, key, `<cell>: <name>`, name or part of its full name. */
  test?: string;
  /** Replay every failing test of `from`, or of the newest run when `from` is absent. */
  lastFailed?: boolean;
  /** Narrows a test name several cells ran. */
  cell?: string;
  /** Tries per test. @default 1 */
  repeat?: number;
  /** Replay even when the images are not the ones the run recorded (the differences become warnings). */
  allowDifferentImage?: boolean;
  /** Leave the last try's host running (its container labelled kept) for a person to look around. */
  keep?: boolean;
  /** Then open an interactive shell in it (implies keep); needs `tty`. */
  shell?: boolean;
  /** Whether this process has a terminal on stdin and stdout (for `shell`). */
  tty?: boolean;
  progress: (line: string) => void;
  /** vitest's output of each try, as it comes (the CLI: stderr unless --json). */
  echo?: (text: string) => void;
  /** Subscribes to interrupts; `stop` ends the running try (its vitest cleans up its containers). */
  interrupts?: (stop: (reason: string) => void) => () => void;
}

/** One replayed test: what was recorded, what each try saw, the verdict. */
export interface ReproTestResult {
  id: string;
  key: string;
  name: string;
  cell: string;
  file: string;
  recorded: { runId: string; state: string; signature: string; timingFactor?: number };
  mutant?: string;
  hostVersion?: string;
  images?: ReproTarget["images"];
  warnings: string[];
  tries: Array<TryOutcome & { dir: string; command: string }>;
  verdict: Verdict;
  /** Replays exactly this test again. */
  command: string;
  /** With --keep: the hosts left running (of the newest failed try, else the newest), how to get in and how to remove them. */
  kept?: Array<KeptHost & { try: number; exec: string; clean: string }>;
}

export interface ReproResult {
  reproId: string;
  /** `<reports>/repro/<repro-id>/`: one folder per test and try. */
  dir: string;
  from: string;
  tests: ReproTestResult[];
  /** 1 when a try of a test failed (fails every time or flaky), 0 when none did; interrupted: 130. */
  exitCode: 0 | 1 | 130;
}

/** A repro id's time part: `20261130T150446Z`. */
export function stamp(now = new Date()): string {
  return now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}

/** The tests to replay, from the options; input errors name what is missing. */
export function resolveTargets(opts: Pick<ReproOptions, "from" | "test" | "lastFailed" | "cell">, reportsRoot: string): { run: RecordedRun; targets: ReproTarget[] } {
  if (opts.lastFailed && opts.test) throw new ReproInputError("repro_usage", "Name a test or pass --last-failed, not both.");
  if (!opts.lastFailed && !opts.test) throw new ReproInputError("repro_usage", "Name what to replay: --from reports/<run-id> TEST, or --last-failed (every failing test of the newest run, or of --from).");
  if (!opts.lastFailed && !opts.from) throw new ReproInputError("repro_usage", `Name the run the test "${opts.test}" failed in: --from reports/<run-id> (or reports/latest).`);
  const run = opts.from ? openRun(opts.from, reportsRoot) : newestRun(reportsRoot);
  if (opts.test) return { run, targets: [findTest(run, opts.test, opts.cell)] };
  const targets = failingTests(run).filter((t) => !opts.cell || t.cell.id === opts.cell);
  if (targets.length === 0) throw new ReproInputError("test_not_found", `Run ${run.runId} has no failing test${opts.cell ? ` on cell ${opts.cell}` : ""}: nothing to replay (--last-failed replays failed tests only; name a test to replay a passing one).`);
  return { run, targets };
}

/** A word for `sh`, quoted only when it needs to be. */
export const shellWord = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);

/**
 * Replays tests of a published run on their cell: checks the run's images against the engine's,
 * then runs each test `repeat` times (one vitest process per try, `-t` its exact name, no retries,
 * the run's mutant), reads each try's record back and classifies. Writes each try's vitest output,
 * record and command line under `<reports>/repro/<id>/<test-id>/try-<n>/`.
 */
export async function runRepro(opts: ReproOptions): Promise<ReproResult> {
  if (opts.shell && !opts.tty) throw new ReproInputError("no_tty", "--shell opens an interactive shell and needs a terminal on stdin and stdout; this process has none. Run it from a terminal, or use --keep and the printed `docker exec -it ... sh` line.");
  const repeat = opts.repeat ?? 1;
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 100) throw new ReproInputError("repro_usage", `--repeat must be a whole number from 1 to 100 (got ${repeat}).`);
  const base = select({ matrix: opts.matrix });
  const reportsRoot = path.resolve(base.root, opts.reports ?? "reports");
  const { run, targets } = resolveTargets(opts, reportsRoot);
  const reproId = `${stamp()}-${randomBytes(3).toString("hex")}`;
  const dir = path.join(reportsRoot, "repro", reproId);
  mkdirSync(dir, { recursive: true });

  let child: ResultPromise | undefined;
  let interrupted = false;
  const unsubscribe = opts.interrupts?.((reason) => {
    opts.progress(`${reason}: stopping the running try`);
    interrupted = true;
    child?.kill("SIGTERM");
  });
  const tests: ReproTestResult[] = [];
  try {
    for (const target of targets) {
      if (interrupted) break;
      tests.push(await replayTest(target, { ...opts, repeat, reportsRoot, dir, run, onChild: (c) => (child = c), interrupted: () => interrupted }));
    }
  } finally {
    unsubscribe?.();
  }
  const result: ReproResult = { reproId, dir, from: run.dir, tests, exitCode: interrupted ? 130 : exitCodeOfVerdicts(tests.map((t) => t.verdict)) };
  writeFileSync(path.join(dir, "repro.json"), JSON.stringify(result, null, 2));
  return result;
}

async function replayTest(
  target: ReproTarget,
  ctx: ReproOptions & { repeat: number; reportsRoot: string; dir: string; run: RecordedRun; onChild: (c: ResultPromise | undefined) => void; interrupted: () => boolean },
): Promise<ReproTestResult> {
  const { progress } = ctx;
  const selection = select({ matrix: ctx.matrix, platform: [target.cell.platform], python: [target.cell.base], host: [target.cell.host] });
  const cell = selection.cells.find((c) => c.id === target.cell.id);
  if (!cell) throw new ReproInputError("cell_not_found", `The cell ${target.cell.id} of test ${target.id} is not in the matrix ${selection.matrixFile} any more (cells there: ${selection.cells.map((c) => c.id).join(", ") || "none"}); pass --matrix with the run's matrix.`);
  if (target.mutant) findMutant(loadMutants(cell.host.source), target.mutant);
  const engine = enginesFor(selection.matrix).find((e) => e.platforms.includes(cell.platform.id))!.engine;
  await engine.version();
  const service = new ImageService(engine, selection.root);
  const baseTarget = service.hostBaseTarget(cell.host, cell.base.image, cell.platform.id);
  const mutant = target.mutant && cell.host.adapter === "reference" ? target.mutant : undefined;
  const current = { base: baseTarget.tag, host: service.hostTarget(cell.host, baseTarget, { mutant }).tag };
  const check = await checkImages(target, engine, current);
  const warnings = await requireSameImages(check, ctx.allowDifferentImage ?? false, engine, current);
  for (const w of warnings) progress(`warning: ${w}`);

  const command = ["npx", "distcheck", "repro", "--from", path.relative(selection.root, ctx.run.dir) || ctx.run.dir, target.id, ...(ctx.repeat > 1 ? ["--repeat", String(ctx.repeat)] : [])].map(shellWord).join(" ");
  const testDir = path.join(ctx.dir, target.id);
  mkdirSync(testDir, { recursive: true });
  progress(`replaying ${target.cell.id}: ${target.name} (recorded ${target.recorded.state} in run ${target.recorded.runId}${target.mutant ? `, mutant ${target.mutant}` : ""}), ${ctx.repeat} tr${ctx.repeat === 1 ? "y" : "ies"}`);
  const tries: ReproTestResult["tries"] = [];
  let keptTry: { dir: string; n: number; failed: boolean } | undefined;
  for (let n = 1; n <= ctx.repeat && !ctx.interrupted(); n++) {
    const tryDir = path.join(testDir, `try-${n}`);
    const plan = planTry(target, selection, { project: "conformance", runId: `repro-${path.basename(ctx.dir)}-${n}`, resultsDir: path.join(tryDir, "results"), mutant });
    // With --keep every try leaves its hosts up, labelled kept with the repro id; once it ends, only
    // those of the newest failed try (else the newest try) stay: the host as the test left it when it failed.
    if (ctx.keep || ctx.shell) plan.protocol.keep = path.basename(ctx.dir);
    const tryCommand = tryCommandLine(plan);
    mkdirSync(tryDir, { recursive: true });
    writeFileSync(path.join(tryDir, "command.sh"), `#!/bin/sh\n# Replays this test (all tries): ${command}\n# This try alone, through vitest:\ncd ${shellWord(selection.root)} && ${tryCommand}\n`);
    // Every host the try boots keeps its trace here: log, timeline, HTTP exchanges, filesystem diff.
    const r = await runTry(n, target, plan, { root: selection.root, dir: tryDir, echo: ctx.echo, onChild: ctx.onChild, extraEnv: { [TRACE_DIR_VARIABLE]: tryDir } });
    if (ctx.interrupted()) break;
    if (!r.outcome) {
      throw new ReproEnvironmentError("test_not_run", `Try ${n} did not run the test ${target.id} (vitest exited ${r.exitCode} with no record of it): a suite that did not load or a setup that failed before the cell. Its output is in ${r.logFile}.`);
    }
    const t = { ...r.outcome, dir: tryDir, command: tryCommand };
    tries.push(t);
    if (ctx.keep || ctx.shell) {
      const next = keptTryAfter(keptTry, { dir: tryDir, n, failed: t.state === "failed" });
      if (next.release) await releaseTry(engine, next.release.dir);
      keptTry = next.keep;
    }
    if (t.fixtureDifferences?.length) progress(`warning: try ${n} ran on other fixture bytes than the run: ${t.fixtureDifferences.slice(0, 5).join("; ")}${t.fixtureDifferences.length > 5 ? `; ... ${t.fixtureDifferences.length - 5} more` : ""}`);
    progress(`try ${n}/${ctx.repeat}: ${t.state}${t.state === "failed" ? (t.sameFailure ? " (the same way as recorded)" : " (differently from the record)") : ""}, test ${t.durationMs.toFixed(0)} ms, try ${(t.wallMs / 1000).toFixed(1)} s, timing factor ${t.timingFactor ?? "?"}`);
  }
  const kept = keptTry ? keptHosts(keptTry.dir).map((k) => ({ ...k, try: keptTry!.n, exec: execLine(k, engine.endpoint), clean: `npx distcheck repro --clean ${path.basename(ctx.dir)}` })) : undefined;
  return {
    id: target.id,
    key: target.key,
    name: target.name,
    cell: target.cell.id,
    file: target.file,
    recorded: { runId: target.recorded.runId, state: target.recorded.state, signature: failureSignature(target.recorded.errors), timingFactor: target.timingFactor },
    mutant: target.mutant,
    hostVersion: target.hostVersion,
    images: target.images,
    warnings,
    tries,
    verdict: classify(tries),
    command,
    ...(kept ? { kept } : {}),
  };
}

/**
 * Opens an interactive shell in the host the replay kept (the newest failed try's, as the test left it
 * at the failure, else the newest try's; `docker exec -it <container> sh`, this
 * process's terminal attached) and returns its exit code when the person leaves it.
 */
export function openShell(result: ReproResult, env: NodeJS.ProcessEnv = process.env): number {
  const kept = result.tests.flatMap((t) => t.kept ?? []).at(-1);
  if (!kept) throw new ReproEnvironmentError("test_not_run", "--shell: the replay kept no host (the test booted none, or the try ended before its host started); see the try's vitest.log.");
  const dockerHost = /^DOCKER_HOST=(\S+) /.exec(kept.exec)?.[1];
  const r = spawnSync("docker", ["exec", "-it", kept.containerId, "sh"], { stdio: "inherit", env: { ...env, ...(dockerHost ? { DOCKER_HOST: dockerHost } : {}) } });
  return r.status ?? 1;
}

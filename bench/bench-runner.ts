import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Docker from "dockerode";
import { DockerEngine, dockerOptions, resolveEndpoint } from "../src/engine/docker-engine.ts";
import { DistcheckError, InfrastructureError } from "../src/errors/distcheck-error.ts";
import { buildFixtures, loadFixtureDeclarations } from "../src/fixtures/index.ts";
import { hostAdapter } from "../src/hosts/host-adapters.ts";
import { ImageService } from "../src/images/image-service.ts";
import { plannedImages } from "../src/images/image-planner.ts";
import type { Cell } from "../src/matrix/matrix.ts";
import { enginesFor, PACKAGE_ROOT, select } from "../src/matrix/selection.ts";
import { nativePlatform } from "../src/platform/platforms.ts";
import { runLabels, type RunIdentity } from "../src/run/run-identity.ts";
import { sweep } from "../src/run/run-sweeper.ts";
import type { BenchOptions } from "./bench-options.ts";
import { renderReport, summarize, type BenchResult, type RoundResult } from "./bench-report.ts";
import { servedArchives, sessionPlans, type PlanContext } from "./case-plans.ts";
import { distcheckPhases, readDistcheckRun, runDistcheck } from "./distcheck-part.ts";
import { containerActivity, countProcesses, EngineEventRecorder, processesPerCase } from "./engine-events.ts";
import { timedFloor, type FileServerPlan } from "./floor-part.ts";
import { estimateNaiveProcesses, runNaive } from "./naive-part.ts";
import { runScale, type ScalePoint } from "./scale-part.ts";
import { casesFromRecords, workloadSuites, type BenchCase } from "./workload.ts";

/** What the bench reports its progress to and is stopped by. */
export interface BenchIo {
  progress: (line: string) => void;
  signal: AbortSignal;
}

/** A timing factor for a platform (a) did not measure: only a timeout depends on it. */
const UNMEASURED_EMULATED_FACTOR = 40;

function benchId(now = new Date()): string {
  return `${now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}-${randomBytes(3).toString("hex")}`;
}

/** Every image the workload's cells need, held by the engine; the bench never builds one. */
async function checkImages(selection: ReturnType<typeof select>, engine: DockerEngine): Promise<void> {
  const missing: string[] = [];
  for (const { targets } of plannedImages(selection)) for (const t of targets) if (!(await engine.inspectImage(t.tag))) missing.push(t.tag);
  if (missing.length > 0) throw new InfrastructureError("bench_image_missing", `The engine does not hold ${missing.length} image(s) the workload needs (${missing.join(", ")}); the benchmark never builds images. Run \`npx distcheck images build\` first.`);
}

/**
 * The benchmark: for each round, (a) `distcheck run` on the workload, then (b) the naive loop on a
 * sample of the cases (a) ran, then (c) the floor on all of them; then the discovery growth
 * measurement. Every container of (b), (c) and the growth measurement carries a run id of its own,
 * and is removed by label when its part ends (also when it fails or is interrupted).
 */
export async function runBench(options: BenchOptions, io: BenchIo): Promise<BenchResult> {
  const { progress, signal } = io;
  const root = PACKAGE_ROOT;
  const startedAt = new Date();
  const id = benchId(startedAt);
  const suites = workloadSuites(options.workload);
  const selection = select({ suite: suites });
  const cells = selection.cells;
  const engines = enginesFor(selection.matrix);
  if (engines.length !== 1) throw new DistcheckError("bench_engines", `The benchmark compares the three parts on one engine; the matrix uses ${engines.length} (${selection.matrix.platforms.map((p) => `${p.id}: ${p.engine}`).join(", ")}).`, { category: "input" });
  const endpoint = resolveEndpoint(selection.matrix.platforms[0]!.engine);
  const engine = new DockerEngine(endpoint);
  const docker = new Docker(dockerOptions(endpoint));
  const version = await engine.version();
  const adapters = new Set(cells.map((c) => c.host.adapter));
  if ([...adapters].some((a) => a !== "reference")) throw new DistcheckError("bench_host", `The naive loop and the floor drive the reference host only; the workload's cells use ${[...adapters].join(", ")}.`, { category: "input" });
  await checkImages(selection, engine);
  const fixtures = await buildFixtures({ root, onProgress: (line) => progress(`fixtures: ${line}`) });
  if (!fixtures.skipped) progress(`fixtures built in ${(fixtures.durationMs / 1000).toFixed(1)} s`);

  const outDir = path.resolve(root, options.reports, "bench");
  const workDir = path.join(outDir, id);
  mkdirSync(workDir, { recursive: true });
  const native = nativePlatform() ?? "linux-x86_64";
  const adapter = hostAdapter("reference");
  const service = new ImageService(engine, root);
  const hostImage = (cell: Cell): string => service.hostTarget(cell.host, service.hostBaseTarget(cell.host, cell.base.image, cell.platform.id)).tag;
  const baseImage = (cell: Cell): string => service.hostBaseTarget(cell.host, cell.base.image, cell.platform.id).tag;
  const cellOf = (cellId: string): Cell => {
    const c = cells.find((x) => x.id === cellId);
    if (!c) throw new Error(`(a) ran a test on ${cellId}, which is not a cell of the workload`);
    return c;
  };
  const timingFactors: Record<string, number> = {};
  const factor = (cell: Cell): number => timingFactors[cell.platform.id] ?? (cell.platform.id === native ? 1 : UNMEASURED_EMULATED_FACTOR);
  const declarations = new Map((await loadFixtureDeclarations(path.join(root, "fixtures"))).wheels.map((d) => [d.name, d]));
  const ctx: PlanContext = { adapter, coreVersion: adapter.defaultVersion(path.resolve(root, cells[0]!.host.source)), hostImage, factor, declarations };
  const identity = (part: string): RunIdentity => ({ runId: `${id}-${part}`, ownerPid: process.pid, ownerHost: os.hostname() });

  const recorder = await EngineEventRecorder.start(docker, startedAt.getTime());
  const rounds: RoundResult[] = [];
  const notes: string[] = [];
  let workloadCases: BenchCase[] = [];
  const ownRuns: RunIdentity[] = [];
  const scalePoints: ScalePoint[] = [];
  const processesOf = async (runId: string) => {
    await recorder.settle();
    return countProcesses(containerActivity(recorder.events(), runId), native);
  };
  try {
    for (let round = 1; round <= options.rounds && !signal.aborted; round++) {
      const r: RoundResult = { round };
      rounds.push(r);
      let cases: BenchCase[] = [];
      if (options.parts.includes("a")) {
        const runId = identity(`a${round}`).runId;
        progress(`round ${round}: (a) distcheck run ${runId}`);
        const reportsRoot = path.join(workDir, "a");
        const ran = await runDistcheck({ root, suites, runId, reportsRoot, logFile: path.join(workDir, `a${round}.log`), progress, signal });
        const { summary, records } = readDistcheckRun(reportsRoot, runId);
        Object.assign(timingFactors, summary?.environment?.timingFactors ?? {});
        await recorder.settle();
        const { phases, hostBoots } = distcheckPhases(ran.lines, records, recorder.events(), runId);
        cases = casesFromRecords(records);
        workloadCases = cases;
        const t = summary?.totals;
        r.a = {
          runId,
          exitCode: ran.exitCode,
          wallMs: ran.wallMs,
          reportDir: path.join(reportsRoot, runId),
          tests: { total: t?.tests ?? records.length, passed: t?.passed ?? 0, failed: t?.failed ?? 0, skipped: t?.skipped ?? 0 },
          gatePassed: summary?.gate.passed ?? null,
          timingFactors: { ...timingFactors },
          hostBoots,
          phases,
          processes: await processesOf(runId),
        };
        progress(`round ${round}: (a) ${(ran.wallMs / 1000).toFixed(1)} s, exit ${ran.exitCode}, ${records.length} tests, ${hostBoots} host boots`);
        if (ran.exitCode !== 0) notes.push(`round ${round}: (a) exited ${ran.exitCode} (${t?.failed ?? "?"} failed; see ${path.relative(root, path.join(workDir, `a${round}.log`))})`);
        if (cases.length === 0) throw new DistcheckError("bench_no_cases", `(a) recorded no test with a cell in round ${round}; see ${path.join(workDir, `a${round}.log`)}`);
      }
      if (options.parts.includes("b") && !signal.aborted) {
        const run = identity(`b${round}`);
        ownRuns.push(run);
        progress(`round ${round}: (b) naive loop on ${Math.min(options.naiveSample, cases.length)} of ${cases.length} cases`);
        try {
          const result = await runNaive({ cases, sample: options.naiveSample, ctx, cellOf, runId: run.runId, labels: runLabels(run), workDir: path.join(workDir, `b${round}`), script: path.join(root, "bench", "naive-loop.sh"), progress, signal });
          const processes = await processesOf(run.runId);
          const perFolder = processesPerCase(containerActivity(recorder.events(), run.runId));
          const perCase = new Map(result.cases.map((c) => [c.caseId, perFolder.get(c.folder) ?? { containers: 0, execs: 0 }]));
          r.b = { ...result, processes, processesAllCases: estimateNaiveProcesses(cases, perCase, native) };
          progress(`round ${round}: (b) ${(result.measuredWallMs / 1000).toFixed(1)} s for ${result.cases.length} cases; ${(result.wall.totalMs / 1000).toFixed(1)} s ${result.wall.label}`);
          const bad = result.cases.filter((c) => c.result !== "pass");
          if (bad.length > 0) notes.push(`round ${round}: (b) ${bad.length} of ${result.cases.length} sampled cases did not pass: ${bad.map((c) => `${c.cell} ${c.kind}: ${c.result} ${c.detail}`.slice(0, 300)).join(" | ")}`);
        } finally {
          await sweep(engine, run);
        }
      }
      if (options.parts.includes("c") && !signal.aborted) {
        const run = identity(`c${round}`);
        ownRuns.push(run);
        const network = `distcheck-${run.runId}`;
        try {
          await engine.createNetwork(network, { internal: true, labels: runLabels(run) });
          const urlCells = [...new Set(cases.filter((c) => c.entry?.via === "url").map((c) => c.cell))].map(cellOf);
          const archives = servedArchives();
          const servers: FileServerPlan[] = urlCells.map((cell, i) => ({ cell, image: baseImage(cell), alias: `files-${i}`, port: 8080, files: archives }));
          const sessions = sessionPlans(ctx, cases, cellOf, (cell, file) => `http://files-${urlCells.indexOf(cell)}:8080/${file}`);
          progress(`round ${round}: (c) floor: ${sessions.length} hosts and ${servers.length} file server(s), ${options.floorConcurrency} at a time`);
          const result = await timedFloor({ docker, adapter, sessions, servers, network, concurrency: options.floorConcurrency, labels: runLabels(run), factor, progress, signal, runId: run.runId });
          r.c = { ...result, processes: await processesOf(run.runId) };
          progress(`round ${round}: (c) ${(result.wallMs / 1000).toFixed(1)} s`);
          const failed = result.sessions.filter((s) => s.error);
          if (failed.length > 0) notes.push(`round ${round}: (c) ${failed.length} host(s) stopped early: ${failed.map((s) => `${s.cell} ${s.name}: ${s.error}`.slice(0, 300)).join(" | ")}`);
          const odd = result.sessions.filter((s) => s.unexpectedAnswers > 0);
          if (odd.length > 0) notes.push(`round ${round}: (c) ${odd.reduce((n, s) => n + s.unexpectedAnswers, 0)} call(s) got another status than (a) gets, e.g. ${odd.map((s) => `${s.cell} ${s.name}: ${s.firstUnexpected}`).slice(0, 3).join(" | ")}`);
          const pip = result.sessions.filter((s) => s.wheelLayerUsed === false);
          if (pip.length > 0) notes.push(`round ${round}: (c) ${pip.length} host(s) had no wheel layer in the engine and ran (a)'s pip install instead`);
        } finally {
          await sweep(engine, run);
        }
      }
    }
    if (options.parts.includes("scale") && options.scale.length > 0 && !signal.aborted) {
      const run = identity("scale");
      ownRuns.push(run);
      // Cell containers take the run's labels from the environment (runLabels()).
      const saved = { id: process.env.DISTCHECK_RUN_ID, owner: process.env.DISTCHECK_OWNER_PID };
      process.env.DISTCHECK_RUN_ID = run.runId;
      process.env.DISTCHECK_OWNER_PID = String(process.pid);
      try {
        const template = declarations.get("ok-basic");
        if (!template) throw new Error("no ok-basic wheel declaration under fixtures/wheels: the growth measurement copies it");
        const points = await runScale({ counts: options.scale, cells, template, engine, adapter, run, hostImage, factor, progress, signal });
        scalePoints.push(...points);
      } finally {
        await sweep(engine, run);
        for (const [name, value] of [["DISTCHECK_RUN_ID", saved.id], ["DISTCHECK_OWNER_PID", saved.owner]] as const) {
          if (value === undefined) delete process.env[name];
          else process.env[name] = value;
        }
      }
    }
  } finally {
    recorder.stop();
    // An interrupted part may have left containers its own sweep has not seen yet.
    for (const run of ownRuns) await sweep(engine, run).catch(() => undefined);
  }

  const casesByKind: Record<string, number> = {};
  for (const c of workloadCases) casesByKind[c.kind] = (casesByKind[c.kind] ?? 0) + 1;
  if (rounds.some((r) => r.b)) notes.push("(b) ran a sample of the cases, spread over platform x kind of case; its wall time and phases are the sampled means times each stratum's case count (bench/extrapolation.ts)");
  if (signal.aborted) notes.push("interrupted: the figures cover what finished");
  const result: BenchResult = {
    id,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    options,
    machine: { cores: os.availableParallelism(), node: process.version, engine: `${version.version} (API ${version.apiVersion})`, nativePlatform: native },
    workload: { name: options.workload, suites: suites ?? selection.matrix.suites, cells: cells.map((c) => c.id), cases: workloadCases.length, casesByKind },
    rounds,
    summary: summarize(rounds),
    scale: scalePoints,
    notes,
  };
  writeFileSync(path.join(outDir, `${id}.json`), `${JSON.stringify(result, null, 2)}\n`);
  return result;
}

export { renderReport };

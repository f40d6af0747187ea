import type { TestProject } from "vitest/node";
import { DockerEngine, resolveEndpoint } from "../../src/engine/docker-engine.ts";
import { ImageService } from "../../src/images/image-service.ts";
import { hostAdapter } from "../../src/hosts/host-adapters.ts";
import { COMPATIBILITY_CORE_VERSIONS } from "../../src/hosts/core-version-plan.ts";
import { currentRun, processAlive, runLabels } from "../../src/run/run-identity.ts";
import { sweep } from "../../src/run/run-sweeper.ts";
import { removeScratchDir } from "../../src/run/scratch.ts";
import { PROJECT_ROOT, runCells } from "./cells.ts";
import { TestcontainersCellFactory } from "../../src/containers/testcontainers-cell-factory.ts";
import { nativePlatform, type PlatformId } from "../../src/platform/platforms.ts";
import { cpuFactor, probeTiming, timingFactor, type TimingProbe } from "../../src/timing/timing-factor.ts";
import type { Cell } from "../../src/matrix/matrix.ts";
import { MatrixError } from "../../src/errors/distcheck-error.ts";
import { oneEngineOf } from "../../src/matrix/selection.ts";
import { buildFixtures } from "../../src/fixtures/index.ts";
import { writeRunEnvironment } from "../../src/report/run-environment.ts";
import { findMutant, loadMutants } from "../../src/mutants/mutant-catalog.ts";
import { fromEnv } from "../../src/run/run-protocol.ts";
import { CERTIFY_PLAN_VARIABLE, readCertifyPlan } from "../../src/certify/dynamic-plan.ts";

/**
 * Image tags per cell id, provided to the suites: the base, the host layer, and for hosts that take
 * their core version from their own metadata one host layer per version under test.
 */
export type CellImages = Record<string, { base: string; host: string; versions?: Record<string, string> }>;

declare module "vitest" {
  export interface ProvidedContext {
    runId: string;
    runOwnerPid: number;
    cellImages: CellImages;
    /** Measured (or configured) slowdown per platform; timing tolerances are multiplied by it. */
    timingFactors: Partial<Record<PlatformId, number>>;
    /** Measured slowdown of running code (no process start) per platform; tolerances of moments a host times itself use it. */
    cpuFactors: Partial<Record<PlatformId, number>>;
  }
}

/**
 * Runs once per vitest process, before any suite: joins or starts a run, sweeps what dead runs
 * left, makes sure every image the cells need exists (building only what is missing unless the
 * CLI already did), and hands the image tags to the suites. Its teardown removes everything
 * labelled with this run. When the process that started vitest dies (kill -9 of the CLI), the
 * watcher tears down and exits, so no container outlives the run.
 */
export default async function globalSetup(project: TestProject): Promise<() => Promise<void>> {
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";
  const protocol = fromEnv(process.env);
  const run = currentRun();
  const cells = runCells(protocol);
  const engines = new Map<string, DockerEngine>();
  /** The engine of a cell's platform, one per endpoint. */
  const engineOf = (cell: Cell): DockerEngine => {
    const endpoint = resolveEndpoint(cell.platform.engine);
    let engine = engines.get(endpoint);
    if (!engine) engines.set(endpoint, (engine = new DockerEngine(endpoint)));
    return engine;
  };
  for (const cell of cells) engineOf(cell);
  // testcontainers drives one engine per process: `distcheck run` starts one vitest per engine.
  oneEngineOf(cells);
  for (const engine of engines.values()) {
    await engine.version();
    await sweep(engine);
  }

  const fixtures = await buildFixtures({ root: PROJECT_ROOT, onProgress: (line) => process.stderr.write(`[fixtures] ${line}\n`) });
  if (!fixtures.skipped) process.stderr.write(`[fixtures] built in ${(fixtures.durationMs / 1000).toFixed(1)} s\n`);

  const cellImages: CellImages = {};
  for (const cell of cells) {
    const service = new ImageService(engineOf(cell), PROJECT_ROOT);
    const base = service.hostBaseTarget(cell.host, cell.base.image, cell.platform.id);
    // A mutant boots a reference host built with one clause broken (hosts/reference mutants).
    const mutant = protocol.mutant && cell.host.adapter === "reference" ? findMutant(loadMutants(cell.host.source), protocol.mutant).name : undefined;
    const host = service.hostTarget(cell.host, base, { mutant });
    const versions = hostAdapter(cell.host.adapter).coreVersionAtBoot ? [] : coreVersionsFor(cell).map((version) => service.hostTarget(cell.host, base, { version }));
    if (!protocol.skipImageBuild) {
      await service.ensure([base, host, ...versions], { runLabels: runLabels(run), progress: (t, line) => process.stderr.write(`[images] ${t}: ${line}\n`) });
    }
    cellImages[cell.id] = { base: base.tag, host: host.tag, ...(versions.length > 0 ? { versions: Object.fromEntries(versions.map((v) => [v.settings.coreVersion, v.tag])) } : {}) };
  }
  // A run without a native cell (say, aarch64 only) still measures its factor against the native
  // platform: a native base image of the same Debian suite serves as the reference.
  const native = nativePlatform();
  const probeCells = [...cells];
  if (native && !cells.some((c) => c.platform.id === native) && cells.some((c) => c.platform.timingFactor === "auto")) {
    // Only on the same engine: this process's containers run on one (and another machine's speed is no reference).
    const reference = runCells({ ...protocol, platforms: [native] }).find((c) => c.base.id === cells[0]!.base.id && engines.has(resolveEndpoint(c.platform.engine)));
    if (reference) {
      const service = new ImageService(engineOf(reference), PROJECT_ROOT);
      const base = service.baseTarget(reference.base.image, reference.platform.id);
      if (!protocol.skipImageBuild) await service.ensure([base], { runLabels: runLabels(run), progress: (t, line) => process.stderr.write(`[images] ${t}: ${line}\n`) });
      cellImages[reference.id] = { base: base.tag, host: base.tag };
      probeCells.push(reference);
    }
  }
  const { factors: timingFactors, cpu: cpuFactors } = await measureTimingFactors(probeCells, cellImages);
  for (const platform of Object.keys(timingFactors) as PlatformId[]) if (!cells.some((c) => c.platform.id === platform)) delete timingFactors[platform];
  project.provide("cpuFactors", cpuFactors);
  for (const id of Object.keys(cellImages)) if (!cells.some((c) => c.id === id)) delete cellImages[id];
  project.provide("timingFactors", timingFactors);
  const hostVersions = Object.fromEntries(cells.map((c) => [c.host.id, hostAdapter(c.host.adapter).defaultVersion(c.host.source)]));
  if (protocol.resultsDir) await writeRunEnvironment(protocol.resultsDir, [...engines.values()], cellImages, timingFactors, [...new Set(cells.map((c) => c.platform.id))], hostVersions, Object.fromEntries(fixtures.index.entries.map((e) => [e.file, e.sha256])));
  project.provide("runId", run.runId);
  project.provide("runOwnerPid", run.ownerPid);
  project.provide("cellImages", cellImages);

  let tornDown = false;
  const teardown = async (): Promise<void> => {
    if (tornDown) return;
    tornDown = true;
    clearInterval(watcher);
    for (const engine of engines.values()) await sweep(engine, run);
    if (run.ownerPid === process.pid) removeScratchDir();
  };
  const parent = protocol.parentPid;
  // A parent that captures this process's output (the mutation runner) closes the pipes when it dies:
  // the next write would end this process with EPIPE before the watcher below removes the run's
  // containers. Writes to a closed pipe are dropped instead.
  for (const stream of [process.stdout, process.stderr]) stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
  });
  const watcher = setInterval(() => {
    if (parent !== undefined && !processAlive(parent)) {
      process.stderr.write(`distcheck: the run's parent process ${parent} is gone; removing this run's containers and exiting\n`);
      void orphanedTeardown().finally(() => process.exit(130));
    }
  }, 1000);
  /**
   * The run was killed under its suites: they may still be starting containers (a create already sent
   * completes in the engine), so one sweep can miss some. Sweep until two sweeps a second apart find
   * nothing, at most ten times.
   */
  const orphanedTeardown = async (): Promise<void> => {
    clearInterval(watcher);
    let quiet = 0;
    for (let round = 0; round < 10 && quiet < 2; round++) {
      let removed = 0;
      for (const engine of engines.values()) {
        const r = await sweep(engine, run).catch(() => ({ containers: [], networks: [] }));
        removed += r.containers.length + r.networks.length;
      }
      quiet = removed === 0 ? quiet + 1 : 0;
      await new Promise((r) => setTimeout(r, 1000));
    }
    await teardown();
  };
  watcher.unref();
  return teardown;
}

/**
 * Timing factors: a number from the matrix is used as is; `auto` runs the timing probe in a
 * container of the platform and divides by the same probe on the native platform.
 */
async function measureTimingFactors(cells: Cell[], images: CellImages): Promise<{ factors: Partial<Record<PlatformId, number>>; cpu: Partial<Record<PlatformId, number>> }> {
  const factors: Partial<Record<PlatformId, number>> = {};
  const cpu: Partial<Record<PlatformId, number>> = {};
  const factory = new TestcontainersCellFactory();
  const native = nativePlatform();
  const probes = new Map<PlatformId, TimingProbe>();
  const probe = async (cell: Cell): Promise<TimingProbe> => {
    const known = probes.get(cell.platform.id);
    if (known) return known;
    const container = await factory.start(cell, { image: images[cell.id]!.base });
    try {
      const measured = await probeTiming(container);
      probes.set(cell.platform.id, measured);
      return measured;
    } finally {
      await container.stop();
    }
  };
  const nativeCell = cells.find((c) => c.platform.id === native);
  for (const cell of cells) {
    if (factors[cell.platform.id] !== undefined) continue;
    if (cell.platform.timingFactor !== "auto") factors[cell.platform.id] = cpu[cell.platform.id] = cell.platform.timingFactor;
    else if (cell.platform.id === native || !nativeCell) factors[cell.platform.id] = cpu[cell.platform.id] = cell.platform.id === native ? 1 : Number.NaN;
    else {
      const [p, n] = [await probe(cell), await probe(nativeCell)];
      factors[cell.platform.id] = timingFactor(p, n);
      cpu[cell.platform.id] = cpuFactor(p, n);
      process.stderr.write(`[timing] ${cell.platform.id}: factor ${factors[cell.platform.id]}, CPU factor ${cpu[cell.platform.id]} (start-up ${p.startupMs.toFixed(1)} ms vs ${n.startupMs.toFixed(1)} ms native; CPU ${p.cpuMs.toFixed(1)} ms vs ${n.cpuMs.toFixed(1)} ms)\n`);
    }
  }
  for (const [platform, factor] of Object.entries(factors)) {
    if (Number.isNaN(factor)) {
      throw new MatrixError(`Cannot measure the timing factor of ${platform} without a ${native ?? "native"} cell on the same Docker engine to compare with; add one to the filters or set matrix.platforms[].timingFactor to a number (1 for a native engine of the platform).`);
    }
  }
  return { factors, cpu };
}

/**
 * The core versions a host that reads its version from its own metadata needs images of: a
 * certification's boundary probes when `distcheck certify` runs the suite, else the compatibility plan.
 */
function coreVersionsFor(cell: Cell): string[] {
  if (!process.env[CERTIFY_PLAN_VARIABLE]) return [...COMPATIBILITY_CORE_VERSIONS];
  const jobs = readCertifyPlan().jobs.filter((j) => j.host === cell.host.id);
  return [...new Set(jobs.flatMap((j) => j.coreProbes.map((p) => p.version)))];
}


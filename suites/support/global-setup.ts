import type { TestProject } from "vitest/node";
import { DockerEngine, resolveEndpoint } from "../../src/engine/docker-engine.ts";
import { ImageService, defaultHostSettings } from "../../src/images/image-service.ts";
import { currentRun, processAlive, runLabels } from "../../src/run/run-identity.ts";
import { sweep } from "../../src/run/run-sweeper.ts";
import { removeScratchDir } from "../../src/run/scratch.ts";
import { PROJECT_ROOT, runCells } from "./cells.ts";

/** Image tags per cell id, provided to the suites. */
export type CellImages = Record<string, { base: string; host: string }>;

declare module "vitest" {
  export interface ProvidedContext {
    runId: string;
    cellImages: CellImages;
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
  const run = currentRun();
  const cells = runCells();
  const engines = new Map<string, DockerEngine>();
  for (const cell of cells) {
    const endpoint = resolveEndpoint(cell.platform.engine);
    if (!engines.has(endpoint)) engines.set(endpoint, new DockerEngine(endpoint));
  }
  for (const engine of engines.values()) {
    await engine.version();
    await sweep(engine);
  }

  const cellImages: CellImages = {};
  for (const cell of cells) {
    const service = new ImageService(engines.get(resolveEndpoint(cell.platform.engine))!, PROJECT_ROOT);
    const base = service.baseTarget(cell.base.image, cell.platform.id);
    const host = service.hostTarget(cell.host.id, cell.host.path, base, defaultHostSettings(`${PROJECT_ROOT}/${cell.host.path}`));
    if (process.env.DISTCHECK_SKIP_IMAGE_BUILD !== "1") {
      await service.ensure([base, host], { runLabels: runLabels(run), progress: (t, line) => process.stderr.write(`[images] ${t}: ${line}\n`) });
    }
    cellImages[cell.id] = { base: base.tag, host: host.tag };
  }
  project.provide("runId", run.runId);
  project.provide("cellImages", cellImages);

  let tornDown = false;
  const teardown = async (): Promise<void> => {
    if (tornDown) return;
    tornDown = true;
    clearInterval(watcher);
    for (const engine of engines.values()) await sweep(engine, run);
    if (run.ownerPid === process.pid) removeScratchDir();
  };
  const parent = Number(process.env.DISTCHECK_PARENT_PID ?? 0);
  const watcher = setInterval(() => {
    if (parent > 0 && !processAlive(parent)) {
      process.stderr.write(`distcheck: the run's parent process ${parent} is gone; removing this run's containers and exiting\n`);
      void teardown().finally(() => process.exit(130));
    }
  }, 1000);
  watcher.unref();
  return teardown;
}

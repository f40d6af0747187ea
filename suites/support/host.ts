import path from "node:path";
import { expect, inject, type TestContext } from "vitest";
import type { FileToPut } from "../../src/containers/cell-container.ts";
import { RunNetwork } from "../../src/containers/run-network.ts";
import { TestcontainersCellFactory } from "../../src/containers/testcontainers-cell-factory.ts";
import { DockerEngine, resolveEndpoint } from "../../src/engine/docker-engine.ts";
import type { FixtureIndexEntry, WheelIndexEntry } from "../../src/fixtures/build/fixture-index.ts";
import { InfrastructureError } from "../../src/errors/distcheck-error.ts";
import { BootedHost, HostBootError } from "../../src/hosts/booted-host.ts";
import type { ClauseFamily, HostAdapter, HostLaunch, HostSettings } from "../../src/hosts/host-adapter.ts";
import { hostAdapter } from "../../src/hosts/host-adapters.ts";
import { ensureWheelLayer } from "../../src/images/wheel-layer.ts";
import type { Cell } from "../../src/matrix/matrix.ts";
import { CONTAINER_WHEELS, containerPath, toContainer, wheel } from "./fixture-files.ts";
import type { FailureAttachment } from "../../src/report/test-record.ts";
import { CellNeverReadyError, neverReadyFailure, runCellHealth } from "../../src/run/cell-health.ts";

const factory = new TestcontainersCellFactory();
const engines = new Map<string, { engine: DockerEngine; network: RunNetwork }>();

function engineFor(cell: Cell): { engine: DockerEngine; network: RunNetwork } {
  const endpoint = resolveEndpoint(cell.platform.engine);
  let found = engines.get(endpoint);
  if (!found) {
    const engine = new DockerEngine(endpoint);
    found = { engine, network: new RunNetwork(engine) };
    engines.set(endpoint, found);
  }
  return found;
}

/** The platform's measured timing factor (1 for native). */
export function timingFactorOf(cell: Cell): number {
  return inject("timingFactors")[cell.platform.id] ?? 1;
}

/** The platform's measured slowdown of running code, without process starts (1 for native). */
export function cpuFactorOf(cell: Cell): number {
  return inject("cpuFactors")[cell.platform.id] ?? timingFactorOf(cell);
}

/**
 * A test or hook timeout for work that runs inside the cell's containers: the native budget
 * multiplied by the platform's measured timing factor (qemu makes every process start slower).
 */
export function scaledTimeout(cell: Cell, nativeMs: number): number {
  // Capped: under heavy load qemu's measured factor has reached 130, and a hang must still end the
  // test in minutes, not hours.
  return Math.min(Math.ceil(nativeMs * timingFactorOf(cell)), Math.max(nativeMs, MAX_TIMEOUT_MS));
}

/** No container test waits longer than this for one step, whatever the timing factor. */
export const MAX_TIMEOUT_MS = 10 * 60_000;

/** The adapter of the cell's host. */
export function adapterOf(cell: Cell): HostAdapter {
  return hostAdapter(cell.host.adapter);
}

/** Whether the cell's host implements every family of `clauses` (tests of others are not applicable there). */
export function implementsFamilies(cell: Cell, ...families: ClauseFamily[]): boolean {
  return families.every((f) => adapterOf(cell).families.includes(f));
}

/** A sample wheel rendered for the cell's host (its adapter's fixture template). */
export function sampleWheel(cell: Cell, name: string): WheelIndexEntry {
  return wheel(name, adapterOf(cell).templateId);
}

export interface BootHostOptions {
  /** Sample wheels pip-installed (from a local folder, --no-index) before the host boots; the install is a cached image layer. */
  wheels?: FixtureIndexEntry[];
  /** Other fixtures (archives, hostile archives) copied into the container, not installed. */
  files?: FixtureIndexEntry[];
  extraFiles?: FileToPut[];
  /** Contract settings, mapped onto the host's configuration by its adapter. */
  settings?: HostSettings;
  /** A launch of the adapter's own (its HST-01 defaults probe) instead of the settings'. */
  launch?: HostLaunch;
  env?: Record<string, string>;
  /**
   * The suite measures how long this host takes (stop timing, poll spacing): its container gets
   * TIMING_CPU_SHARES, so the suite file running beside it does not slow the host it times.
   */
  timed?: boolean;
}

/** CPU weight of a timed host's container: 8 times a default container's (1024). */
export const TIMING_CPU_SHARES = 8192;

/**
 * The host image of a cell at a core version: hosts that take the version at boot run their one
 * image with the setting, the others boot the image built at that version (global setup built it).
 */
function imageAt(cell: Cell, settings: HostSettings | undefined): { image: string; settings: HostSettings | undefined } {
  const images = inject("cellImages")[cell.id]!;
  const version = settings?.coreVersion;
  if (version === undefined || adapterOf(cell).coreVersionAtBoot) return { image: images.host, settings };
  const image = images.versions?.[version];
  if (!image) throw new Error(`no ${cell.host.id} image at core version ${version} in ${cell.id}; the global setup builds COMPATIBILITY_CORE_VERSIONS (src/hosts/core-version-plan.ts) only`);
  const { coreVersion: _built, ...rest } = settings!;
  return { image, settings: rest };
}

/**
 * Boots the cell's host in a clean container on the run's internal network, with sample wheels
 * installed first. The container is removed by `host[Symbol.asyncDispose]` (use `await using`) or,
 * at the latest, by the run's sweep. A cell whose host never became ready in an earlier boot of the
 * run is not booted again: this throws `CellNeverReadyError`, which distcheck's reporter records as
 * the test not run (and the cell's one HST-02 failure).
 */
export async function bootHost(cell: Cell, options: BootHostOptions = {}): Promise<BootedHost> {
  // A host that never became ready in an earlier boot of this cell (any suite file, any worker) is
  // not waited for again: the cell has its one HST-02 failure, and this test is reported as not run.
  const health = runCellHealth();
  const earlier = health.neverReady(cell.id);
  if (earlier) throw new CellNeverReadyError(earlier);
  try {
    return await startHost(cell, options);
  } catch (error) {
    if (!(error instanceof HostBootError && error.neverReady)) throw error;
    // The suite file booting it names the failure; vitest knows it in every hook and test of the file.
    const file = path.relative(process.cwd(), expect.getState().testPath ?? "unknown file");
    const { failure } = health.markNeverReady(neverReadyFailure({ cellId: cell.id, file, message: error.message, stack: error.stack, log: error.log }));
    // The first boot to give up and any that gave up with it throw alike: the reporter turns each
    // into the cell's one failure (same record, keyed by the marker) and a test not run.
    throw new CellNeverReadyError(failure);
  }
}

async function startHost(cell: Cell, options: BootHostOptions): Promise<BootedHost> {
  const { engine, network } = engineFor(cell);
  const wheels = options.wheels ?? [];
  const copied = toContainer([...wheels, ...(options.files ?? [])]);
  const files = [...copied, ...(options.extraFiles ?? [])];
  const at = imageAt(cell, options.settings);
  let image = at.image;
  if (wheels.length > 0) {
    // pip runs once per host image and wheel set; the result is committed by content hash and every
    // later boot of the same wheels starts from it (see src/images/wheel-layer.ts).
    const pip = ["python3", "-m", "pip", "install", "--no-index", "--find-links", CONTAINER_WHEELS, ...wheels.map(containerPath)];
    const folder = copied.filter((f) => f.target.startsWith(`${CONTAINER_WHEELS}/`));
    try {
      image = await ensureWheelLayer(engine, { hostTag: image, platform: cell.platform.info, files: folder, pip });
    } catch (error) {
      // The machine's fault (binfmt off, engine gone) keeps its category; pip's own failure is the suite's.
      if (error instanceof InfrastructureError) throw error;
      throw new Error(`pip install of ${wheels.map((w) => w.name).join(", ")} failed in ${cell.id}: ${(error as Error).message}`, { cause: error });
    }
  }
  const host = await BootedHost.start(factory, engine, {
    cell,
    image,
    network: await network.name(),
    settings: at.settings,
    launch: options.launch,
    env: options.env,
    files,
    timingFactor: timingFactorOf(cell),
    cpuShares: options.timed ? TIMING_CPU_SHARES : undefined,
  });
  return host;
}

/**
 * On failure, attach what a person needs to the test: the host's log and whatever `extra` returns
 * (install output, timeline, archive listing), one attachment each. They travel in the test's own
 * task meta (annotations are refused once a test has failed), so concurrent tests never mix them;
 * distcheck's reporter turns them into Allure attachments.
 */
export function attachOnFailure(ctx: TestContext, host: () => BootedHost | undefined, extra?: () => Promise<Record<string, unknown>>): void {
  // ctx.onTestFailed, not the global one: the global hook cannot tell concurrent tests apart.
  ctx.onTestFailed(async () => {
    const attachments: FailureAttachment[] = [];
    const h = host();
    if (h) attachments.push({ name: `host log (${h.container.cell.id})`, body: h.log.slice(-64_000), contentType: "text/plain" });
    if (extra) {
      const more = await extra().catch((e: unknown) => ({ "diagnostics error": String(e) }));
      for (const [name, v] of Object.entries(more)) {
        // A diagnostic the test never got to (still undefined) has nothing to attach.
        if (v === undefined) continue;
        attachments.push(typeof v === "string" ? { name, body: v, contentType: "text/plain" } : { name, body: JSON.stringify(v, null, 2), contentType: "application/json" });
      }
    }
    const meta = ctx.task.meta as { distcheckAttachments?: FailureAttachment[] };
    meta.distcheckAttachments = [...(meta.distcheckAttachments ?? []), ...attachments];
  });
}

import { RunNetwork } from "../src/containers/run-network.ts";
import { TestcontainersCellFactory } from "../src/containers/testcontainers-cell-factory.ts";
import type { DockerEngine } from "../src/engine/docker-engine.ts";
import type { WheelDeclaration } from "../src/fixtures/declarations/fixture-declaration.ts";
import { ReferenceHostTemplate } from "../src/fixtures/templates/reference-host-template.ts";
import { buildWheel } from "../src/fixtures/wheels/wheel-builder.ts";
import { BootedHost } from "../src/hosts/booted-host.ts";
import type { HostAdapter } from "../src/hosts/host-adapter.ts";
import { observeWheels, predictWheelsFor } from "../src/hosts/wheel-observation.ts";
import type { Cell } from "../src/matrix/matrix.ts";
import { judgeWheels } from "../src/oracle/index.ts";
import type { RunIdentity } from "../src/run/run-identity.ts";
import { CONTAINER_WHEELS } from "../suites/support/fixture-files.ts";
import { zeroPhases, type Phase } from "./phases.ts";
import { scaledSamples } from "./sample-wheels.ts";

/**
 * How (a)'s discovery grows with the number of sample wheels. The discovery suite installs a fixed
 * set, so this is a workload of the bench's own, run with distcheck's library the way the suite runs
 * its discovery host: per cell, all cells at once, a clean container of the cell's host image
 * (TestcontainersCellFactory: labels, limits, the architecture check), N generated wheels
 * pip-installed from a local folder, the host booted (BootedHost), everything it lists, reports and
 * registers observed (observeWheels) and judged against the oracle (judgeWheels), the container
 * removed. pip runs in the container every time: a wheel layer would be committed as an image, and
 * a `distcheck run` with a new wheel set pays that install once too.
 */

export interface ScaleCell {
  cell: string;
  phases: Record<Phase, number>;
  /** Extensions the host listed, and what the judgement found wrong (empty when every wheel was discovered as predicted). */
  listed: number;
  problems: string[];
  error?: string;
}

export interface ScalePoint {
  wheels: number;
  wallMs: number;
  cells: ScaleCell[];
  phases: Record<Phase, number>;
}

async function oneCell(o: { engine: DockerEngine; adapter: HostAdapter; cell: Cell; image: string; network: string; factor: number; decls: WheelDeclaration[]; wheels: Array<{ target: string; content: Buffer }> }): Promise<ScaleCell> {
  const phases = zeroPhases();
  const result: ScaleCell = { cell: o.cell.id, phases, listed: 0, problems: [] };
  let host: BootedHost | undefined;
  try {
    let t = performance.now();
    if (!(await o.engine.inspectImage(o.image))) throw new Error(`image ${o.image} is missing; run \`npx distcheck images build\``);
    phases.image = performance.now() - t;
    host = await BootedHost.start(new TestcontainersCellFactory(), o.engine, {
      cell: o.cell,
      image: o.image,
      network: o.network,
      files: o.wheels,
      timingFactor: o.factor,
      beforeBoot: async (container) => {
        const r = await container.exec(["python3", "-m", "pip", "install", "--no-index", "--find-links", CONTAINER_WHEELS, ...o.wheels.map((w) => w.target)]);
        if (r.exitCode !== 0) throw new Error(`pip install of ${o.wheels.length} wheels failed: ${r.stderr.slice(-500)}`);
      },
    });
    phases.container = host.startPhases!.containerMs;
    phases.install = host.startPhases!.beforeBootMs;
    phases.boot = host.startPhases!.bootMs;
    t = performance.now();
    const seen = await observeWheels(host);
    const predicted = predictWheelsFor(o.adapter, o.decls, { coreVersion: await host.coreVersion() });
    const judgement = judgeWheels(o.decls, predicted, seen);
    phases.assertions = performance.now() - t;
    result.listed = seen.extensions.length;
    result.problems = judgement.problems.map((p) => p.message);
  } catch (error) {
    result.error = (error as Error).message;
  } finally {
    const t = performance.now();
    await host?.[Symbol.asyncDispose]().catch(() => undefined);
    phases.teardown = performance.now() - t;
  }
  return result;
}

/** Measures discovery with each count of wheels in turn, the cells of each count at once. */
export async function runScale(o: {
  counts: number[];
  cells: Cell[];
  template: WheelDeclaration;
  engine: DockerEngine;
  adapter: HostAdapter;
  run: RunIdentity;
  hostImage: (cell: Cell) => string;
  factor: (cell: Cell) => number;
  progress: (line: string) => void;
  signal?: AbortSignal;
}): Promise<ScalePoint[]> {
  const network = await new RunNetwork(o.engine, o.run).name();
  const template = new ReferenceHostTemplate();
  const points: ScalePoint[] = [];
  for (const count of o.counts) {
    if (o.signal?.aborted) break;
    const decls = scaledSamples(o.template, count);
    const wheels = decls.map((d) => {
      const built = buildWheel(d, template);
      return { target: `${CONTAINER_WHEELS}/${built.fileName}`, content: built.bytes };
    });
    o.progress(`scale: discovery of ${count} sample wheels on ${o.cells.length} cell(s)`);
    const t0 = performance.now();
    const cells = await Promise.all(o.cells.map((cell) => oneCell({ engine: o.engine, adapter: o.adapter, cell, image: o.hostImage(cell), network, factor: o.factor(cell), decls, wheels })));
    const wallMs = performance.now() - t0;
    const phases = zeroPhases();
    for (const c of cells) for (const [p, ms] of Object.entries(c.phases) as Array<[Phase, number]>) phases[p] += ms;
    for (const c of cells) {
      const bad = c.error ?? (c.problems.length > 0 ? `${c.problems.length} problem(s): ${c.problems.slice(0, 3).join("; ")}` : undefined);
      o.progress(`scale ${count}: ${c.cell}: listed ${c.listed}${bad ? `, ${bad}` : ""}`);
    }
    points.push({ wheels: count, wallMs, cells, phases });
  }
  return points;
}

import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DockerEngine, resolveEndpoint } from "../engine/docker-engine.ts";
import type { ContainerEngine } from "../engine/container-engine.ts";
import { expandCells, filterMatrix, loadMatrix } from "./matrix-loader.ts";
import type { Cell, Matrix, MatrixFilter, MatrixHost } from "./matrix.ts";
import { DistcheckError } from "../errors/distcheck-error.ts";
import type { PlatformId } from "../platform/platforms.ts";

/** The distcheck package root (where the default matrix, images/ and hosts/ live). */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** The project root: the current folder when it has a matrix.json, else the package root. */
export function projectRoot(cwd = process.cwd()): string {
  return existsSync(path.join(cwd, "matrix.json")) ? cwd : PACKAGE_ROOT;
}

/** The matrix file and its filters, as the command line gives them. */
export interface MatrixOptions {
  /** @default matrix.json of the project root */
  matrix?: string;
  platform?: string[];
  python?: string[];
  suite?: string[];
  host?: string[];
}

/** A loaded, filtered matrix and the cells it covers. */
export interface Selection {
  root: string;
  matrixFile: string;
  matrix: Matrix;
  cells: Cell[];
  /** The matrix with only the platform and base filters: every host, for reports that merge runs of several. */
  allHosts: Matrix;
}

export function select(options: MatrixOptions): Selection {
  const root = projectRoot();
  const matrixFile = path.resolve(options.matrix ?? path.join(root, "matrix.json"));
  const filter: MatrixFilter = { platform: options.platform, python: options.python, suite: options.suite, host: options.host };
  const loaded = loadMatrix(matrixFile, root);
  const matrix = filterMatrix(loaded, filter);
  // Hosts are not narrowed (nor their sources checked) here: a report names only those that ran.
  const allHosts = { ...matrix, hosts: loaded.hosts, excluded: loaded.excluded.filter((e) => matrix.platforms.some((p) => p.id === e.platform) && matrix.bases.some((b) => b.id === e.base)) };
  return { root, matrixFile, matrix, cells: expandCells(matrix), allHosts };
}

/** One engine per distinct endpoint, with the platforms it serves. */
export function enginesFor(matrix: Matrix): Array<{ platforms: PlatformId[]; engine: ContainerEngine }> {
  const byEndpoint = new Map<string, PlatformId[]>();
  for (const p of matrix.platforms) {
    const endpoint = resolveEndpoint(p.engine);
    byEndpoint.set(endpoint, [...(byEndpoint.get(endpoint) ?? []), p.id]);
  }
  return [...byEndpoint].map(([endpoint, platforms]) => ({ platforms, engine: new DockerEngine(endpoint) }));
}

/**
 * The endpoint of the one engine the cells of a vitest process run on (testcontainers drives one
 * engine per process; `distcheck run` starts one vitest per engine); undefined without cells. Cells
 * on several engines are refused with `engine_per_process` (input: how the process was started).
 */
export function oneEngineOf(cells: Cell[]): string | undefined {
  const byEndpoint = new Map<string, Set<string>>();
  for (const c of cells) {
    const endpoint = resolveEndpoint(c.platform.engine);
    byEndpoint.set(endpoint, (byEndpoint.get(endpoint) ?? new Set()).add(c.platform.id));
  }
  if (byEndpoint.size > 1) {
    const where = [...byEndpoint].map(([e, platforms]) => `${e} (${[...platforms].join(", ")})`);
    throw new DistcheckError(
      "engine_per_process",
      `The selected cells run on ${byEndpoint.size} Docker engines: ${where.join("; ")}. One vitest process drives one engine; run \`npx distcheck run\` (one vitest per engine), or narrow this run to one engine's platforms with DISTCHECK_FILTER_PLATFORM.`,
      { category: "input" },
    );
  }
  return byEndpoint.keys().next().value;
}

/** The selected host with a mutant catalog (mutants exist only for the reference host). */
export function referenceHost(selection: Selection): MatrixHost {
  const host = selection.matrix.hosts.find((h) => h.adapter === "reference");
  if (!host) throw new DistcheckError("mutant_host_missing", `Mutants need the reference host in the selection; selected: ${selection.matrix.hosts.map((h) => h.id).join(", ")}.`, { category: "input" });
  return host;
}

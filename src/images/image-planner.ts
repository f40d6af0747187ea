import { existsSync } from "node:fs";
import { expandCells } from "../matrix/matrix-loader.ts";
import { enginesFor, type Selection } from "../matrix/selection.ts";
import { hostAdapter } from "../hosts/host-adapters.ts";
import { COMPATIBILITY_CORE_VERSIONS } from "../hosts/core-version-plan.ts";
import { IMAGE_LABELS, ImageService, isWanted, isWheelLayer, type ImageTarget } from "./image-service.ts";
import { runLabels } from "../run/run-identity.ts";

/** What to plan beyond the selected cells' base and host images. */
export interface ImagePlanOptions {
  /** Only the base images, not the host layers. @default false */
  baseOnly?: boolean;
  /** A host build with this mutant switched on, per cell. */
  mutant?: string;
  /** The host build of every mutant in each cell's host catalog (`npm run mutants` reuses them). @default false */
  mutantCatalogs?: boolean;
  /** Every matrix host whose source is here, not only the selected ones (list, prune). @default false */
  everyHost?: boolean;
}

/**
 * Every base and host image the selected cells need, per engine. With `mutantCatalogs`, also the host
 * build of every mutant in each cell's host catalog (`npm run mutants` reuses them). A host that
 * cannot take its core version at boot gets an image per version the compatibility suite uses.
 */
export function plannedImages(selection: Selection, options: ImagePlanOptions = {}): Array<{ service: ImageService; targets: ImageTarget[] }> {
  // With everyHost (list, prune): the images of every matrix host whose source is here, so pruning
  // after a default run keeps the images of a host only --host runs.
  const cells = options.everyHost ? expandCells({ ...selection.allHosts, hosts: selection.allHosts.hosts.filter((h) => existsSync(h.source)) }) : selection.cells;
  return enginesFor(selection.matrix).map(({ platforms, engine }) => {
    const service = new ImageService(engine, selection.root);
    const targets: ImageTarget[] = [];
    for (const cell of cells.filter((c) => platforms.includes(c.platform.id))) {
      const adapter = hostAdapter(cell.host.adapter);
      const base = service.hostBaseTarget(cell.host, cell.base.image, cell.platform.id);
      targets.push(base);
      if (options.baseOnly) continue;
      const mutants = [options.mutant, ...(options.mutantCatalogs ? adapter.mutants(cell.host.source) : [])];
      for (const mutant of mutants) targets.push(service.hostTarget(cell.host, base, { mutant }));
      if (!adapter.coreVersionAtBoot && selection.matrix.suites.includes("compatibility")) {
        for (const version of COMPATIBILITY_CORE_VERSIONS) targets.push(service.hostTarget(cell.host, base, { version }));
      }
    }
    return { service, targets: dedupe(targets) };
  });
}

/** A host build with a mutant switched on. */
function isMutantBuild(target: ImageTarget): boolean {
  return target.kind === "host" && target.settings.mutant !== undefined;
}

function dedupe(targets: ImageTarget[]): ImageTarget[] {
  return [...new Map(targets.map((t) => [t.tag, t])).values()];
}

/** Builds what is missing; reports one progress line per image. Returns the number built. */
export async function buildImages(
  selection: Selection,
  options: { force?: boolean; concurrency?: number; baseOnly?: boolean; mutant?: string; progress: (line: string) => void },
): Promise<number> {
  const { progress } = options;
  let built = 0;
  for (const { service, targets } of plannedImages(selection, options)) {
    const results = await service.ensure(targets, { force: options.force, concurrency: options.concurrency, progress: (t, line) => progress(`${t}: ${line}`), runLabels: runLabels() });
    for (const t of targets) {
      const r = results.get(t.tag);
      if (r?.status === "built") built += 1;
      progress(`${r?.status === "built" ? "built     " : "up to date"} ${t.tag}`);
    }
  }
  return built;
}

/** One of distcheck's images, held by the engine or missing from it. */
export interface ImageRow {
  tag: string;
  kind: string;
  platform: string;
  /** 0 for an image the engine does not hold. */
  sizeMiB: number;
  /** Wanted by the matrix, by its hosts' mutant catalog, or a wheel layer on a wanted host image. */
  wanted: boolean;
  /** A wheel layer: a cache `images prune --caches` removes even while wanted. */
  cache: boolean;
}

/** distcheck's images in each engine, and the wanted ones it lacks (missing mutant builds aside: `npm run mutants` builds the ones it needs). */
export async function listImages(selection: Selection): Promise<ImageRow[]> {
  const rows: ImageRow[] = [];
  for (const { service, targets } of plannedImages(selection, { mutantCatalogs: true, everyHost: true })) {
    const wanted = new Set(targets.map((t) => t.tag));
    for (const image of await service.list()) {
      const tag = image.tags[0] ?? image.id;
      rows.push({ tag, kind: image.labels[IMAGE_LABELS.kind] ?? "?", platform: image.labels[IMAGE_LABELS.platform] ?? "?", sizeMiB: Math.round(image.sizeBytes / 1024 ** 2), wanted: isWanted(image, wanted), cache: isWheelLayer(image) });
    }
    for (const t of targets) if (!isMutantBuild(t) && !rows.some((r) => r.tag === t.tag)) rows.push({ tag: t.tag, kind: t.kind, platform: t.platform.id, sizeMiB: 0, wanted: true, cache: false });
  }
  return rows;
}

/** Removes the images neither the matrix nor its hosts' mutant catalog wants (with `all`, every one of distcheck's); reports each. Returns the number removed. */
export async function pruneImages(selection: Selection, options: { all?: boolean; caches?: boolean; progress: (line: string) => void }): Promise<number> {
  let count = 0;
  for (const { service, targets } of plannedImages(selection, { mutantCatalogs: true, everyHost: true })) {
    for (const tag of await service.prune(targets, { all: options.all, caches: options.caches })) {
      options.progress(`removed ${tag}`);
      count += 1;
    }
  }
  return count;
}

import type { Command } from "commander";
import { existsSync } from "node:fs";
import { expandCells } from "../../matrix/matrix-loader.ts";
import { hostAdapter } from "../../hosts/host-adapters.ts";
import { COMPATIBILITY_CORE_VERSIONS } from "../../hosts/core-version-plan.ts";
import { IMAGE_LABELS, ImageService, isWanted, type ImageTarget } from "../../images/image-service.ts";
import { runLabels } from "../../run/run-identity.ts";
import { collect, enginesFor, progress, select, type MatrixOptions } from "../context.ts";
import type { Selection } from "../context.ts";

/**
 * Every base and host image the selected cells need, per engine. With `mutantCatalogs`, also the host
 * build of every mutant in each cell's host catalog (`npm run mutants` reuses them). A host that
 * cannot take its core version at boot gets an image per version the compatibility suite uses.
 */
export function plannedImages(selection: Selection, options: { baseOnly?: boolean; mutant?: string; mutantCatalogs?: boolean; everyHost?: boolean } = {}): Array<{ service: ImageService; targets: ImageTarget[] }> {
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

/** Builds what is missing; prints one line per image. Returns the number built. */
export async function buildImages(selection: Selection, options: { force?: boolean; concurrency?: number; baseOnly?: boolean; mutant?: string }): Promise<number> {
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

function matrixOptions(cmd: Command): Command {
  return cmd
    .option("--matrix <file>", "matrix file", undefined)
    .option("--platform <id>", "only these platforms (repeatable or comma-separated)", collect)
    .option("--python <version>", "only these bases, by Python version or base id", collect)
    .option("--host <id>", "only these hosts", collect);
}

export function registerImagesCommand(program: Command): void {
  const images = program.command("images").description("build, list and prune the base and host images of the matrix");

  matrixOptions(images.command("build"))
    .description("build every image the matrix needs that the engine does not hold yet (content-hashed tags: an unchanged recipe is never rebuilt)")
    .option("--force", "rebuild even when an image with the same content hash exists")
    .option("--concurrency <n>", "images built at once", (v) => Number.parseInt(v, 10), 2)
    .option("--base-only", "build the base images only, not the host layers")
    .action(async (opts: MatrixOptions & { force?: boolean; concurrency: number; baseOnly?: boolean }) => {
      const selection = select(opts);
      const built = await buildImages(selection, opts);
      progress(built === 0 ? "every image is up to date" : `${built} image(s) built`);
    });

  matrixOptions(images.command("list"))
    .description("list distcheck's images in the engine and whether the current matrix (or its hosts' mutant catalog) still wants them")
    .option("--json", "print JSON")
    .action(async (opts: MatrixOptions & { json?: boolean }) => {
      const selection = select(opts);
      const rows: Array<{ tag: string; kind: string; platform: string; sizeMiB: number; wanted: boolean }> = [];
      for (const { service, targets } of plannedImages(selection, { mutantCatalogs: true, everyHost: true })) {
        const wanted = new Set(targets.map((t) => t.tag));
        for (const image of await service.list()) {
          const tag = image.tags[0] ?? image.id;
          rows.push({ tag, kind: image.labels[IMAGE_LABELS.kind] ?? "?", platform: image.labels[IMAGE_LABELS.platform] ?? "?", sizeMiB: Math.round(image.sizeBytes / 1024 ** 2), wanted: isWanted(image, wanted) });
        }
        // Missing mutant builds are not listed: `npm run mutants` builds the ones it needs.
        for (const t of targets) if (!isMutantBuild(t) && !rows.some((r) => r.tag === t.tag)) rows.push({ tag: t.tag, kind: t.kind, platform: t.platform.id, sizeMiB: 0, wanted: true });
      }
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      for (const r of rows) {
        const state = r.sizeMiB === 0 && r.wanted ? "missing " : r.wanted ? "current " : "stale   ";
        process.stdout.write(`${state} ${r.kind.padEnd(5)} ${r.platform.padEnd(14)} ${String(r.sizeMiB).padStart(5)} MiB  ${r.tag}\n`);
      }
    });

  matrixOptions(images.command("prune"))
    .description("remove distcheck images that neither the current matrix nor its hosts' mutant catalog wants (stale content hashes)")
    .option("--all", "remove every distcheck image, wanted or not")
    .action(async (opts: MatrixOptions & { all?: boolean }) => {
      const selection = select(opts);
      let count = 0;
      for (const { service, targets } of plannedImages(selection, { mutantCatalogs: true, everyHost: true })) {
        for (const tag of await service.prune(targets, { all: opts.all })) {
          progress(`removed ${tag}`);
          count += 1;
        }
      }
      progress(`${count} image(s) removed`);
    });
}

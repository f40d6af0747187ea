import type { Command } from "commander";
import { buildImages, listImages, pruneImages } from "../../images/image-planner.ts";
import { select, type MatrixOptions } from "../../matrix/selection.ts";
import { collect, progress } from "../context.ts";

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
      const built = await buildImages(select(opts), { ...opts, progress });
      progress(built === 0 ? "every image is up to date" : `${built} image(s) built`);
    });

  matrixOptions(images.command("list"))
    .description("list distcheck's images in the engine and whether the current matrix (or its hosts' mutant catalog) still wants them")
    .option("--json", "print JSON")
    .action(async (opts: MatrixOptions & { json?: boolean }) => {
      const rows = await listImages(select(opts));
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      for (const r of rows) {
        const state = r.sizeMiB === 0 && r.wanted ? "missing " : !r.wanted ? "stale   " : r.cache ? "cache   " : "current ";
        process.stdout.write(`${state} ${r.kind.padEnd(5)} ${r.platform.padEnd(14)} ${String(r.sizeMiB).padStart(5)} MiB  ${r.tag}\n`);
      }
    });

  matrixOptions(images.command("prune"))
    .description("remove distcheck images that neither the current matrix nor its hosts' mutant catalog wants (stale content hashes)")
    .option("--all", "remove every distcheck image, wanted or not")
    .option("--caches", "also remove every wheel layer (cached pip installs of sample wheels; rebuilt when a run needs one)")
    .action(async (opts: MatrixOptions & { all?: boolean; caches?: boolean }) => {
      const count = await pruneImages(select(opts), { all: opts.all, caches: opts.caches, progress });
      progress(`${count} image(s) removed`);
    });
}

import type { ContainerEngine } from "../engine/container-engine.ts";
import { ImageBuildError } from "../errors/distcheck-error.ts";
import type { ImageBuilder, ProgressSink } from "./image-builder.ts";
import type { ImageRecipe } from "./image-recipe.ts";
import type { PlatformInfo } from "../platform/platforms.ts";
import { execa } from "execa";

/**
 * Takes a base image from a registry (for machines that reach one), re-tagged under the recipe's
 * content-hash tag with distcheck's labels so list/prune treat it like a built one.
 */
export class RegistryImageBuilder implements ImageBuilder {
  readonly kind = "registry" as const;

  constructor(private readonly engine: ContainerEngine) {}

  async build({ recipe, platform, tag, labels, progress }: { recipe: ImageRecipe; platform: PlatformInfo; tag: string; labels: Record<string, string>; progress: ProgressSink }): Promise<void> {
    if (recipe.kind !== "registry") throw new ImageBuildError(`RegistryImageBuilder cannot build a ${recipe.kind} recipe (${recipe.name})`);
    progress(`pulling ${recipe.ref} for ${platform.docker}`);
    await this.engine.pullImage(recipe.ref, platform.docker, (line) => progress(line));
    // A label can only be added by a new image config: commit a no-op container.
    await this.engine.commitLayer({ image: recipe.ref, platform: platform.docker, tar: emptyTar(), cmd: ["true"], tag, labels, runLabels: labels });
  }
}

function emptyTar(): import("node:stream").Readable {
  return execa("tar", ["-cf", "-", "--files-from", "/dev/null"], { buffer: false }).stdout!;
}

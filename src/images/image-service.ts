import path from "node:path";
import pLimit from "p-limit";
import type { ContainerEngine, EngineImage } from "../engine/container-engine.ts";
import { platformInfo, type PlatformId, type PlatformInfo } from "../platform/platforms.ts";
import { LABELS } from "../run/run-identity.ts";
import { DebootstrapImageBuilder } from "./debootstrap-image-builder.ts";
import type { HostAdapter } from "../hosts/host-adapter.ts";
import { hostAdapter } from "../hosts/host-adapters.ts";
import type { MatrixHost } from "../matrix/matrix.ts";
import { hostImageTag, type HostBuildSettings } from "./host-image-builder.ts";
import type { ImageBuilder, ProgressSink } from "./image-builder.ts";
import { RecipeError } from "../errors/distcheck-error.ts";
import { baseImageTag, loadRecipe, recipeHash, type ImageRecipe } from "./image-recipe.ts";
import { RegistryImageBuilder } from "./registry-image-builder.ts";
import { engineDiskFull, isDiskFull, noSpaceLine } from "./disk-full.ts";

export const IMAGE_LABELS = {
  kind: "dev.distcheck.image",
  recipe: "dev.distcheck.recipe",
  host: "dev.distcheck.host",
  platform: "dev.distcheck.platform",
  hash: "dev.distcheck.hash",
  /** The host image a wheel layer sits on (prune keeps the layer while its parent is wanted). */
  parent: "dev.distcheck.parent",
} as const;

/** A base image wanted by a run. */
export interface BaseImageTarget {
  kind: "base";
  recipe: ImageRecipe;
  platform: PlatformInfo;
  tag: string;
}

/** A host layer wanted by a run, on top of a base image. */
export interface HostImageTarget {
  kind: "host";
  hostId: string;
  adapter: HostAdapter;
  /** The host's source tree or wheel (absolute). */
  source: string;
  base: BaseImageTarget;
  platform: PlatformInfo;
  /** Version under test and mutant, baked into the image. */
  settings: HostBuildSettings & { coreVersion: string };
  tag: string;
}

export type ImageTarget = BaseImageTarget | HostImageTarget;

export interface ImageBuildResult {
  tag: string;
  status: "up-to-date" | "built";
  ms: number;
}

function label(target: ImageTarget): string {
  return target.kind === "base" ? `${target.recipe.name}/${target.platform.id}` : `${target.hostId}@${target.base.recipe.name}/${target.platform.id}${target.settings.mutant ? ` mutant=${target.settings.mutant}` : ""}`;
}

/** Plans, builds (only what is missing), lists and prunes distcheck's images in one engine. */
export class ImageService {
  private readonly builders: Record<ImageRecipe["kind"], ImageBuilder>;

  constructor(private readonly engine: ContainerEngine, private readonly root: string, builders?: Partial<Record<ImageRecipe["kind"], ImageBuilder>>) {
    this.builders = { debootstrap: new DebootstrapImageBuilder(engine), registry: new RegistryImageBuilder(engine), ...builders };
  }

  /**
   * A base image; with `extraPackages` (a host's Debian packages), a recipe derived from it that adds
   * them, stored under its own name and content hash (`trixie-toposync`).
   */
  baseTarget(recipeName: string, platform: PlatformId, extra?: { name: string; packages: readonly string[] }): BaseImageTarget {
    let recipe = loadRecipe(path.join(this.root, "images"), recipeName);
    if (extra && extra.packages.length > 0) {
      if (recipe.kind !== "debootstrap") throw new RecipeError(`images/${recipeName}.json is a ${recipe.kind} recipe; the ${extra.name} host needs Debian packages added (${extra.packages.join(", ")}), which only debootstrap recipes can take.`);
      recipe = { ...recipe, name: `${recipe.name}-${extra.name}`, packages: [...recipe.packages, ...extra.packages] };
    }
    return { kind: "base", recipe, platform: platformInfo(platform), tag: baseImageTag(recipe, platform) };
  }

  /** The base a host's layer sits on: the cell's base plus the packages its adapter needs. */
  hostBaseTarget(host: MatrixHost, recipeName: string, platform: PlatformId): BaseImageTarget {
    const adapter = hostAdapter(host.adapter);
    return this.baseTarget(recipeName, platform, { name: adapter.id, packages: adapter.extraPackages });
  }

  /** A host layer at a version (default: the source's own) and optionally a mutant. */
  hostTarget(host: MatrixHost, base: BaseImageTarget, options: { version?: string; mutant?: string } = {}): HostImageTarget {
    const adapter = hostAdapter(host.adapter);
    const source = path.resolve(this.root, host.source);
    const settings = { coreVersion: options.version ?? adapter.defaultVersion(source), ...(options.mutant ? { mutant: options.mutant } : {}) };
    return { kind: "host", hostId: host.id, adapter, source, base, platform: base.platform, settings, tag: hostImageTag(host.id, adapter.sourceHash(source), base.tag, base.platform, settings) };
  }

  /** Builds every target that the engine does not hold yet; a base is built before its hosts. */
  async ensure(targets: ImageTarget[], options: { force?: boolean; concurrency?: number; progress: (target: string, line: string) => void; runLabels: Record<string, string> }): Promise<Map<string, ImageBuildResult>> {
    const results = new Map<string, ImageBuildResult>();
    const inflight = new Map<string, Promise<ImageBuildResult>>();
    const limit = pLimit(options.concurrency ?? 2);
    const one = (target: ImageTarget): Promise<ImageBuildResult> => {
      const existing = inflight.get(target.tag);
      if (existing) return existing;
      const task = (async () => {
        if (target.kind === "host") await one(target.base);
        return limit(() => this.buildOne(target, options));
      })();
      inflight.set(target.tag, task);
      return task;
    };
    await Promise.all(targets.map(async (t) => results.set(t.tag, await one(t))));
    for (const [tag, p] of inflight) if (!results.has(tag)) results.set(tag, await p);
    return results;
  }

  private async buildOne(target: ImageTarget, options: { force?: boolean; progress: (target: string, line: string) => void; runLabels: Record<string, string> }): Promise<ImageBuildResult> {
    const started = Date.now();
    const name = label(target);
    const progress: ProgressSink = (line) => options.progress(name, line);
    const existing = await this.engine.inspectImage(target.tag);
    if (existing && !options.force) return { tag: target.tag, status: "up-to-date", ms: Date.now() - started };
    if (existing) {
      // Wheel layers cached on a host image sit on its old bytes: a forced rebuild drops them too,
      // so the next boot installs the wheels on the new image.
      if (target.kind === "host") {
        const hosts = new Set([target.tag]);
        for (const image of await this.list()) if (isWheelLayerOn(image, hosts)) await this.engine.removeImage(image.id);
      }
      await this.engine.removeImage(target.tag);
    }
    const labels = { [LABELS.managed]: "true", [IMAGE_LABELS.platform]: target.platform.id };
    progress(`building ${target.tag}`);
    try {
      await this.buildTarget(target, labels, options.runLabels, progress);
    } catch (error) {
      await this.dropHalfBuilt(target.tag, progress);
      // A host layer's commit and a registry pull write only into the engine's storage; a debootstrap
      // build also fills its scratch folder, and its builder says which of the two filled.
      const engineOnly = target.kind === "host" || target.recipe.kind === "registry";
      const line = engineOnly && !isDiskFull(error) ? noSpaceLine(error) : undefined;
      throw line ? await engineDiskFull({ tag: target.tag, endpoint: this.engine.endpoint, line, cause: error }) : error;
    }
    const ms = Date.now() - started;
    progress(`built in ${(ms / 1000).toFixed(1)} s`);
    return { tag: target.tag, status: "built", ms };
  }

  private async buildTarget(target: ImageTarget, labels: Record<string, string>, runLabels: Record<string, string>, progress: ProgressSink): Promise<void> {
    if (target.kind === "base") {
      await this.builders[target.recipe.kind].build({
        recipe: target.recipe,
        platform: target.platform,
        tag: target.tag,
        labels: { ...labels, [IMAGE_LABELS.kind]: "base", [IMAGE_LABELS.recipe]: target.recipe.name, [IMAGE_LABELS.hash]: recipeHash(target.recipe, target.platform.id) },
        progress,
      });
    } else {
      await target.adapter.buildHostImage({
        engine: this.engine,
        source: target.source,
        baseTag: target.base.tag,
        platform: target.platform,
        version: target.settings.coreVersion,
        mutant: target.settings.mutant,
        tag: target.tag,
        labels: { ...labels, [IMAGE_LABELS.kind]: "host", [IMAGE_LABELS.host]: target.hostId, [IMAGE_LABELS.recipe]: target.base.recipe.name },
        runLabels,
        progress,
      });
    }
  }

  /**
   * After a failed build, no image may carry the target's tag: the engine could have tagged a
   * half-written one (a load or commit that failed late), and a tag that exists counts as built.
   * The tag was absent before the build (or removed by --force), so nothing good is lost.
   */
  private async dropHalfBuilt(tag: string, progress: ProgressSink): Promise<void> {
    try {
      if (!(await this.engine.inspectImage(tag))) return;
      await this.engine.removeImage(tag);
      progress(`removed ${tag}, tagged by the failed build`);
    } catch (error) {
      progress(`could not remove ${tag} after the failed build (${(error as Error).message}); remove it with \`docker rmi ${tag}\` before the next build, which would take it as built`);
    }
  }

  async list(): Promise<EngineImage[]> {
    return this.engine.listImages(`${IMAGE_LABELS.kind}`);
  }

  /**
   * Removes distcheck images that no target in `keep` wants (see isWanted), or all with `all`; with
   * `caches`, also every wheel layer (a cached pip install, rebuilt when a run next needs it): their
   * hashes follow the suites' wheel sets, so old ones on a host image that did not change stay wanted.
   */
  async prune(keep: ImageTarget[], options: { all?: boolean; caches?: boolean } = {}): Promise<string[]> {
    const wanted = new Set(keep.map((t) => t.tag));
    const removed: string[] = [];
    // Children first: wheel layers sit on host layers, host layers on bases.
    const order: Record<string, number> = { wheels: 0, host: 1 };
    const images = (await this.list()).sort((a, b) => (order[a.labels[IMAGE_LABELS.kind] ?? ""] ?? 2) - (order[b.labels[IMAGE_LABELS.kind] ?? ""] ?? 2));
    for (const image of images) {
      if (!options.all && !(options.caches && isWheelLayer(image)) && isWanted(image, wanted)) continue;
      await this.engine.removeImage(image.id);
      removed.push(image.tags[0] ?? image.id);
    }
    return removed;
  }
}

/**
 * Whether an image in the engine is wanted by the tags in `wanted`: it carries one of them, or it is
 * a cached wheel layer (suites' pip installs) on a wanted host image.
 */
export function isWanted(image: EngineImage, wanted: ReadonlySet<string>): boolean {
  return image.tags.some((t) => wanted.has(t)) || isWheelLayerOn(image, wanted);
}

/** Whether an image is a cached wheel layer (sample wheels pip-installed on a host image). */
export function isWheelLayer(image: EngineImage): boolean {
  return image.labels[IMAGE_LABELS.kind] === "wheels";
}

/** Whether an image is a cached wheel layer on one of the host images tagged `hosts`. */
function isWheelLayerOn(image: EngineImage, hosts: ReadonlySet<string>): boolean {
  return isWheelLayer(image) && hosts.has(image.labels[IMAGE_LABELS.parent] ?? "");
}


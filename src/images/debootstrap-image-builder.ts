import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import { existsSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { ImageBuildError, InfrastructureError } from "../errors/distcheck-error.ts";
import type { ContainerEngine } from "../engine/container-engine.ts";
import { writeDockerArchiveMetadata } from "./docker-archive-writer.ts";
import type { ImageBuilder, ProgressSink } from "./image-builder.ts";
import type { DebootstrapRecipe, ImageRecipe } from "./image-recipe.ts";
import { qemuEnv, type PlatformInfo } from "../platform/platforms.ts";
import { resolveDebianMirror } from "./debian-mirror.ts";
import { scratchDir } from "../run/scratch.ts";
import { engineDiskFull, isDiskFull, noSpaceLine, scratchDiskFull } from "./disk-full.ts";

/** Paths removed from the rootfs before packing: caches and docs nobody in a cell reads. */
const PRUNE = ["var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale"];

/** debootstrap's phases, in order, as it announces them ("I: Retrieving ..."). */
const PHASES: Array<[RegExp, string]> = [
  [/^I: Retrieving (In)?Release/, "fetching the release index"],
  [/^I: Retrieving (?!Release|Packages|InRelease)/, "downloading packages"],
  [/^I: Extracting/, "extracting"],
  [/^I: Installing core packages/, "installing core packages"],
  [/^I: Unpacking the base system/, "unpacking base system"],
  [/^I: Configuring (?!the base)/, "configuring packages"],
  [/^I: Base system installed successfully/, "base system installed"],
];

/**
 * Builds a Debian base image offline: debootstrap from the archive apt uses (foreign
 * architectures run their second stage under qemu binfmt), prune, pack as a docker-archive
 * whose config records the platform's architecture, and load it through the Engine API.
 */
export class DebootstrapImageBuilder implements ImageBuilder {
  readonly kind = "debootstrap" as const;

  constructor(private readonly engine: ContainerEngine, private readonly env: NodeJS.ProcessEnv = process.env) {}

  async build({ recipe, platform, tag, labels, progress, signal }: { recipe: ImageRecipe; platform: PlatformInfo; tag: string; labels: Record<string, string>; progress: ProgressSink; signal?: AbortSignal }): Promise<void> {
    if (recipe.kind !== "debootstrap") throw new ImageBuildError(`DebootstrapImageBuilder cannot build a ${recipe.kind} recipe (${recipe.name})`);
    if (!existsSync("/usr/sbin/debootstrap")) {
      throw new InfrastructureError("debootstrap_missing", "debootstrap is not installed. Install it with `sudo npm run setup-machine` (or `apt-get install debootstrap`).");
    }
    let step = "creating the build's scratch folder";
    let work: string;
    try {
      work = await mkdtemp(path.join(scratchDir(), "image-"));
    } catch (error) {
      throw await scratchFailure(error, { tag, step, dir: os.tmpdir() });
    }
    try {
      const rootfs = path.join(work, "rootfs");
      let files: string[];
      try {
        step = "running debootstrap";
        await this.debootstrap(recipe, platform, rootfs, progress, signal);
        step = "pruning and packing the root filesystem";
        progress(step);
        await Promise.all(PRUNE.map((p) => rm(path.join(rootfs, p), { recursive: true, force: true })));
        // Cells are throwaway: let pip install into the system Python like a container user would.
        await rm(path.join(rootfs, "usr/lib", `python${recipe.python}`, "EXTERNALLY-MANAGED"), { force: true });
        await writeFile(path.join(rootfs, "etc/distcheck-image.json"), JSON.stringify({ tag, recipe: recipe.name, platform: platform.id, labels }, null, 2));
        await execa("tar", ["-C", rootfs, "--numeric-owner", "--exclude=./dev/*", "--exclude=./proc/*", "--exclude=./sys/*", "-cf", path.join(work, "layer.tar"), "."], { cancelSignal: signal });
        await rm(rootfs, { recursive: true, force: true });
        step = "writing the image archive";
        ({ files } = await writeDockerArchiveMetadata(work, { tag, platform, labels }));
      } catch (error) {
        throw await scratchFailure(error, { tag, step, dir: work });
      }
      progress("loading into the engine");
      try {
        // Only reads from the scratch folder here: a full disk now is the engine's.
        const packer = execa("tar", ["-C", work, "-cf", "-", ...files], { cancelSignal: signal, buffer: false });
        await Promise.all([this.engine.loadImage(packer.stdout!), packer]);
      } catch (error) {
        const line = noSpaceLine(error);
        throw line ? await engineDiskFull({ tag, endpoint: this.engine.endpoint, line, cause: error }) : error;
      }
      const stored = await this.engine.inspectImage(tag);
      if (!stored) throw new ImageBuildError(`docker load finished but ${tag} is not in the engine`);
      if (stored.architecture !== platform.dockerArch) {
        throw new ImageBuildError(`${tag} was stored as ${stored.architecture}, expected ${platform.dockerArch}. The engine rewrote the architecture; report this with \`docker version\`.`);
      }
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  private async debootstrap(recipe: DebootstrapRecipe & { name: string }, platform: PlatformInfo, rootfs: string, progress: ProgressSink, signal?: AbortSignal): Promise<void> {
    const mirror = resolveDebianMirror(this.env);
    progress(`debootstrap ${recipe.suite} ${platform.debianArch} from ${mirror.url} (${mirror.source})`);
    const args = [`--variant=${recipe.variant}`, `--arch=${platform.debianArch}`, `--include=${recipe.packages.join(",")}`, recipe.suite, rootfs, mirror.url];
    // The second stage runs the target's binaries (dpkg, maintainer scripts, py3compile) under qemu
    // binfmt on a foreign platform: give them the platform's CPU model too (chroot keeps the env).
    const child = execa("debootstrap", args, { env: qemuEnv(platform), cancelSignal: signal, all: true, buffer: { all: true }, reject: false, lines: true });
    let phase = "";
    let retrieved = 0;
    const started = Date.now();
    const heartbeat = setInterval(() => progress(`${phase || "starting"} (${Math.round((Date.now() - started) / 1000)} s)`), 20_000);
    try {
      for await (const line of child.iterable({ from: "all" })) {
        const text = String(line);
        if (/^I: Retrieving /.test(text)) retrieved += 1;
        const next = PHASES.find(([re]) => re.test(text))?.[1];
        if (next && next !== phase) {
          phase = next;
          progress(phase === "downloading packages" ? phase : `${phase}${retrieved > 0 && phase === "extracting" ? ` (${retrieved} packages retrieved)` : ""}`);
        }
      }
    } finally {
      clearInterval(heartbeat);
    }
    const result = await child;
    if (result.exitCode !== 0) {
      const tail = (result.all as unknown as string[] | undefined ?? []).slice(-25).join("\n");
      // debootstrap prints only "Couldn't download ..." or "... failed"; the cause (a full disk, a
      // wget error) is in its log, which goes with the scratch folder: quote the log's end here.
      const log = await readFile(path.join(rootfs, "debootstrap/debootstrap.log"), "utf8").catch(() => "");
      const logTail = log.trimEnd().split("\n").slice(-15).join("\n");
      throw new ImageBuildError(
        `debootstrap ${recipe.suite} for ${platform.id} exited with ${result.exitCode ?? result.signal}. ` +
          `Mirror ${mirror.url}; set DISTCHECK_DEBIAN_MIRROR to another Debian archive if it is unreachable. ` +
          (platform.debianArch !== "amd64" ? "For a foreign architecture, check `distcheck doctor` (qemu binfmt). " : "") +
          `Last output:\n${tail}` +
          (logTail ? `\nEnd of debootstrap.log:\n${logTail}` : ""),
      );
    }
  }
}

/** A failure while the build wrote to its scratch folder: `disk_full` when it says a disk filled, else unchanged. */
async function scratchFailure(error: unknown, where: { tag: string; step: string; dir: string }): Promise<unknown> {
  if (isDiskFull(error)) return error;
  const line = noSpaceLine(error);
  return line ? await scratchDiskFull({ ...where, line, cause: error }) : error;
}

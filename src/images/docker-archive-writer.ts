import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import type { PlatformInfo } from "../platform/platforms.ts";

export interface ImageConfigOptions {
  tag: string;
  platform: PlatformInfo;
  labels: Record<string, string>;
  env?: string[];
  cmd?: string[];
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/**
 * Writes the two JSON files of a docker-archive (`docker save` format) beside an existing
 * `layer.tar` in `dir`: the image config, which records the architecture (`docker import` would
 * record the engine's own), and `manifest.json`. The caller tars `dir` and loads it.
 */
export async function writeDockerArchiveMetadata(dir: string, options: ImageConfigOptions): Promise<{ configDigest: string; files: string[] }> {
  const layerDigest = await sha256File(path.join(dir, "layer.tar"));
  const config = {
    architecture: options.platform.dockerArch,
    os: "linux",
    ...(options.platform.dockerArch === "arm64" ? { variant: "v8" } : {}),
    created: "1970-01-01T00:00:00Z",
    config: {
      Env: options.env ?? ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "PYTHONDONTWRITEBYTECODE=1"],
      Cmd: options.cmd ?? ["/bin/bash"],
      Labels: options.labels,
    },
    rootfs: { type: "layers", diff_ids: [`sha256:${layerDigest}`] },
    history: [{ created: "1970-01-01T00:00:00Z", created_by: "distcheck debootstrap image builder" }],
  };
  const configJson = JSON.stringify(config);
  const configDigest = createHash("sha256").update(configJson).digest("hex");
  await writeFile(path.join(dir, `${configDigest}.json`), configJson);
  const manifest = [{ Config: `${configDigest}.json`, RepoTags: [options.tag], Layers: ["layer.tar"] }];
  await writeFile(path.join(dir, "manifest.json"), JSON.stringify(manifest));
  return { configDigest, files: ["manifest.json", `${configDigest}.json`, "layer.tar"] };
}

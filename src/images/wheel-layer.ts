import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type { FileToPut } from "../containers/cell-container.ts";
import type { ContainerEngine } from "../engine/container-engine.ts";
import { platformFailure } from "../engine/exec-format-failure.ts";
import { containerEnvList, type PlatformInfo } from "../platform/platforms.ts";
import { LABELS, runLabels } from "../run/run-identity.ts";
import { IMAGE_LABELS } from "./image-service.ts";
import { tarFiles } from "./tar-files.ts";

export interface WheelLayerRequest {
  hostTag: string;
  platform: PlatformInfo;
  /** The wheels (and any --find-links companions) at their paths inside the container. */
  files: FileToPut[];
  /** The pip command that installs them, run once inside the host image. */
  pip: string[];
}

/**
 * The tag of a host image with sample wheels pip-installed on top: changes with the host image, the
 * bytes of every file and the pip command, so a cached layer is only ever reused for the same input.
 */
export function wheelLayerTag(request: WheelLayerRequest): string {
  const hash = createHash("sha256").update(request.hostTag).update("\0").update(JSON.stringify(request.pip));
  for (const f of [...request.files].sort((a, b) => (a.target < b.target ? -1 : 1))) hash.update("\0").update(f.target).update("\0").update(createHash("sha256").update(f.content).digest("hex"));
  const repo = request.hostTag.split(":")[0]!;
  return `${repo}-wheels:${request.platform.id}-${hash.digest("hex").slice(0, 16)}`;
}

const building = new Map<string, Promise<string>>();

/**
 * Returns a host image with the wheels installed, building it once (pip inside a container of the
 * host image, committed by content hash) when no such image exists. Under qemu a pip install costs
 * tens of seconds; every later boot of the same wheels on the same host image starts from the
 * committed layer. pip's exit status and output are the build's: a failed install throws.
 */
export function ensureWheelLayer(engine: ContainerEngine, request: WheelLayerRequest): Promise<string> {
  const tag = wheelLayerTag(request);
  let pending = building.get(tag);
  if (!pending) {
    pending = (async () => {
      if (await engine.inspectImage(tag)) return tag;
      await engine
        .commitLayer({
        image: request.hostTag,
        platform: request.platform.docker,
        tar: Readable.from(await tarFiles(request.files.map((f) => ({ path: f.target, content: f.content, mode: f.mode })))),
        cmd: request.pip,
        tag,
        labels: { [LABELS.managed]: "true", [IMAGE_LABELS.kind]: "wheels", [IMAGE_LABELS.platform]: request.platform.id, [IMAGE_LABELS.parent]: request.hostTag },
        runLabels: runLabels(),
        env: containerEnvList(request.platform),
      })
        .catch((error: unknown) => {
          // pip that could not start, or died, while the platform's binaries had no handler: the machine's fault.
          const site = { where: `Wheel layer ${tag}`, what: `\`${request.pip.join(" ")}\` in a container of ${request.hostTag}`, platform: request.platform, endpoint: engine.endpoint };
          throw platformFailure(site, error instanceof Error ? error.message : String(error)) ?? error;
        });
      return tag;
    })();
    building.set(tag, pending);
    pending.catch(() => building.delete(tag));
  }
  return pending;
}

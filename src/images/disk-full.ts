import { statfs } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { InfrastructureError, isDistcheckError } from "../errors/distcheck-error.ts";

/** The stable code of a disk that filled during an image build. */
export const DISK_FULL = "disk_full";

/**
 * The scratch space one base image build takes at its peak (the unpacked root filesystem with apt's
 * downloads, then the root filesystem and its layer.tar side by side). Measured: a bookworm
 * linux-x86_64 build peaked at 305 MiB (sampled each second); trixie's is larger, and
 * `images build` runs two at once by default.
 */
export const SCRATCH_NEEDED_PER_BUILD = "about 0.5 GiB per image (two are built at once by default)";

/** Where a local Docker engine keeps its images unless its daemon.json says otherwise. */
export const DEFAULT_DOCKER_DATA_ROOT = "/var/lib/docker";

const NO_SPACE = /no space left on device/i;
const ENOSPC = /\bENOSPC\b/;

/** The texts an error carries: its message, a child process's output, its causes. */
function textsOf(error: unknown, depth = 0): string[] {
  if (error === null || typeof error !== "object" || depth > 4) return typeof error === "string" ? [error] : [];
  const e = error as { message?: unknown; stderr?: unknown; stdout?: unknown; all?: unknown; cause?: unknown };
  const own = [e.message, e.stderr, e.all, e.stdout].flatMap((t) => (typeof t === "string" ? [t] : Array.isArray(t) ? [t.join("\n")] : []));
  return [...own, ...textsOf(e.cause, depth + 1)];
}

/**
 * The line that says a disk is full, when `error` says so anywhere: node's ENOSPC (mkdtemp,
 * writeFile, rm), a child's output (debootstrap's log, tar's "Cannot write: No space left on
 * device"), or the engine's answer ("write /var/lib/docker/...: no space left on device").
 */
export function noSpaceLine(error: unknown): string | undefined {
  const errno = error as NodeJS.ErrnoException | null;
  if (errno?.code === "ENOSPC") return errno.message;
  for (const text of textsOf(error)) {
    const line = text.split("\n").find((l) => NO_SPACE.test(l) || ENOSPC.test(l));
    if (line) return line.trim();
  }
  return undefined;
}

/** Whether `error` is already the disk-full error of this module. */
export function isDiskFull(error: unknown): boolean {
  return isDistcheckError(error) && error.code === DISK_FULL;
}

function size(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

/** "12.0 MiB free of 40.0 MiB" for the filesystem holding `dir` (its nearest existing parent), measured now. */
export async function freeSpaceOf(dir: string): Promise<string> {
  for (let at = dir; ; at = path.dirname(at)) {
    try {
      const s = await statfs(at);
      return `${size(s.bavail * s.bsize)} free of ${size(s.blocks * s.bsize)}`;
    } catch {
      if (path.dirname(at) === at) return "free space unknown";
    }
  }
}

/**
 * The scratch folder of a build (under TMPDIR) filled. The free space is measured when the failure
 * is caught, before the build's folder is removed (a failing writer may have dropped its partial
 * file already): with the disk's size and what a build needs, it shows why it did not fit.
 */
export async function scratchDiskFull(options: { tag: string; step: string; dir: string; line: string; cause: unknown; tmpdir?: string }): Promise<InfrastructureError> {
  const tmpdir = options.tmpdir ?? os.tmpdir();
  return new InfrastructureError(
    DISK_FULL,
    `No space left on device while ${options.step} for ${options.tag}: the build's scratch folder ${options.dir} (under TMPDIR, ${tmpdir}) filled ("${options.line}"). ` +
      `That disk has ${await freeSpaceOf(options.dir)} with this build's files still on it; a base image build needs ${SCRATCH_NEEDED_PER_BUILD}. Free space on ${tmpdir}, or point TMPDIR at a larger disk (e.g. \`TMPDIR=/var/tmp npx distcheck images build\`); \`npx distcheck doctor\` checks the free space of both TMPDIR and the engine's storage. Nothing of this build was kept: run the same command again.`,
    { cause: options.cause },
  );
}

/**
 * The engine's storage filled while it stored an image. Its data root is measured only for a local
 * engine; a remote one's disk is on that machine.
 */
export async function engineDiskFull(options: { tag: string; endpoint: string; line: string; cause: unknown; dataRoot?: string }): Promise<InfrastructureError> {
  const local = options.endpoint.startsWith("unix://");
  const root = options.dataRoot ?? DEFAULT_DOCKER_DATA_ROOT;
  const where = local ? `its data root ${root} has ${await freeSpaceOf(root)}` : `its data root is on that machine (\`docker info -f '{{.DockerRootDir}}'\` there)`;
  return new InfrastructureError(
    DISK_FULL,
    `No space left on device in the Docker engine at ${options.endpoint} while it stored ${options.tag} ("${options.line}"): ${where}. ` +
      `Free space there: \`npx distcheck images prune\` removes distcheck's stale images, \`docker system df\` shows what else uses it; \`npx distcheck doctor\` checks the free space. No image was tagged ${options.tag}: run the same command again.`,
    { cause: options.cause },
  );
}

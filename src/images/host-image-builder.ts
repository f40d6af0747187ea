import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { execa } from "execa";
import type { ContainerEngine } from "../engine/container-engine.ts";
import { containerEnvList, type PlatformInfo } from "../platform/platforms.ts";
import { DistcheckError } from "../errors/distcheck-error.ts";
import { applyMutantEdits, hostSourceFiles, type SourceEdit } from "./host-source.ts";
import type { ProgressSink } from "./image-builder.ts";
import { tarFiles } from "./tar-files.ts";

/** Build-time settings of a host image (`/etc/distcheck-host/build.toml`). */
export interface HostBuildSettings {
  /** PEP 440 version the host reports; default: its pyproject version. */
  coreVersion?: string;
  /** SemVer version the host's archive agent reports. */
  agentVersion?: string;
  /** A mutant to build (its edits are applied to the copied source); none in a normal build. */
  mutant?: string;
}

export function buildToml(settings: HostBuildSettings): string {
  const lines: string[] = ["# written by distcheck at image build time"];
  if (settings.coreVersion) lines.push(`core_version = ${JSON.stringify(settings.coreVersion)}`);
  if (settings.agentVersion) lines.push(`agent_version = ${JSON.stringify(settings.agentVersion)}`);
  if (settings.mutant) lines.push(`mutant = ${JSON.stringify(settings.mutant)}`);
  return `${lines.join("\n")}\n`;
}

/**
 * Tag of a host layer: changes whenever the base, the host's sources (`sourceHash`, which for the
 * reference host covers its mutants' edits too) or the settings (the mutant's name among them) change.
 */
export function hostImageTag(hostId: string, sourceHash: string, baseTag: string, platform: PlatformInfo, settings: HostBuildSettings): string {
  const hash = createHash("sha256").update(baseTag).update("\0").update(sourceHash).update("\0").update(buildToml(settings)).digest("hex").slice(0, 16);
  const variant = [settings.coreVersion, settings.agentVersion, settings.mutant].filter(Boolean).join("-").replace(/[^a-zA-Z0-9_.-]/g, "_");
  return `distcheck/host-${hostId}:${platform.id}-${variant ? `${variant}-` : ""}${hash}`;
}

/**
 * What a host layer build puts into the base image, as one tar: the host's sources under
 * `opt/distcheck-host/src/` and `etc/distcheck-host/build.toml`. A mutant build's sources carry its
 * `edits`, applied in memory (the tree on disk is only read); a mutant without edits is refused, so
 * no clean host is ever built under a mutant's name.
 */
export async function hostImageTar(hostDir: string, settings: HostBuildSettings, edits: readonly SourceEdit[] = []): Promise<Buffer> {
  if (!settings.mutant && edits.length > 0) throw new DistcheckError("mutant_edit_failed", `A normal build of ${hostDir} got ${edits.length} source edit(s); edits belong to a mutant build only.`);
  const edited = settings.mutant ? applyMutantEdits(hostDir, settings.mutant, edits) : new Map<string, string>();
  const files = hostSourceFiles(hostDir).filter((rel) => !edited.has(rel));
  const src = "opt/distcheck-host/src";
  // The unchanged sources by GNU tar from a file list (trusted local files), the edited ones and
  // build.toml from memory.
  const tarArgs = ["-C", hostDir, "--numeric-owner", "--owner=0", "--group=0", "--transform", `s,^,${src}/,`, "-cf", "-", ...files];
  const sourceTar = (await execa("tar", tarArgs, { encoding: "buffer" })).stdout;
  const editedTar = await editedFilesTar(hostDir, src, edited);
  const settingsTar = await tarFiles([{ path: "etc/distcheck-host/build.toml", content: buildToml(settings) }]);
  // Tars concatenated minus all but the last one's end-of-archive blocks form one valid tar.
  return Buffer.concat([stripTarEnd(Buffer.from(sourceTar)), stripTarEnd(editedTar), settingsTar]);
}

/**
 * Edited source files as tar entries with their clean file's mode and mtime, like the GNU tar
 * entries beside them (so the wheel build sees no 1970 file times, which zip cannot hold).
 */
async function editedFilesTar(hostDir: string, prefix: string, edited: ReadonlyMap<string, string>): Promise<Buffer> {
  const { Header } = await import("tar");
  const parts: Buffer[] = [];
  for (const [rel, content] of edited) {
    const st = statSync(path.join(hostDir, rel));
    const body = Buffer.from(content, "utf8");
    const header = Buffer.alloc(512);
    new Header({ path: `${prefix}/${rel}`, mode: st.mode & 0o7777, size: body.length, type: "File", mtime: st.mtime, uid: 0, gid: 0 }).encode(header, 0);
    parts.push(header, Buffer.concat([body, Buffer.alloc((512 - (body.length % 512)) % 512)]));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/**
 * Adds a host to a base image: copies its sources in (a mutant build with the mutant's `edits`
 * applied), builds them into a wheel with the image's own pip and setuptools (offline:
 * `--no-index --no-build-isolation`), installs the wheel, writes the build settings, and commits
 * the result.
 */
export async function buildHostImage(options: {
  engine: ContainerEngine;
  hostId: string;
  hostDir: string;
  baseTag: string;
  platform: PlatformInfo;
  settings: HostBuildSettings;
  /** The mutant's edits of the clean source (`settings.mutant` names it). */
  edits?: readonly SourceEdit[];
  tag: string;
  labels: Record<string, string>;
  runLabels: Record<string, string>;
  progress: ProgressSink;
}): Promise<void> {
  const { engine, hostDir, tag } = options;
  const combined = await hostImageTar(hostDir, options.settings, options.edits);
  options.progress(`building the wheel of hosts/${path.basename(hostDir)} and installing it`);
  const script = [
    "set -e",
    "python3 -m pip wheel --no-index --no-build-isolation --no-deps -q -w /opt/distcheck-host/dist /opt/distcheck-host/src",
    "python3 -m pip install --no-index --no-deps -q /opt/distcheck-host/dist/*.whl",
    "rm -rf /opt/distcheck-host/src/build /root/.cache",
    "distcheck-host --help >/dev/null",
    "distcheck-host image-setup",
  ].join(" && ");
  await engine.commitLayer({
    image: options.baseTag,
    platform: options.platform.docker,
    tar: Readable.from(combined),
    cmd: ["/bin/sh", "-c", script],
    tag,
    labels: options.labels,
    runLabels: options.runLabels,
    env: containerEnvList(options.platform),
  });
}

function stripTarEnd(tar: Buffer): Buffer {
  let end = tar.length;
  while (end >= 512 && tar.subarray(end - 512, end).every((b) => b === 0)) end -= 512;
  return tar.subarray(0, end);
}

export function readHostPyprojectVersion(hostDir: string): string | undefined {
  try {
    return /^version\s*=\s*"([^"]+)"/m.exec(readFileSync(path.join(hostDir, "pyproject.toml"), "utf8"))?.[1];
  } catch {
    return undefined;
  }
}

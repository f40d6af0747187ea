import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { execa } from "execa";
import type { ContainerEngine } from "../engine/container-engine.ts";
import { containerEnvList, type PlatformInfo } from "../platform/platforms.ts";
import { hostSourceFiles } from "./host-source.ts";
import type { ProgressSink } from "./image-builder.ts";
import { tarFiles } from "./tar-files.ts";

/** Build-time settings of a host image (`/etc/distcheck-host/build.toml`). */
export interface HostBuildSettings {
  /** PEP 440 version the host reports; default: its pyproject version. */
  coreVersion?: string;
  /** SemVer version the host's archive agent reports. */
  agentVersion?: string;
  /** A mutant to switch on (hosts/reference mutants); none in a normal build. */
  mutant?: string;
}

export function buildToml(settings: HostBuildSettings): string {
  const lines: string[] = ["# written by distcheck at image build time"];
  if (settings.coreVersion) lines.push(`core_version = ${JSON.stringify(settings.coreVersion)}`);
  if (settings.agentVersion) lines.push(`agent_version = ${JSON.stringify(settings.agentVersion)}`);
  if (settings.mutant) lines.push(`mutant = ${JSON.stringify(settings.mutant)}`);
  return `${lines.join("\n")}\n`;
}

/** Tag of a host layer: changes whenever the base, the host's sources (`sourceHash`) or the settings change. */
export function hostImageTag(hostId: string, sourceHash: string, baseTag: string, platform: PlatformInfo, settings: HostBuildSettings): string {
  const hash = createHash("sha256").update(baseTag).update("\0").update(sourceHash).update("\0").update(buildToml(settings)).digest("hex").slice(0, 16);
  const variant = [settings.coreVersion, settings.agentVersion, settings.mutant].filter(Boolean).join("-").replace(/[^a-zA-Z0-9_.-]/g, "_");
  return `distcheck/host-${hostId}:${platform.id}-${variant ? `${variant}-` : ""}${hash}`;
}

/**
 * Adds a host to a base image: copies its sources in, builds them into a wheel with the image's
 * own pip and setuptools (offline: `--no-index --no-build-isolation`), installs the wheel, writes
 * the build settings, and commits the result.
 */
export async function buildHostImage(options: {
  engine: ContainerEngine;
  hostId: string;
  hostDir: string;
  baseTag: string;
  platform: PlatformInfo;
  settings: HostBuildSettings;
  tag: string;
  labels: Record<string, string>;
  runLabels: Record<string, string>;
  progress: ProgressSink;
}): Promise<void> {
  const { engine, hostDir, tag } = options;
  const files = hostSourceFiles(hostDir);
  const src = "opt/distcheck-host/src";
  // A tar of the sources plus build.toml, made by GNU tar from a file list (trusted local files).
  const tarArgs = ["-C", hostDir, "--numeric-owner", "--owner=0", "--group=0", "--transform", `s,^,${src}/,`, "-cf", "-", ...files];
  const sourceTar = (await execa("tar", tarArgs, { encoding: "buffer" })).stdout;
  const settingsTar = await tarFiles([{ path: "etc/distcheck-host/build.toml", content: buildToml(options.settings) }]);
  // Two tars concatenated minus the first's end-of-archive blocks form one valid tar.
  const combined = Buffer.concat([stripTarEnd(Buffer.from(sourceTar)), settingsTar]);
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

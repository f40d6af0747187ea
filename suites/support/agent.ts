import { createHash } from "node:crypto";
import type { FileToPut } from "../../src/containers/cell-container.ts";
import { renderArchiveExtension } from "../../src/fixtures/archives/archive-extension-renderer.ts";
import { benignTarEntries, packTarGz } from "../../src/fixtures/archives/archive-packer.ts";
import type { ArchiveIndexEntry } from "../../src/fixtures/build/fixture-index.ts";
import type { ArchiveDeclaration } from "../../src/fixtures/declarations/fixture-declaration.ts";
import type { BootedHost } from "../../src/hosts/booted-host.ts";
import type { AgentAnswer, InstallAnswer } from "../../src/hosts/host-wire.ts";
import { archive, containerPath } from "./fixture-files.ts";
import { waitFor } from "./timeline.ts";

export type { ExtensionStatus } from "../../src/hosts/host-wire.ts";

/** An archive the agent installs: where it is (a path in the container or a URL) and its SHA-256. */
export interface ArchiveSource {
  source: string;
  sha256: string;
}

/** An archive a suite installs: a built fixture, or one the suite renders (its `file` goes into the container). */
export interface InstallableArchive extends ArchiveSource {
  name: string;
  decl: ArchiveDeclaration;
  /** Bytes of the archive. */
  size: number;
  file?: FileToPut;
}

/** The agent's answer to installing `archive` as `id`. */
export function installArchive(host: BootedHost, archive: ArchiveSource, id: string): Promise<AgentAnswer<InstallAnswer>> {
  return host.agent.install({ source: archive.source, sha256: archive.sha256, id });
}

/** A fixture archive where `bootHost({ files })` puts it in the container. */
export function inContainer(entry: ArchiveIndexEntry): ArchiveSource {
  return { source: containerPath(entry), sha256: entry.sha256 };
}

/** The built fixture (tar.gz) of `decl`. */
export function fixtureArchive(decl: ArchiveDeclaration): InstallableArchive {
  const entry = archive(decl.name, "tar.gz");
  return { name: decl.name, decl, ...inContainer(entry), size: entry.size };
}

/** An archive rendered from `decl` with the fixture factory's writers, for a case no built fixture isolates; boot the host with its `file`. */
export function packedArchive(decl: ArchiveDeclaration): InstallableArchive {
  const content = packTarGz(benignTarEntries(renderArchiveExtension(decl, "")));
  const target = `/fixtures/generated/${decl.name}-${decl.version}.tar.gz`;
  return { name: decl.name, decl, source: target, sha256: createHash("sha256").update(content).digest("hex"), size: content.length, file: { target, content } };
}

/**
 * A suite's setup step: installs the fixture `entry` from the container as `id` and waits until it
 * runs (any answer but 201 fails the setup); returns its pid.
 */
export async function setupInstall(host: BootedHost, entry: ArchiveIndexEntry, id: string, timeoutMs: number): Promise<number> {
  const res = await installArchive(host, inContainer(entry), id);
  if (res.status !== 201) throw new Error(`setup: installing ${entry.name} ${entry.version} as ${id} answered ${res.status} ${JSON.stringify(res.body)}`);
  return runningPid(host, id, entry.version, timeoutMs);
}

/**
 * Waits until the agent reports `id` at `version` running and the extension's own witness line
 * shows that process really started (not only the host's word); returns its pid.
 */
export async function runningPid(host: BootedHost, id: string, version: string, timeoutMs: number): Promise<number> {
  const status = await waitFor(`${id} ${version} to run`, async () => {
    const s = await host.agent.status(id);
    return s.state === "running" && s.version === version && s.pid ? s : undefined;
  }, timeoutMs);
  await waitFor(`process_start of ${id} pid ${status.pid}`, async () => (await host.witness()).find((l) => l.event === "process_start" && l.pid === status.pid), timeoutMs);
  return status.pid!;
}

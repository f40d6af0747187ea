import { readFileSync } from "node:fs";
import path from "node:path";
import type { FileToPut } from "../../src/containers/cell-container.ts";
import type { ArchiveIndexEntry, FixtureIndex, FixtureIndexEntry, HostileIndexEntry, WheelIndexEntry } from "../../src/fixtures/build/fixture-index.ts";
import { PROJECT_ROOT } from "./cells.ts";

/** Where the global setup builds fixtures; suites read the index and copy bytes into containers. */
export const FIXTURES_DIST = path.join(PROJECT_ROOT, "fixtures", "dist");
/** Where sample wheels are put inside a container (pip's --find-links folder). */
export const CONTAINER_WHEELS = "/fixtures/wheels";
/** Where archives and hostile archives are put inside a container. */
export const CONTAINER_ARCHIVES = "/fixtures/archives";

let cached: FixtureIndex | undefined;

/** The fixture index the global setup built (fixtures/dist/index.json). */
export function fixtureIndex(): FixtureIndex {
  cached ??= JSON.parse(readFileSync(path.join(FIXTURES_DIST, "index.json"), "utf8")) as FixtureIndex;
  return cached;
}

function find<T extends FixtureIndexEntry>(kind: T["kind"], name: string, pick?: (e: T) => boolean): T {
  const found = fixtureIndex().entries.filter((e): e is T => e.kind === kind && e.name === name && (pick ? pick(e as T) : true));
  if (found.length === 0) throw new Error(`No ${kind} fixture named ${JSON.stringify(name)}${pick ? " matching the filter" : ""} in fixtures/dist/index.json`);
  return found[0]!;
}

/** A sample wheel by fixture name, rendered by host template `host` (`wheel("ok-basic", "toposync")`). */
export function wheel(name: string, host = "reference"): WheelIndexEntry {
  return find<WheelIndexEntry>("wheel", name, (e) => e.host === host);
}

/** Every sample wheel rendered by host template `host`. */
export function allWheels(host = "reference"): WheelIndexEntry[] {
  return fixtureIndex().entries.filter((e): e is WheelIndexEntry => e.kind === "wheel" && e.host === host);
}

/** A sample archive by fixture name, format and platform suffix ("" for none). */
export function archive(name: string, format: ArchiveIndexEntry["format"] = "tar.gz", platform?: string): ArchiveIndexEntry {
  return find<ArchiveIndexEntry>("archive", name, (e) => e.format === format && (platform === undefined || e.platform === platform));
}

/** Every format and platform variant of one archive fixture. */
export function archiveVariants(name: string): ArchiveIndexEntry[] {
  return fixtureIndex().entries.filter((e): e is ArchiveIndexEntry => e.kind === "archive" && e.name === name);
}

/** Hostile corpus entries, every format. */
export function hostileEntries(): HostileIndexEntry[] {
  return fixtureIndex().entries.filter((e): e is HostileIndexEntry => e.kind === "hostile");
}

/** The bytes of an index entry, to copy into a container (hostile bytes are never extracted here). */
export function fixtureBytes(entry: FixtureIndexEntry): Buffer {
  return readFileSync(path.join(FIXTURES_DIST, entry.file));
}

/** The container path an entry is put at by `toContainer`. */
export function containerPath(entry: FixtureIndexEntry): string {
  return `${entry.kind === "wheel" ? CONTAINER_WHEELS : CONTAINER_ARCHIVES}/${path.basename(entry.file)}`;
}

/** Files to put into a container so these entries sit at `containerPath(entry)`. */
export function toContainer(entries: FixtureIndexEntry[]): FileToPut[] {
  return entries.map((e) => ({ target: containerPath(e), content: fixtureBytes(e) }));
}

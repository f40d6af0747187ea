import type { HostileIndexEntry } from "../../src/fixtures/build/fixture-index.ts";
import type { HostileLimits } from "../../src/fixtures/declarations/fixture-declaration.ts";
import type { HostSettings } from "../../src/hosts/host-adapter.ts";
import { ARCHIVE_LIMITS } from "../../src/oracle/archive-oracle.ts";

// How the hostile-archives suite lays its corpus out on hosts: one host per set of ARC-05 limits.
// Shared with the benchmark (bench/), whose naive loop and floor start the same hosts; pure, no vitest.

/** The ARC-05 settings a corpus entry may declare limits for. */
export type LimitSettings = Pick<HostSettings, "maxExtractedBytes" | "maxFiles">;
/** The setting of each limit as the corpus declares it (its names are the corpus's own). */
const LIMIT_SETTING: Record<keyof HostileLimits, keyof LimitSettings> = { max_extracted_bytes: "maxExtractedBytes", max_files: "maxFiles" };
/** ARC-05 limits of the contract (the oracle's), the host's defaults. */
export const CONTRACT_LIMITS: Required<LimitSettings> = { maxExtractedBytes: ARCHIVE_LIMITS.maxExtractedBytes, maxFiles: ARCHIVE_LIMITS.maxFiles };
/** The id every refused archive is installed under: the id of the previously installed version. */
export const TARGET_ID = "distcheck.hostile-target";
/** The fixture installed under TARGET_ID before any hostile archive (the previous version). */
export const PREVIOUS_ARCHIVE = "arc-basic-next";
/** Another version of the same extension, to restore a damaged previous version through. */
export const BRIDGE_ARCHIVE = "arc-basic";

/** One host per set of limits; entries declaring the contract's own limits use the default host. */
export interface HostGroup {
  /** Named after the limits as the corpus declares them (`max_files=100`); test titles carry it. */
  name: string;
  settings: LimitSettings;
  entries: HostileIndexEntry[];
}

function nonDefaultLimits(entry: HostileIndexEntry): LimitSettings {
  const out: LimitSettings = {};
  for (const [k, v] of Object.entries(entry.limit ?? {}) as Array<[keyof HostileLimits, number]>) if (v !== CONTRACT_LIMITS[LIMIT_SETTING[k]]) out[LIMIT_SETTING[k]] = v;
  return out;
}

/** The corpus's name of a limit setting. */
const declaredName = (setting: keyof LimitSettings): keyof HostileLimits => (Object.keys(LIMIT_SETTING) as Array<keyof HostileLimits>).find((k) => LIMIT_SETTING[k] === setting)!;

/**
 * The hosts of the corpus. Entries with small declared limits share one host when their limits do
 * not conflict (the bombs and the bytes boundary entries declare max_extracted_bytes, the file-count
 * ones max_files: each holds far fewer files, or far fewer bytes, than the other limit).
 */
export function hostGroups(entries: HostileIndexEntry[]): HostGroup[] {
  const groups: HostGroup[] = [{ name: "contract limits", settings: {}, entries: [] }];
  for (const entry of entries) {
    const limits = nonDefaultLimits(entry);
    if (Object.keys(limits).length === 0) {
      groups[0]!.entries.push(entry);
      continue;
    }
    let group = groups.slice(1).find((g) => Object.entries(limits).every(([k, v]) => g.settings[k as keyof LimitSettings] === undefined || g.settings[k as keyof LimitSettings] === v));
    if (!group) {
      group = { name: "", settings: {}, entries: [] };
      groups.push(group);
    }
    Object.assign(group.settings, limits);
    group.entries.push(entry);
  }
  for (const g of groups.slice(1)) g.name = `small limits ${Object.entries(g.settings).map(([k, v]) => `${declaredName(k as keyof LimitSettings)}=${v}`).join(" ")}`;
  return groups;
}

/** The limits a group's host runs with: the contract's, overridden by the group's. */
export const limitsOf = (group: HostGroup): Required<LimitSettings> => ({ ...CONTRACT_LIMITS, ...group.settings });

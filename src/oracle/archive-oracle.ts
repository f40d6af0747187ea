import semver from "semver";

/**
 * What the contract predicts for archive installs that depend on the host rather than on the archive
 * alone: the host version range (ARC-10 defaults, ARC-11 check) and the platform pick (ARC-12).
 */

/** ARC-10: the host version range when the manifest names none, by host type. */
export const DEFAULT_HOST_RANGE = { agent: ">=25.0.20", app: ">=26.0.3" } as const;

export type ArchiveHostType = keyof typeof DEFAULT_HOST_RANGE;

/**
 * The npm-style range an archive manifest requires: `[core] version` (the reference host's table) or
 * `[zelos] version` (the Zelos seed's), else the ARC-10 default for its host type (`[host] type`; the
 * legacy `[runtime]` form is an agent).
 */
export function requiredHostRange(manifest: Record<string, unknown>): { range: string; defaulted: boolean } {
  for (const table of ["core", "zelos"]) {
    const section = manifest[table];
    const version = section && typeof section === "object" ? (section as Record<string, unknown>).version : undefined;
    if (typeof version === "string") return { range: version, defaulted: false };
  }
  const host = manifest.host as Record<string, unknown> | undefined;
  const type: ArchiveHostType = host && host.type === "app" ? "app" : "agent";
  return { range: DEFAULT_HOST_RANGE[type], defaulted: true };
}

/**
 * npm `semver.satisfies` (no pre-release opt-in, as npm does), with the Zelos seed's one addition:
 * a comma between comparators means AND (`>=25.0.0, <26.0.0`). Throws on an invalid version or range.
 */
export function npmRangeSatisfies(version: string, range: string): boolean {
  if (semver.valid(version) === null) throw new RangeError(`${JSON.stringify(version)} is not a SemVer version`);
  const normalised = range.replace(/\s*,\s*/g, " ");
  if (semver.validRange(normalised) === null) throw new RangeError(`${JSON.stringify(range)} is not an npm range`);
  return semver.satisfies(version, normalised);
}

/** ARC-11: what an install of an archive with this manifest does on a host of `agentVersion`. */
export interface HostRangeVerdict {
  installs: boolean;
  range: string;
  agentVersion: string;
  /** `incompatible_host_version` when refused. */
  error?: "incompatible_host_version";
  /** Strings the refusal message must contain: both versions (the range and the host's version). */
  mustName: string[];
}

export function predictHostRange(manifest: Record<string, unknown>, agentVersion: string): HostRangeVerdict {
  const { range } = requiredHostRange(manifest);
  const installs = npmRangeSatisfies(agentVersion, range);
  return installs
    ? { installs, range, agentVersion, mustName: [] }
    : { installs, range, agentVersion, error: "incompatible_host_version", mustName: [range, agentVersion] };
}

/** `universal`, or `<os>-<arch>` as in the Zelos seed's target strings. */
export type PlatformTarget = string;
export const UNIVERSAL = "universal";

const ARCHIVE_SUFFIX = /\.(tar\.gz|tgz|zip)$/i;
// The Zelos seed's keyword tables ("How Platform Detection Works"), matched case-insensitively.
const OS_KEYWORDS: Array<[string, string]> = [["darwin", "darwin"], ["macos", "darwin"], ["osx", "darwin"], ["linux", "linux"], ["win32", "windows"], ["windows", "windows"], ["exe", "windows"]];
const ARCH_KEYWORDS: Array<[string, string]> = [["x86_64", "x86_64"], ["amd64", "x86_64"], ["x64", "x86_64"], ["aarch64", "arm64"], ["arm64", "arm64"], ["armv7", "arm"], ["arm", "arm"]];

function hasToken(name: string, keyword: string): boolean {
  // A keyword counts as a whole token: `alarm` is not `arm`, `linux_x86_64` is linux + x86_64.
  return new RegExp(`(?<![a-z0-9])${keyword.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![a-z0-9])`).test(name);
}

/**
 * ARC-12: the platform an archive file name declares. Both an OS and an architecture keyword → that
 * platform (`arm64` is `aarch64` outside darwin); neither, only one, `any` or `universal` → universal.
 */
export function detectPlatform(fileName: string): PlatformTarget {
  const name = fileName.split("/").pop()!.replace(ARCHIVE_SUFFIX, "").toLowerCase();
  const os = OS_KEYWORDS.find(([k]) => hasToken(name, k))?.[1];
  let arch = ARCH_KEYWORDS.find(([k]) => hasToken(name, k))?.[1];
  if (os === undefined || arch === undefined) return UNIVERSAL;
  if (arch === "arm64" && os !== "darwin") arch = "aarch64";
  return `${os}-${arch}`;
}

/** ARC-12: which candidate an install picks on `platform`, or the refusal. */
export type PlatformPick =
  | { installs: true; index: number; fileName: string; platform: PlatformTarget; exact: boolean }
  | { installs: false; error: "no_platform_package" };

/** Exact platform match first, then a universal package, else `no_platform_package`. */
export function pickPlatformPackage(fileNames: string[], platform: PlatformTarget): PlatformPick {
  const detected = fileNames.map(detectPlatform);
  const wanted = platform.toLowerCase();
  for (const [target, exact] of [[wanted, true], [UNIVERSAL, false]] as const) {
    const index = detected.indexOf(target);
    if (index >= 0) return { installs: true, index, fileName: fileNames[index]!, platform: target, exact };
  }
  return { installs: false, error: "no_platform_package" };
}

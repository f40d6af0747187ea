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

// --- Numeric limits (ARC-03, ARC-05, ARC-09, ARC-10) ----------------------------------------------

/**
 * The contract's numeric limits on archives, as CONTRACT.md states them. Each bound is inclusive:
 * "above 500 MiB" is refused, so exactly 500 MiB is accepted; "exceeds 10,000" files is refused, so
 * exactly 10,000 are accepted; "≤20" keywords; grace "valid 1–300".
 */
export const ARCHIVE_LIMITS = {
  /** ARC-03: archives above this many bytes (500 MiB), compressed, are refused. */
  maxDownloadBytes: 500 * 1024 ** 2,
  /** ARC-03: the whole transfer's bound, seconds. */
  downloadTimeoutS: 60,
  /** ARC-05: extraction refuses archives whose extracted size would exceed this (2 GiB). */
  maxExtractedBytes: 2 * 1024 ** 3,
  /** ARC-05: ... or whose file count exceeds this. */
  maxFiles: 10_000,
  /** ARC-09: at most this many keywords. */
  maxKeywords: 20,
  /** ARC-09: at most this many categories. */
  maxCategories: 10,
  /** ARC-10: `stop.grace_seconds`, when set, is an integer in this range (both ends valid). */
  graceSeconds: { min: 1, max: 300 },
} as const;

/** ARC-03: whether an archive of `size` bytes passes a download cap of `cap` bytes (file or URL, Content-Length or not). */
export function predictDownloadSize(size: number, cap: number = ARCHIVE_LIMITS.maxDownloadBytes): { accepted: true } | { accepted: false; error: "download_too_large" } {
  if (!Number.isSafeInteger(size) || size < 0 || !Number.isSafeInteger(cap) || cap < 1) throw new RangeError(`size ${size} and cap ${cap} must be whole byte counts`);
  return size <= cap ? { accepted: true } : { accepted: false, error: "download_too_large" };
}

/** One archive entry as its headers declare it (the shape `src/fixtures/inspect/` reads). */
export interface ExtractionEntry {
  kind: string;
  /** Uncompressed size of a regular file, bytes. */
  size: number;
}

/** The ARC-05 limits a host runs with (the contract's, unless a suite configures smaller ones). */
export interface ExtractionLimits {
  maxFiles: number;
  maxExtractedBytes: number;
}

export type ExtractionVerdict =
  | { installs: true; files: number; bytes: number }
  | { installs: false; files: number; bytes: number; /** Any one of these codes: both limits crossed, the host may meet either first. */ errors: Array<"too_many_files" | "too_large_extracted"> };

/**
 * ARC-05 alone: what an archive's regular files do to the extraction limits. The file count is the
 * number of regular files (`extension.toml` included; directories hold no content and are not
 * files); the extracted size is the sum of their sizes. A limit is crossed only when exceeded:
 * exactly `maxFiles` files or exactly `maxExtractedBytes` bytes install. Entries of other kinds
 * (links, devices) are ARC-04's matter and count for neither.
 */
export function predictExtraction(entries: readonly ExtractionEntry[], limits: ExtractionLimits = ARCHIVE_LIMITS): ExtractionVerdict {
  const files = entries.filter((e) => e.kind === "file");
  const count = files.length;
  const bytes = files.reduce((sum, e) => sum + e.size, 0);
  const errors: Array<"too_many_files" | "too_large_extracted"> = [];
  if (count > limits.maxFiles) errors.push("too_many_files");
  if (bytes > limits.maxExtractedBytes) errors.push("too_large_extracted");
  return errors.length === 0 ? { installs: true, files: count, bytes } : { installs: false, files: count, bytes, errors };
}

/** ARC-02: a SHA-256 as the contract reads it: 64 hex digits in any case; empty or missing is refused. */
export type DigestReading = { kind: "digest"; hex: string } | { kind: "missing" } | { kind: "unspecified" };

/**
 * Reads the digest an install request carries. 64 hex digits, in any case, are a digest (lower-cased);
 * an empty or missing one must be refused (ARC-02). Any other spelling (a `sha256:` prefix, 63 digits)
 * the contract does not define: `unspecified`, so no suite may predict its outcome from this.
 */
export function readSha256(value: unknown): DigestReading {
  if (value === undefined || value === null || value === "") return { kind: "missing" };
  if (typeof value === "string" && /^[0-9a-fA-F]{64}$/.test(value)) return { kind: "digest", hex: value.toLowerCase() };
  return { kind: "unspecified" };
}

/** ARC-02: whether `given` names the digest `actual` (hex of the bytes): the same 256 bits, whatever the case of its digits. */
export function sameSha256(given: string, actual: string): boolean {
  const a = readSha256(given);
  const b = readSha256(actual);
  if (b.kind !== "digest") throw new RangeError(`${JSON.stringify(actual)} is not a SHA-256 hex digest`);
  return a.kind === "digest" && a.hex === b.hex;
}

/** ARC-09 and ARC-10: whether a manifest (`extension.toml` as JSON) passes validation. */
export type ManifestVerdict = { valid: true } | { valid: false; error: "manifest_invalid"; problems: string[] };

type Table = Record<string, unknown>;
const isTable = (value: unknown): value is Table => value !== null && typeof value === "object" && !Array.isArray(value);

/** SemVer 2.0.0 exactly: `semver.valid` without its leniency (it trims, and takes a `v` or `=` prefix). */
function isStrictSemver(value: unknown): boolean {
  return typeof value === "string" && value === value.trim() && !/^[v=]/i.test(value) && semver.valid(value) !== null;
}

/**
 * The manifest rules of ARC-09 (name non-empty, strict SemVer version, `[host]` or legacy `[runtime]`
 * with an entry, keywords ≤ 20 and categories ≤ 10, no empty strings) and ARC-10's grace range
 * (`stop.grace_seconds` an integer 1–300 when set; in `[host.agent]` / `[runtime]` or at the top
 * level). A host refuses an invalid manifest with `manifest_invalid`. Other refusals (host range,
 * reserved env keys, platform) are other clauses' and not judged here.
 */
export function predictManifest(manifest: Table): ManifestVerdict {
  const problems: string[] = [];
  const { name, version, host, runtime } = manifest;
  if (typeof name !== "string" || name.trim() === "") problems.push(`name must be a non-empty string, got ${JSON.stringify(name ?? null)}`);
  if (!isStrictSemver(version)) problems.push(`version must be strict SemVer, got ${JSON.stringify(version ?? null)}`);
  let agent: Table = {};
  if (host !== undefined) {
    const type = isTable(host) ? host.type : undefined;
    const section = isTable(host) && (type === "agent" || type === "app") ? host[type] : undefined;
    if (type !== "agent" && type !== "app") problems.push(`[host] type must be "agent" or "app", got ${JSON.stringify(type ?? null)}`);
    else if (!isTable(section) || typeof section.entry !== "string" || section.entry === "") problems.push(`[host.${type}] needs an entry`);
    if (type === "agent" && isTable(section)) agent = section;
  } else if (runtime !== undefined) {
    if (!isTable(runtime) || runtime.type !== "python" || typeof runtime.entry !== "string" || runtime.entry === "") problems.push("[runtime] needs type \"python\" and an entry");
    if (isTable(runtime)) agent = runtime;
  } else {
    problems.push("neither [host] nor the legacy [runtime] is present");
  }
  for (const [key, limit] of [["keywords", ARCHIVE_LIMITS.maxKeywords], ["categories", ARCHIVE_LIMITS.maxCategories]] as const) {
    const list = manifest[key];
    if (list === undefined) continue;
    if (!Array.isArray(list) || !list.every((v) => typeof v === "string")) problems.push(`${key} must be a list of strings`);
    else if (list.length > limit) problems.push(`${key} has ${list.length} entries; at most ${limit}`);
    else if (list.some((v: string) => v.trim() === "")) problems.push(`${key} holds an empty string`);
  }
  const stop = "stop" in agent ? agent.stop : manifest.stop;
  if (stop !== undefined) {
    const grace = isTable(stop) ? stop.grace_seconds : undefined;
    const { min, max } = ARCHIVE_LIMITS.graceSeconds;
    if (!isTable(stop)) problems.push("[stop] must be a table");
    else if (grace !== undefined && (typeof grace !== "number" || !Number.isInteger(grace) || grace < min || grace > max)) problems.push(`stop.grace_seconds must be an integer from ${min} to ${max}, got ${JSON.stringify(grace)}`);
  }
  return problems.length === 0 ? { valid: true } : { valid: false, error: "manifest_invalid", problems };
}

import { open, readFile } from "node:fs/promises";
import { parse as parseToml } from "smol-toml";
import { tarGzRecords, zipRecords, type ArchiveRecord } from "../fixtures/inspect/archive-records.ts";
import { readTarGzHeaders } from "../fixtures/inspect/tar-header-reader.ts";
import { detectPlatform } from "../oracle/archive-oracle.ts";
import { archiveEntryProblems, type EntryProblem } from "./archive-entry-rules.ts";
import { defaultsUsed, graceProblem, hostRangeProblem, hostSectionProblem, listProblem, nameProblem, versionProblem } from "./archive-manifest-rules.ts";
import type { Finding } from "./certification-document.ts";
import { StaticFindings, type CheckSpec } from "./finding-builder.ts";
import { readTarGzMember } from "./tar-member-reader.ts";
import { ZipMemberReader } from "./zip-member-reader.ts";

/**
 * Static checks of an archive extension (ARC clauses), from headers read at the byte level: tar
 * headers streamed through gunzip in memory, the zip central directory and local headers. Nothing is
 * extracted; the only content read is `extension.toml`, in memory. Check ids name the defect.
 */

const c = (checkId: string, clause: string, severity: CheckSpec["severity"], title: string, invalidatesArtifact?: true): CheckSpec =>
  invalidatesArtifact ? { checkId, clause, severity, title, invalidatesArtifact } : { checkId, clause, severity, title };

export const ARCHIVE_CHECKS = {
  format: c("archive.format.unsupported", "ARC-01", "error", "The archive is .tar.gz, .tgz or .zip, and its bytes are that format", true),
  unreadable: c("archive.unreadable", "ARC-01", "error", "Every header of the archive reads (gzip stream, tar header checksums, zip directory)", true),
  unsafeType: c("archive.entry.unsafe-type", "ARC-04", "error", "No entry is a symbolic link, hard link, device, FIFO or other special file"),
  unsafeName: c("archive.entry.unsafe-name", "ARC-04", "error", "Every entry name is a safe relative path: no absolute path, '..', backslash, drive letter, hidden segment or duplicate"),
  tooManyFiles: c("archive.limits.too-many-files", "ARC-05", "error", "The archive holds at most 10,000 files"),
  tooLarge: c("archive.limits.too-large", "ARC-05", "error", "The files' extracted size (as the headers declare it) is at most 2 GiB"),
  notAtRoot: c("archive.manifest.not-at-root", "ARC-06", "error", "extension.toml sits at the archive root"),
  unparsable: c("archive.manifest.unparsable", "ARC-09", "error", "extension.toml is readable TOML"),
  name: c("archive.manifest.name-invalid", "ARC-09", "error", "name is a non-empty string"),
  version: c("archive.manifest.version-invalid", "ARC-09", "error", "version is strict SemVer"),
  host: c("archive.manifest.host-invalid", "ARC-09", "error", "[host] (or the legacy [runtime]) says how the extension runs"),
  keywords: c("archive.manifest.keywords-invalid", "ARC-09", "error", "keywords: at most 20, no empty strings"),
  categories: c("archive.manifest.categories-invalid", "ARC-09", "error", "categories: at most 10, no empty strings"),
  hostRange: c("archive.manifest.host-range-invalid", "ARC-11", "error", "The host version range ([zelos] or [core] version) is an npm-style SemVer range"),
  grace: c("archive.manifest.grace-out-of-range", "ARC-10", "error", "stop.grace_seconds, when set, is an integer from 1 to 300"),
  platform: c("archive.platform.detected", "ARC-12", "info", "The platform the file name declares"),
} as const satisfies Record<string, CheckSpec>;

/** ARC-10 defaults: one info check each, `pass` when the manifest relies on the default. */
export const DEFAULT_CHECK_PREFIX = "archive.default.";

/** ARC-05 limits, in files and bytes. */
export const MAX_FILES = 10_000;
export const MAX_EXTRACTED_BYTES = 2 * 2 ** 30;
const MANIFEST = "extension.toml";
const MAX_MANIFEST_BYTES = 2 ** 20;
const ACCEPTED = [".tar.gz", ".tgz", ".zip"];

export interface ArchiveStaticResult {
  findings: Finding[];
  /** Manifest `name` and `version`, when readable. */
  name: string | null;
  version: string | null;
  /** ARC-12: the platform the file name declares (`universal` when none). */
  platform: string;
  /** The parsed `extension.toml`, when it parses (the dynamic checks' expectations start from it). */
  manifest?: Record<string, unknown>;
  /** The manifest's config schema (ARC-10 default `config.schema.json`) as JSON, when the archive has it and it parses. */
  configSchema?: unknown;
}

function describeProblems(problems: readonly EntryProblem[]): string[] {
  const shown = problems.slice(0, 20).map((p) => `${JSON.stringify(p.entry)} (${p.reason}): ${p.detail}`);
  return problems.length > 20 ? [...shown, `and ${problems.length - 20} more`] : shown;
}

/** Records of a .tar.gz or .zip; a tar.gz scan stops at the entry that crosses an ARC-05 limit. */
async function readRecords(path: string, format: "tar.gz" | "zip"): Promise<{ records: ArchiveRecord[]; stopped: boolean; zip?: Buffer; badChecksums: string[] }> {
  if (format === "zip") {
    const zip = await readFile(path);
    return { records: zipRecords(zip), stopped: false, zip, badChecksums: [] };
  }
  let files = 0;
  let bytes = 0;
  let stopped = false;
  const records = await tarGzRecords(path, (r) => {
    if (r.kind === "file") {
      files += 1;
      bytes += r.size;
    }
    stopped = files > MAX_FILES || bytes > MAX_EXTRACTED_BYTES;
    return stopped;
  });
  // A second streamed pass for what records do not carry: each header's checksum (a host's tar reader refuses a bad one).
  const limit = records.length;
  let seen = 0;
  const headers = await readTarGzHeaders(path, () => ++seen >= limit);
  return { records, stopped, badChecksums: headers.filter((h) => !h.checksumValid).map((h) => h.name.toString("utf8")) };
}

export async function checkArchive(path: string, fileName: string, reproduce: string): Promise<ArchiveStaticResult> {
  const out = new StaticFindings(fileName, reproduce);
  const C = ARCHIVE_CHECKS;
  const platform = detectPlatform(fileName);
  const result: ArchiveStaticResult = { findings: out.findings, name: null, version: null, platform };
  let blocked = "an earlier check this one depends on failed";
  const finish = (manifest?: Record<string, unknown>): ArchiveStaticResult => {
    out.pass(C.platform, platform === "universal" ? `the file name names no platform: a universal package` : `the file name declares ${platform}`, { platform, fileName });
    for (const use of manifest === undefined ? [] : defaultsUsed(manifest)) {
      const spec: CheckSpec = { checkId: `${DEFAULT_CHECK_PREFIX}${use.id}`, clause: "ARC-10", severity: "info", title: `Relies on the ARC-10 default of ${use.field}` };
      if (use.notApplicable !== undefined) out.notApplicable(spec, use.notApplicable, { field: use.field });
      else if (use.relied) out.pass(spec, `${use.field} is not set: the host applies the default ${JSON.stringify(use.value)}`, { field: use.field, default: use.value });
      else out.notApplicable(spec, `${use.field} is set to ${JSON.stringify(use.given)}`, { field: use.field, given: use.given ?? null, default: use.value });
    }
    const reported = new Set(out.findings.map((f) => f.checkId));
    for (const spec of Object.values(C)) if (!reported.has(spec.checkId)) out.notApplicable(spec, `not checked: ${blocked}`);
    return result;
  };

  // ARC-01: the name decides the format a host assumes; the bytes must be that format.
  const lower = fileName.toLowerCase();
  const suffix = ACCEPTED.find((s) => lower.endsWith(s) && lower.length > s.length);
  const head = Buffer.alloc(4);
  const handle = await open(path, "r");
  try {
    await handle.read(head, 0, 4, 0);
  } finally {
    await handle.close();
  }
  const format = suffix === ".zip" ? "zip" : suffix === undefined ? undefined : "tar.gz";
  const magicOk = format === "zip" ? head.readUInt32LE(0) === 0x04034b50 || head.readUInt32LE(0) === 0x06054b50 : head[0] === 0x1f && head[1] === 0x8b;
  if (format === undefined || !magicOk) {
    out.fail(C.format, format === undefined ? `${fileName} does not end in ${ACCEPTED.join(", ")}` : `${fileName} is named as ${format} but its first bytes are ${head.toString("hex")}`, { fileName, head: head.toString("hex") });
    blocked = "the archive is not in an accepted format";
    return finish();
  }
  out.pass(C.format, `${format} (${suffix})`, { format });

  let scan: Awaited<ReturnType<typeof readRecords>>;
  try {
    scan = await readRecords(path, format);
  } catch (error) {
    out.fail(C.unreadable, `the archive's headers cannot be read: ${(error as Error).message}`);
    blocked = "the archive is unreadable";
    return finish();
  }
  const { records, stopped } = scan;
  if (scan.badChecksums.length > 0) {
    // Headers that fail their checksum are noise, not entries: judging their names would mislead.
    out.fail(C.unreadable, `${scan.badChecksums.length} tar header(s) have a wrong checksum (the first at entry ${records.findIndex((r) => r.name === scan.badChecksums[0]) + 1}): not a tar a host can read`, { badChecksums: scan.badChecksums.slice(0, 20).map((n) => n.slice(0, 100)) });
    blocked = "the archive is unreadable";
    return finish();
  }
  const partial = stopped ? ` (read up to entry ${records.length}, where an ARC-05 limit was crossed)` : "";
  out.pass(C.unreadable, `${records.length} entries read${partial}`, { entries: records.length, stopped });

  const problems = archiveEntryProblems(records);
  out.outcome(C.unsafeType, describeProblems(problems.type), `every entry is a regular file or a directory${partial}`, { entries: problems.type.slice(0, 200) });
  out.outcome(C.unsafeName, describeProblems(problems.name), `every entry name is a safe relative path${partial}`, { entries: problems.name.slice(0, 200) });

  const files = records.filter((r) => r.kind === "file");
  const bytes = files.reduce((sum, r) => sum + r.size, 0);
  const counted = stopped ? "at least " : "";
  if (files.length > MAX_FILES) out.fail(C.tooManyFiles, `${counted}${files.length} files; the limit is ${MAX_FILES}`, { files: files.length, limit: MAX_FILES, stopped });
  else out.pass(C.tooManyFiles, `${files.length} files`, { files: files.length, limit: MAX_FILES });
  if (bytes > MAX_EXTRACTED_BYTES) out.fail(C.tooLarge, `${counted}${bytes} bytes declared; the limit is ${MAX_EXTRACTED_BYTES}`, { bytes, limit: MAX_EXTRACTED_BYTES, stopped });
  else out.pass(C.tooLarge, `${bytes} bytes declared`, { bytes, limit: MAX_EXTRACTED_BYTES });

  // ARC-06, then the manifest's own content, read in memory only.
  let content: Buffer | undefined;
  try {
    if (format === "zip") {
      const reader = new ZipMemberReader(scan.zip!);
      if (reader.has(MANIFEST)) content = reader.read(MANIFEST, MAX_MANIFEST_BYTES);
    } else if (files.some((r) => r.name === MANIFEST) || stopped) {
      content = (await readTarGzMember(path, (h) => h.name.toString("utf8") === MANIFEST, MAX_MANIFEST_BYTES))?.content;
    }
  } catch (error) {
    out.pass(C.notAtRoot, `${MANIFEST} is at the root`);
    out.fail(C.unparsable, `${MANIFEST} cannot be read: ${(error as Error).message}`);
    blocked = `${MANIFEST} cannot be read`;
    return finish();
  }
  if (content === undefined) {
    const nested = files.map((r) => r.name).filter((n) => n.endsWith(`/${MANIFEST}`)).sort();
    const detail = nested.length > 0 ? `no ${MANIFEST} at the root, but ${nested[0]}: the archive is wrapped in the folder ${nested[0]!.slice(0, -MANIFEST.length)}` : `no ${MANIFEST} at the root (${files.length} files)`;
    out.fail(C.notAtRoot, detail, { nested });
    blocked = `no ${MANIFEST} at the archive root`;
    return finish();
  }
  out.pass(C.notAtRoot, `${MANIFEST} is at the root (${content.length} bytes)`);

  let manifest: Record<string, unknown>;
  try {
    manifest = parseToml(content.toString("utf8")) as Record<string, unknown>;
  } catch (error) {
    out.fail(C.unparsable, `${MANIFEST} is not valid TOML: ${(error as Error).message.split("\n")[0]}`);
    blocked = `${MANIFEST} is not valid TOML`;
    return finish();
  }
  out.pass(C.unparsable, `${MANIFEST} parses as TOML`);
  const check = (spec: CheckSpec, problem: string | undefined, passDetail: string, evidence: Record<string, unknown> = {}): void => out.outcome(spec, problem === undefined ? [] : [problem], passDetail, evidence);
  check(C.name, nameProblem(manifest), `name ${JSON.stringify(manifest.name)}`, { name: manifest.name ?? null });
  check(C.version, versionProblem(manifest), `version ${String(manifest.version)}`, { version: manifest.version ?? null });
  check(C.host, hostSectionProblem(manifest), manifest.host !== undefined ? "[host] section" : "legacy [runtime] section", { form: manifest.host !== undefined ? "host" : "runtime" });
  check(C.keywords, listProblem(manifest, "keywords"), "keywords within limits", { keywords: manifest.keywords ?? [] });
  check(C.categories, listProblem(manifest, "categories"), "categories within limits", { categories: manifest.categories ?? [] });
  const range = hostRangeProblem(manifest);
  check(C.hostRange, range.problem, `host version range ${JSON.stringify(range.range)}${range.defaulted ? " (the ARC-10 default)" : ""}`, { range: range.range, defaulted: range.defaulted });
  check(C.grace, graceProblem(manifest), "stop.grace_seconds within 1-300 or not set");
  if (typeof manifest.name === "string") result.name = manifest.name;
  if (typeof manifest.version === "string") result.version = manifest.version;
  result.manifest = manifest;
  const schemaName = configSchemaName(manifest);
  if (schemaName !== null && files.some((r) => r.name === schemaName)) {
    try {
      const raw = format === "zip" ? new ZipMemberReader(scan.zip!).read(schemaName, MAX_MANIFEST_BYTES) : (await readTarGzMember(path, (h) => h.name.toString("utf8") === schemaName, MAX_MANIFEST_BYTES))?.content;
      if (raw !== undefined) result.configSchema = JSON.parse(raw.toString("utf8")) as unknown;
    } catch {
      // An unreadable schema leaves the expectation open; the host's answer is then reported as seen.
    }
  }
  return finish(manifest);
}

/** The config schema file a manifest names (`[config] schema`, ARC-10 default `config.schema.json`), null when it has no `[config]`. */
function configSchemaName(manifest: Record<string, unknown>): string | null {
  const config = manifest.config;
  if (config === undefined || config === null || typeof config !== "object") return null;
  const schema = (config as Record<string, unknown>).schema;
  return typeof schema === "string" ? schema.replace(/^\.\//, "") : "config.schema.json";
}

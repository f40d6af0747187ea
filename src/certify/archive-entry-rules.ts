import type { ArchiveRecord } from "../fixtures/inspect/archive-records.ts";

/**
 * ARC-04's entry rules applied to headers: which entries make a host refuse the whole archive. The
 * reasons are the `unsafe_entry` reasons of hosts/reference/INTERFACE.md, so a finding names the
 * same reason the host would report.
 */

export type UnsafeEntryReason =
  | "symlink"
  | "hardlink"
  | "device"
  | "fifo"
  | "absolute"
  | "parent_segment"
  | "backslash"
  | "drive_letter"
  | "hidden"
  | "nul"
  | "empty_segment"
  | "name_too_long"
  | "name_mismatch"
  | "duplicate";

export interface EntryProblem {
  entry: string;
  reason: UnsafeEntryReason;
  detail: string;
}

/** Limits of the reference host (`archive/entries.py`): longer names fail on common filesystems. */
const MAX_NAME_BYTES = 4096;
const MAX_SEGMENT_BYTES = 255;

/** Links, devices and FIFOs; `other` tar types (e.g. GNU long-name records) are special files too. */
export function entryTypeProblem(record: ArchiveRecord): EntryProblem | undefined {
  const at = (reason: UnsafeEntryReason, detail: string): EntryProblem => ({ entry: record.name, reason, detail });
  switch (record.kind) {
    case "file":
    case "directory":
      return undefined;
    case "symlink":
      return at("symlink", `it is a symbolic link to ${JSON.stringify(record.linkTarget ?? "")}`);
    case "hardlink":
      return at("hardlink", `it is a hard link to ${JSON.stringify(record.linkTarget ?? "")}`);
    case "char-device":
    case "block-device":
      return at("device", `it is a ${record.kind.replace("-", " ")}`);
    case "fifo":
      return at("fifo", "it is a FIFO");
    default:
      return at("device", "it is a special file (neither a regular file nor a directory)");
  }
}

export interface NameRuleOptions {
  /** ARC-04 refuses segments starting with `.`; wheels may hold them. @default true */
  refuseHidden?: boolean;
}

/** The first rule `name` breaks, in the reference host's order, or undefined for a safe relative name. */
export function entryNameProblem(name: string, options: NameRuleOptions = {}): EntryProblem | undefined {
  const at = (reason: UnsafeEntryReason, detail: string): EntryProblem => ({ entry: name, reason, detail });
  if (name.includes("\u0000")) return at("nul", "the name contains a NUL byte");
  if (name.includes("\\")) return at("backslash", "the name contains a backslash; only forward slashes are allowed");
  if (name.startsWith("/")) return at("absolute", "the path is absolute");
  if (/^[A-Za-z]:/.test(name)) return at("drive_letter", "the path starts with a drive letter");
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) return at("name_too_long", `the name is ${Buffer.byteLength(name)} bytes; the limit is ${MAX_NAME_BYTES}`);
  const trimmed = name.endsWith("/") ? name.slice(0, -1) : name;
  if (trimmed === "") return at("absolute", "the name is empty (the archive root itself)");
  const segments = trimmed.split("/");
  if (segments.includes("..")) return at("parent_segment", "the path has a '..' segment");
  for (const segment of segments) {
    if (segment === "") return at("empty_segment", "the path has an empty segment ('//')");
    if ((options.refuseHidden ?? true) && segment.startsWith(".")) return at("hidden", `segment ${JSON.stringify(segment)} is hidden (starts with '.')`);
    if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) return at("name_too_long", `a segment is ${Buffer.byteLength(segment)} bytes; the limit is ${MAX_SEGMENT_BYTES}`);
  }
  return undefined;
}

/**
 * Every ARC-04 problem of a list of records: type, name (the effective name and, when they differ,
 * the zip local header's or the tar ustar field's, which a less careful extractor would use), and
 * duplicates (a name held twice, or a file that is also a parent directory).
 */
export function archiveEntryProblems(records: readonly ArchiveRecord[]): { type: EntryProblem[]; name: EntryProblem[] } {
  const type: EntryProblem[] = [];
  const name: EntryProblem[] = [];
  const seen = new Set<string>();
  const files = new Set<string>();
  const parents = new Set<string>();
  for (const r of records) {
    const typeProblem = entryTypeProblem(r);
    if (typeProblem) type.push(typeProblem);
    const nameProblem = entryNameProblem(r.name);
    if (nameProblem) {
      name.push(nameProblem);
      continue;
    }
    if (r.localName !== undefined && r.localName !== r.name) {
      name.push({ entry: r.name, reason: "name_mismatch", detail: `its local header names it ${JSON.stringify(r.localName)}` });
      continue;
    }
    const ustarProblem = r.ustarName === undefined ? undefined : entryNameProblem(r.ustarName);
    if (ustarProblem) {
      name.push({ ...ustarProblem, entry: r.name, detail: `its ustar name ${JSON.stringify(r.ustarName)} (under a pax path) is unsafe: ${ustarProblem.detail}` });
      continue;
    }
    const normalised = r.name.endsWith("/") ? r.name.slice(0, -1) : r.name;
    const isDir = r.kind === "directory";
    if (seen.has(normalised) || (!isDir && parents.has(normalised))) {
      name.push({ entry: r.name, reason: "duplicate", detail: "the archive holds this name more than once" });
      continue;
    }
    const parts = normalised.split("/");
    const fileParent = parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join("/")).find((p) => files.has(p));
    if (fileParent !== undefined) {
      name.push({ entry: r.name, reason: "duplicate", detail: `its parent ${JSON.stringify(fileParent)} is a file elsewhere in the archive` });
      continue;
    }
    for (let i = 1; i < parts.length; i++) parents.add(parts.slice(0, i).join("/"));
    seen.add(normalised);
    if (!isDir) files.add(normalised);
  }
  return { type, name };
}

import type { StartedCellContainer } from "../../src/containers/cell-container.ts";

/** The witness file sample extensions append to (INTERFACE.md); it changes by design. */
export const WITNESS_FILE = "/tmp/distcheck-witness.jsonl";
/** A folder the harness itself writes into inside a container; snapshots leave it out. */
export const HARNESS_DIR = "/var/tmp/distcheck-harness";

/**
 * Creates HARNESS_DIR (and the growth watcher in it) before a first snapshot, so the harness's own
 * files never show up as a change of the folder that holds it.
 */
export async function prepareHarnessDir(container: StartedCellContainer): Promise<void> {
  await container.putFiles([{ target: `${HARNESS_DIR}/growth-watch.py`, content: WATCHER }]);
}

/** One path as `find` saw it. */
export interface PathRecord {
  /** `f` file, `d` directory, `l` symlink, `p` fifo, `c`/`b` devices, `s` socket. */
  type: string;
  size: number;
  /** Permission bits in octal, setuid/setgid/sticky included (e.g. "4755"). */
  mode: string;
  /** Modification time, seconds with the fraction `find` prints. */
  mtime: string;
  /** Symlink target, empty otherwise. */
  target: string;
}

/** Every path under a root, keyed by absolute path. */
export type FilesystemSnapshot = Map<string, PathRecord>;

export interface SnapshotOptions {
  /** Where to start. @default "/" */
  root?: string;
  /** Absolute paths left out with everything below them. /proc, /sys and /dev always are (for "/"). */
  exclude?: string[];
}

export interface SnapshotChange {
  path: string;
  before: PathRecord;
  after: PathRecord;
  /** Which fields differ. */
  fields: Array<keyof PathRecord>;
}

export interface SnapshotDiff {
  added: Array<{ path: string; after: PathRecord }>;
  removed: Array<{ path: string; before: PathRecord }>;
  changed: SnapshotChange[];
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * Lists every path under `root` with type, size, mode, mtime (and symlink target) in one exec of
 * GNU find, staying on the root's filesystem (-xdev). Names are NUL-separated so a hostile file
 * name (newline, backslash) cannot forge a record.
 */
export async function snapshotFilesystem(container: StartedCellContainer, options: SnapshotOptions = {}): Promise<FilesystemSnapshot> {
  const root = options.root ?? "/";
  const exclude = [...(root === "/" ? ["/proc", "/sys", "/dev"] : []), WITNESS_FILE, HARNESS_DIR, ...(options.exclude ?? [])];
  // A folder (a data directory) is read through the Engine API's archive endpoint: no process starts
  // in the container. The whole filesystem stays one `find`: its tar would carry every file's bytes.
  if (root !== "/") return snapshotTree(container, root, exclude);
  const prune = exclude.flatMap((p) => ["-path", p, "-prune", "-o"]);
  // %y type, %s size, %m mode (octal), %T@ mtime, %l link target, %p path; fields end with NUL.
  // find runs without a shell: under emulation every process start costs.
  const r = await container.exec(["find", root, "-xdev", ...prune, "-printf", "%y\\0%s\\0%m\\0%T@\\0%l\\0%p\\0"]);
  if (r.exitCode !== 0 && r.stdout.length === 0) throw new Error(`find over ${root} failed in ${container.cell.id}: ${r.stderr.trim()}`);
  const fields = r.stdout.split("\0");
  const snapshot: FilesystemSnapshot = new Map();
  for (let i = 0; i + 5 < fields.length; i += 6) {
    const [type, size, mode, mtime, target, p] = fields.slice(i, i + 6) as [string, string, string, string, string, string];
    snapshot.set(p, { type, size: Number(size), mode, mtime, target });
  }
  if (!snapshot.has(root.replace(/\/+$/, "") || "/")) throw new Error(`find over ${root} in ${container.cell.id} did not list the root itself (does it exist?)`);
  return snapshot;
}

async function snapshotTree(container: StartedCellContainer, root: string, exclude: string[]): Promise<FilesystemSnapshot> {
  const base = root.replace(/\/+$/, "");
  const excluded = (p: string): boolean => exclude.some((x) => p === x || p.startsWith(`${x}/`));
  const snapshot: FilesystemSnapshot = new Map();
  for (const e of await container.readTree(base)) {
    if (excluded(e.path)) continue;
    snapshot.set(e.path, { type: e.type, size: e.size, mode: e.mode, mtime: e.mtime, target: e.target });
  }
  if (!snapshot.has(base)) throw new Error(`the tree of ${root} in ${container.cell.id} did not list the root itself (does it exist?)`);
  return snapshot;
}

/** What differs between two snapshots, paths sorted. */
export function diffSnapshots(before: FilesystemSnapshot, after: FilesystemSnapshot): SnapshotDiff {
  const diff: SnapshotDiff = { added: [], removed: [], changed: [] };
  for (const [p, a] of after) {
    const b = before.get(p);
    if (!b) {
      diff.added.push({ path: p, after: a });
      continue;
    }
    const fields = (["type", "size", "mode", "mtime", "target"] as const).filter((k) => a[k] !== b[k]);
    if (fields.length > 0) diff.changed.push({ path: p, before: b, after: a, fields });
  }
  for (const [p, b] of before) if (!after.has(p)) diff.removed.push({ path: p, before: b });
  const byPath = (x: { path: string }, y: { path: string }): number => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0);
  diff.added.sort(byPath);
  diff.removed.sort(byPath);
  diff.changed.sort(byPath);
  return diff;
}

/** Keeps only the differences whose path is inside (or is) `dir`, or outside it with `outside`. */
export function diffWithin(diff: SnapshotDiff, dir: string, outside = false): SnapshotDiff {
  const base = dir.replace(/\/+$/, "");
  const inside = (p: string): boolean => p === base || p.startsWith(`${base}/`);
  const keep = (p: string): boolean => inside(p) !== outside;
  return { added: diff.added.filter((c) => keep(c.path)), removed: diff.removed.filter((c) => keep(c.path)), changed: diff.changed.filter((c) => keep(c.path)) };
}

/** True when nothing was added, removed or changed. */
export function isEmptyDiff(diff: SnapshotDiff): boolean {
  return diff.added.length === 0 && diff.removed.length === 0 && diff.changed.length === 0;
}

/**
 * What a refused install left in the data directory, judged by ARC-07 and ARC-08: every added or
 * removed path, and every change except a folder's mtime (entries came and went: the staging area)
 * and a runtime file beside an installed version's `code/` (its log grows while it runs).
 */
export function unexpectedDataDirChanges(diff: SnapshotDiff, dataDir: string): string[] {
  const base = dataDir.replace(/\/+$/, "");
  const allowed = (c: SnapshotChange): boolean => {
    if (c.before.type === "d" && c.after.type === "d" && c.fields.every((f) => f === "mtime")) return true;
    const m = c.path.startsWith(`${base}/`) ? c.path.slice(base.length).match(/^\/extensions\/[^/]+\/[^/]+\/(.+)$/) : null;
    return !!m && c.before.type === "f" && c.after.type === "f" && m[1] !== "code" && !m[1]!.startsWith("code/") && m[1] !== ".integrity";
  };
  return [
    ...diff.added.map((c) => `added ${c.path}`),
    ...diff.removed.map((c) => `removed ${c.path}`),
    ...diff.changed.filter((c) => !allowed(c)).map((c) => `changed ${c.path} (${c.fields.join(", ")})`),
  ];
}

/** sha256 of every regular file under a folder, one `sha256sum` line each, sorted by path. */
export async function hashTree(container: StartedCellContainer, dir: string): Promise<string> {
  const r = await container.exec(["sh", "-c", `cd ${shellQuote(dir)} && find . -type f -print0 | sort -z | xargs -0 -r sha256sum`]);
  if (r.exitCode !== 0) throw new Error(`hashing ${dir} in ${container.cell.id} failed: ${r.stderr.trim()}`);
  return r.stdout;
}

/** A short human listing of a diff for assertion messages (at most `limit` lines). */
export function describeDiff(diff: SnapshotDiff, limit = 40): string {
  const lines = [
    ...diff.added.map((c) => `+ ${c.path} (${c.after.type} ${c.after.size} B mode ${c.after.mode})`),
    ...diff.removed.map((c) => `- ${c.path} (${c.before.type})`),
    ...diff.changed.map((c) => `~ ${c.path} (${c.fields.map((f) => `${f}: ${c.before[f]} -> ${c.after[f]}`).join(", ")})`),
  ];
  return lines.length === 0 ? "(no differences)" : lines.slice(0, limit).join("\n") + (lines.length > limit ? `\n... and ${lines.length - limit} more` : "");
}

/** What a growth watch saw: the largest total of file bytes under its root, and how often it looked. */
export interface GrowthReport {
  /** Largest sum of apparent file sizes seen at once, in bytes. */
  peakBytes: number;
  /** Largest single regular file seen, in bytes, and its path. */
  peakFileBytes: number;
  peakFile: string;
  samples: number;
  /** Sum of file sizes at the first sample (the baseline the growth is measured from). */
  baselineBytes: number;
}

// Walks the root in a tight loop (1 ms pauses) and keeps the peak; stops when the stop file appears.
const WATCHER = String.raw`
import json, os, sys, time
root, stop, out = sys.argv[1], sys.argv[2], sys.argv[3]
peak = peak_file = samples = 0
peak_name = ""
baseline = None
def total():
    global peak_file, peak_name
    size = 0
    for base, dirs, files in os.walk(root):
        for name in files:
            try:
                st = os.lstat(os.path.join(base, name))
            except OSError:
                continue
            size += st.st_size
            if st.st_size > peak_file:
                peak_file, peak_name = st.st_size, os.path.join(base, name)
    return size
open(out + ".ready", "w").close()
while True:
    last = os.path.exists(stop)
    value = total()
    samples += 1
    if baseline is None:
        baseline = value
    peak = max(peak, value)
    if last:
        break
    time.sleep(0.001)
# Written aside and renamed: the reader waits for the name, and must never see a half-written file.
with open(out + ".tmp", "w") as handle:
    json.dump({"peakBytes": peak, "peakFileBytes": peak_file, "peakFile": peak_name, "samples": samples, "baselineBytes": baseline}, handle)
os.rename(out + ".tmp", out)
`;

/**
 * Watches how large a directory tree grows while something runs: a sampler in the container
 * (its own files live in HARNESS_DIR, which snapshots leave out) sums file sizes every
 * millisecond until `stop()`. Sampling can miss a short spike; pair it with a hard bound where
 * one exists.
 */
export async function watchGrowth(container: StartedCellContainer, root: string): Promise<{ stop(): Promise<GrowthReport> }> {
  const id = `${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const script = `${HARNESS_DIR}/growth-watch.py`;
  const stopFile = `${HARNESS_DIR}/growth-${id}.stop`;
  const out = `${HARNESS_DIR}/growth-${id}.json`;
  const start = await container.exec(["sh", "-c", `nohup python3 ${script} ${shellQuote(root)} ${stopFile} ${out} >/dev/null 2>&1 & i=0; while [ ! -e ${out}.ready ] && [ $i -lt 2000 ]; do sleep 0.01; i=$((i+1)); done; [ -e ${out}.ready ]`]);
  if (start.exitCode !== 0) throw new Error(`The growth watch did not start in ${container.cell.id}: ${start.stderr}`);
  return {
    async stop(): Promise<GrowthReport> {
      const r = await container.exec(["sh", "-c", `touch ${stopFile}; i=0; while [ ! -e ${out} ] && [ $i -lt 3000 ]; do sleep 0.01; i=$((i+1)); done; cat ${out}`]);
      if (r.exitCode !== 0 || !r.stdout.trim()) throw new Error(`The growth watch in ${container.cell.id} wrote no report: ${r.stderr}`);
      return JSON.parse(r.stdout) as GrowthReport;
    },
  };
}

import type { PathStat, StartedCellContainer } from "../../src/containers/cell-container.ts";

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

/** One path as `find` would print it (read through the Engine API). */
export interface PathRecord {
  /** `f` file, `d` directory, `l` symlink, `p` fifo, `c`/`b` devices, `s` socket. */
  type: string;
  size: number;
  /** Permission bits in octal, setuid/setgid/sticky included (e.g. "4755"). */
  mode: string;
  /** Modification time; compared only with another snapshot taken the same way. */
  mtime: string;
  /** Symlink target, empty otherwise. */
  target: string;
}

/** Every path under a root, keyed by absolute path. */
export type FilesystemSnapshot = Map<string, PathRecord>;

export interface SnapshotOptions {
  /** The folder to read (a data directory); the whole filesystem is `snapshotLayer`'s. */
  root: string;
  /** Absolute paths left out with everything below them. */
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

const excludedBy = (exclude: string[]) => (p: string): boolean => exclude.some((x) => p === x || p.startsWith(`${x}/`));

/**
 * Every path under a folder (a data directory) with type, size, mode, mtime and symlink target, from
 * the archive endpoint's tar read in memory: no process starts in the container.
 */
export async function snapshotFilesystem(container: StartedCellContainer, options: SnapshotOptions): Promise<FilesystemSnapshot> {
  const base = options.root.replace(/\/+$/, "");
  const excluded = excludedBy([WITNESS_FILE, HARNESS_DIR, ...(options.exclude ?? [])]);
  const snapshot: FilesystemSnapshot = new Map();
  for (const e of await container.readTree(base)) {
    if (excluded(e.path)) continue;
    snapshot.set(e.path, { type: e.type, size: e.size, mode: e.mode, mtime: e.mtime, target: e.target });
  }
  if (!snapshot.has(base)) throw new Error(`the tree of ${options.root} in ${container.cell.id} did not list the root itself (does it exist?)`);
  return snapshot;
}

/**
 * The whole filesystem of a container as far as it can differ from its image: each path the Engine
 * API's changes endpoint names (added, changed or deleted against the image), every folder of the
 * image, and the files the engine bind-mounts (the changes endpoint leaves those out), each with its
 * stat. Any other path is as the image holds it: `diffLayerSince` reads those from the image when
 * they matter.
 */
export interface LayerSnapshot {
  /** Path → its record, or null for a path of the image the container deleted. */
  records: Map<string, PathRecord | null>;
  exclude: string[];
}

/** Files the engine mounts into every container; find saw them, the changes endpoint does not name them. */
const ENGINE_MOUNTED = ["/etc/hosts", "/etc/hostname", "/etc/resolv.conf"];

const recordOf = (st: PathStat): PathRecord => ({ type: st.type, size: st.size, mode: st.mode, mtime: st.mtime, target: st.type === "l" ? st.linkTarget : "" });

/**
 * A snapshot of the whole filesystem through the Engine API (changes endpoint, then one archive stat
 * per changed path), leaving out /proc, /sys, /dev (find's -xdev did), the witness file, the
 * harness's folder and `exclude`. No process starts in the container.
 */
export async function snapshotLayer(container: StartedCellContainer, options: { exclude?: string[] } = {}): Promise<LayerSnapshot> {
  const exclude = ["/proc", "/sys", "/dev", WITNESS_FILE, HARNESS_DIR, ...(options.exclude ?? [])];
  const excluded = excludedBy(exclude);
  // The folders of the container's own layer when the engine's storage can be read here (a handful),
  // else every folder of the image (about a thousand archive stats).
  const [all, directories] = await Promise.all([container.changes(), container.layerDirectories().then((d) => d ?? container.imageDirectories())]);
  const changes = all.filter((c) => !excluded(c.path));
  const records = new Map<string, PathRecord | null>();
  // The changes endpoint leaves out a folder whose only change is its mtime (an entry made and
  // removed again); find saw that, so the folders that can differ from the image are stat-ed too.
  const deleted = new Set(changes.filter((c) => c.kind === "deleted").map((c) => c.path));
  const toStat = [...new Set([...changes.filter((c) => c.kind !== "deleted").map((c) => c.path), ...ENGINE_MOUNTED, ...directories.filter((d) => !excluded(d) && !deleted.has(d))])];
  for (const c of changes) if (c.kind === "deleted") records.set(c.path, null);
  // 16 at a time: each archive stat mounts the container's volumes in the engine (file descriptors).
  for (let i = 0; i < toStat.length; i += 16) {
    const batch = toStat.slice(i, i + 16);
    const stats = await Promise.all(batch.map((p) => container.stat(p)));
    // Gone between the two calls: deleted.
    batch.forEach((p, j) => records.set(p, stats[j] ? recordOf(stats[j]!) : null));
  }
  return { records, exclude };
}

/**
 * What changed in the whole filesystem since `before` (both taken with `snapshotLayer`), as a diff of
 * what find would have listed at both moments: a path in only one of the two layers was, at the
 * other moment, as the image holds it (read from the image, through a sibling container that never
 * starts).
 */
export async function diffLayerSince(container: StartedCellContainer, before: LayerSnapshot): Promise<SnapshotDiff> {
  const after = await snapshotLayer(container, { exclude: before.exclude.filter((x) => !["/proc", "/sys", "/dev", WITNESS_FILE, HARNESS_DIR].includes(x)) });
  const onlyOne = [...new Set([...after.records.keys(), ...before.records.keys()])].filter((p) => before.records.has(p) !== after.records.has(p));
  const image = await container.imageStats(onlyOne);
  const full = (layer: LayerSnapshot): FilesystemSnapshot => {
    const snapshot: FilesystemSnapshot = new Map();
    for (const p of onlyOne) if (!layer.records.has(p) && image.get(p)) snapshot.set(p, recordOf(image.get(p)!));
    for (const [p, r] of layer.records) if (r) snapshot.set(p, r);
    return snapshot;
  };
  return diffSnapshots(full(before), full(after));
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

/**
 * sha256 of every regular file under a folder, one `sha256sum` line each (`<hash>  ./<path>`), sorted
 * by path: hashed as the archive endpoint's tar streams by, no process in the container.
 */
export async function hashTree(container: StartedCellContainer, dir: string): Promise<string> {
  const base = dir.replace(/\/+$/, "");
  const files = (await container.readTree(base, { hash: true }))
    .filter((e) => e.type === "f")
    .map((e) => ({ rel: Buffer.from(`.${e.path.slice(base.length)}`, "utf8"), sha256: e.sha256 }))
    .sort((a, b) => Buffer.compare(a.rel, b.rel));
  const unhashed = files.filter((f) => f.sha256 === undefined);
  if (unhashed.length > 0) throw new Error(`hashing ${dir} in ${container.cell.id} failed: no bytes for ${unhashed.map((f) => f.rel.toString()).join(", ")}`);
  return files.map((f) => `${f.sha256}  ${f.rel.toString("utf8")}\n`).join("");
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

// One sampler per container, started with the first watch and told what to do on its stdin (no
// file is put: every archive put moves the mtime of the container's `/`, which a whole-filesystem
// snapshot would see). Each watch is a window: `{"start": id, "root": path}` opens it and the sampler
// answers `ready` before its first sample, then walks the root in a tight loop (1 ms pauses) keeping
// the peak until `{"stop": id}` arrives, and answers the report. Windows that overlap are sampled in
// turn, as separate samplers would compete for the CPU. With no window open it waits on its stdin.
const WATCHER = String.raw`
import json, os, select, sys, time
windows = {}
pending = b""
def total(w):
    size = 0
    for base, dirs, files in os.walk(w["root"]):
        for name in files:
            try:
                st = os.lstat(os.path.join(base, name))
            except OSError:
                continue
            size += st.st_size
            if st.st_size > w["peak_file"]:
                w["peak_file"], w["peak_name"] = st.st_size, os.path.join(base, name)
    return size
def emit(record):
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()
def commands(timeout):
    global pending
    if not select.select([0], [], [], timeout)[0]:
        return []
    chunk = os.read(0, 65536)
    if not chunk:
        sys.exit(0)
    pending += chunk
    *lines, pending = pending.split(b"\n")
    return [json.loads(line) for line in lines if line.strip()]
emit({"event": "listening"})
while True:
    for c in commands(0 if windows else None):
        if "start" in c:
            windows[c["start"]] = {"root": c["root"], "stop": False, "peak": 0, "peak_file": 0, "peak_name": "", "samples": 0, "baseline": None}
            emit({"event": "ready", "id": c["start"]})
        elif "stop" in c and c["stop"] in windows:
            windows[c["stop"]]["stop"] = True
    for wid, w in list(windows.items()):
        last = w["stop"]
        value = total(w)
        w["samples"] += 1
        if w["baseline"] is None:
            w["baseline"] = value
        w["peak"] = max(w["peak"], value)
        if last:
            emit({"event": "report", "id": wid, "peakBytes": w["peak"], "peakFileBytes": w["peak_file"], "peakFile": w["peak_name"], "samples": w["samples"], "baselineBytes": w["baseline"]})
            del windows[wid]
    if windows:
        time.sleep(0.001)
`;

/** A container's sampler: its stdin, and what each of its answers resolves. */
interface GrowthSampler {
  write(command: object): void;
  /** Resolves with the sampler's answer `event` for window `id`; rejects after `timeoutMs` or when it ends. */
  answer(event: string, id: string, timeoutMs: number): Promise<Record<string, unknown>>;
}

const samplers = new Map<string, Promise<GrowthSampler>>();

/** The container's sampler, started once (the one process growth watches start). */
function growthSampler(container: StartedCellContainer): Promise<GrowthSampler> {
  let started = samplers.get(container.id);
  if (!started) {
    started = (async () => {
      const proc = await container.attach(["python3", "-u", `${HARNESS_DIR}/growth-watch.py`]);
      const waiting = new Map<string, { resolve(r: Record<string, unknown>): void; reject(e: Error): void }>();
      const seen = new Map<string, Record<string, unknown>>();
      let rest = "";
      let ended: Error | undefined;
      proc.onOutput((text, stream) => {
        if (stream !== "stdout") return;
        rest += text;
        const lines = rest.split("\n");
        rest = lines.pop()!;
        for (const line of lines.filter((l) => l.trim())) {
          const record = JSON.parse(line) as Record<string, unknown>;
          const key = `${String(record.event)}:${String(record.id ?? "")}`;
          const w = waiting.get(key);
          if (w) {
            waiting.delete(key);
            w.resolve(record);
          } else seen.set(key, record);
        }
      });
      const end = (error: Error): void => {
        ended = error;
        samplers.delete(container.id);
        for (const w of waiting.values()) w.reject(error);
        waiting.clear();
      };
      proc.exit.then(
        (code) => end(new Error(`The growth sampler in ${container.cell.id} ended (exit ${code})`)),
        (error: unknown) => end(error as Error),
      );
      const sampler: GrowthSampler = {
        write: (command) => proc.write(`${JSON.stringify(command)}\n`),
        answer: (event, id, timeoutMs) =>
          new Promise((resolve, reject) => {
            const key = `${event}:${id}`;
            const early = seen.get(key);
            if (early) return resolve(early);
            if (ended) return reject(ended);
            const timer = setTimeout(() => {
              waiting.delete(key);
              reject(new Error(`The growth sampler in ${container.cell.id} did not answer ${event}${id ? ` for ${id}` : ""} within ${timeoutMs / 1000} s`));
            }, timeoutMs);
            waiting.set(key, { resolve: (r) => (clearTimeout(timer), resolve(r)), reject: (e) => (clearTimeout(timer), reject(e)) });
          }),
      };
      await sampler.answer("listening", "", 20_000);
      return sampler;
    })();
    samplers.set(container.id, started);
    started.catch(() => samplers.delete(container.id));
  }
  return started;
}

/**
 * Watches how large a directory tree grows while something runs: the container's sampler (its
 * script lives in HARNESS_DIR, which snapshots leave out) sums file sizes every millisecond from the
 * start of the watch until `stop()`. Sampling can miss a short spike; pair it with a hard bound where
 * one exists. Only the sampler's start, once per container, is a process in the container; a watch
 * is two lines on its stdin.
 */
export async function watchGrowth(container: StartedCellContainer, root: string): Promise<{ stop(): Promise<GrowthReport> }> {
  const sampler = await growthSampler(container);
  const id = `growth-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const ready = sampler.answer("ready", id, 20_000);
  sampler.write({ start: id, root });
  await ready;
  return {
    async stop(): Promise<GrowthReport> {
      const report = sampler.answer("report", id, 30_000);
      sampler.write({ stop: id });
      const { peakBytes, peakFileBytes, peakFile, samples, baselineBytes } = (await report) as unknown as GrowthReport;
      return { peakBytes, peakFileBytes, peakFile, samples, baselineBytes };
    },
  };
}

import type { BootedHost, WitnessLine } from "../../src/hosts/booted-host.ts";
import type { HostEvent } from "../../src/hosts/host-wire.ts";
import { DistcheckError } from "../../src/errors/distcheck-error.ts";

/**
 * Milliseconds on CLOCK_MONOTONIC. The reference host's event `t_ms` and the fixtures' witness
 * `t_ms` are `time.monotonic() * 1000` inside the container; containers share the kernel's
 * monotonic clock (qemu-user passes clock_gettime through), so the three sources order against
 * each other without any offset.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export type { HostEvent } from "../../src/hosts/host-wire.ts";

/** The host's event log, optionally only what came after `sinceMs`. */
export async function hostEvents(host: BootedHost, sinceMs?: number): Promise<HostEvent[]> {
  return host.events(sinceMs);
}

/**
 * Thrown by `waitFor` when the condition never held; names what was awaited. A product failure:
 * suites wait for states the host must reach (README, mutants: such a timeout kills a mutant).
 */
export class WaitTimeoutError extends DistcheckError {
  constructor(what: string, timeoutMs: number, last: unknown) {
    super("wait_timeout", `Waited ${Math.round(timeoutMs)} ms for ${what}; it never happened (last probe: ${JSON.stringify(last)?.slice(0, 300)}). The host log attached to the failed test shows what the host did meanwhile.`, { category: "product" });
    this.name = "WaitTimeoutError";
  }
}

/**
 * Polls `probe` with back-off (20 ms doubling to 500 ms) until it returns something other than
 * undefined, and returns that; undefined once `timeoutMs` passed. What the probe throws propagates.
 * For a caller that decides itself what a timeout means; `waitFor` is the usual one.
 */
export async function poll<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T | undefined> {
  const deadline = performance.now() + timeoutMs;
  let delay = 20;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() >= deadline) return undefined;
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 500);
  }
}

/**
 * Polls `probe` with back-off (20 ms doubling to 500 ms) until it returns something other than
 * undefined; a probe that throws counts as not yet. Used only where no event can be awaited (a file
 * in a container, an HTTP status).
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  let last: unknown;
  const value = await poll(
    () =>
      probe().catch((e: unknown) => {
        last = String(e);
        return undefined;
      }),
    timeoutMs,
  );
  if (value === undefined) throw new WaitTimeoutError(what, timeoutMs, last);
  return value;
}

/** Runs `fn` once, on first call; every caller gets the same promise (tests that share one action). */
export function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let promise: Promise<T> | undefined;
  return () => (promise ??= fn());
}

// Runs inside the container: records, on the monotonic clock, when each pid stopped existing as a
// live process (gone from /proc or a zombie), independently of the host under test. Each "gone"
// line brackets the death: "alive_ms" is read before the last look that still found the process
// alive, "t_ms" after the first look that found it gone. A starved watcher widens the bracket; it
// never moves either end to the wrong side of the death.
const PID_WATCH = String.raw`
import json, os, sys, time
out, pids = sys.argv[1], [int(p) for p in sys.argv[2:]]
def state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None
def emit(record):
    fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, (json.dumps(record) + "\n").encode())
    os.close(fd)
alive_ms = {}
for pid in pids:
    t = time.monotonic() * 1000
    alive_ms[pid] = t if state(pid) not in (None, "Z") else None
emit({"event": "watching", "t_ms": time.monotonic() * 1000, "alive": {str(p): alive_ms[p] is not None for p in pids}})
left, deadline = set(pids), time.monotonic() + 900
while left and time.monotonic() < deadline:
    for pid in list(left):
        t = time.monotonic() * 1000
        if state(pid) in (None, "Z"):
            emit({"event": "gone", "pid": pid, "t_ms": time.monotonic() * 1000, "alive_ms": alive_ms[pid]})
            left.discard(pid)
        else:
            alive_ms[pid] = t
    time.sleep(0.004)
`;

/**
 * A watched process's death, bracketed on the monotonic clock: it was alive at `alive_ms` (null when
 * it was already gone when the watcher started) and gone at `t_ms`. A check fails the host only on
 * what the bracket proves: "died too early" compares `t_ms` (it died no later), "lived too long"
 * compares `alive_ms` (it was still alive then).
 */
export interface PidGone {
  pid: number;
  t_ms: number;
  alive_ms: number | null;
}

/**
 * Watches processes inside a host's container from outside the host: a small Python loop started
 * in the background (it outlives the host process, so it also sees what a host leaves behind).
 */
export class PidWatch {
  private constructor(
    private readonly host: BootedHost,
    private readonly out: string,
    readonly pids: number[],
    /** When the watcher started, and which pids were alive then. */
    readonly started: { t_ms: number; alive: Record<string, boolean> },
  ) {}

  static async start(host: BootedHost, pids: number[], timeoutMs: number): Promise<PidWatch> {
    const tag = `${pids.join("-")}-${Math.random().toString(36).slice(2, 8)}`;
    const script = "/tmp/distcheck-pidwatch.py";
    const out = `/tmp/distcheck-pidwatch-${tag}.jsonl`;
    await host.container.putFiles([{ target: script, content: PID_WATCH }]);
    const spawn = await host.container.exec(["/bin/sh", "-c", `nohup python3 ${script} ${out} ${pids.join(" ")} >/dev/null 2>&1 &`]);
    if (spawn.exitCode !== 0) throw new Error(`Could not start the pid watcher in ${host.container.cell.id}: ${spawn.stderr}`);
    const started = await waitFor(`the pid watcher of ${pids.join(", ")} to start`, async () => {
      const lines = await readJsonLines(host, out);
      return lines.find((l) => l.event === "watching") as PidWatch["started"] | undefined;
    }, timeoutMs);
    return new PidWatch(host, out, pids, started);
  }

  /** What the watcher has recorded so far. */
  async gone(): Promise<PidGone[]> {
    return (await readJsonLines(this.host, this.out)).filter((l) => l.event === "gone") as unknown as PidGone[];
  }

  /** Waits until every watched pid is gone; returns each one's bracketed death. */
  async allGone(timeoutMs: number): Promise<Map<number, PidGone>> {
    const gone = await waitFor(`pids ${this.pids.join(", ")} to exit`, async () => {
      const g = await this.gone();
      return g.length >= this.pids.length ? g : undefined;
    }, timeoutMs);
    return new Map(gone.map((g) => [g.pid, g]));
  }
}

async function readJsonLines(host: BootedHost, file: string): Promise<Array<Record<string, unknown>>> {
  const bytes = await host.container.readFileIfExists(file, { reuseIfUnchanged: true });
  if (bytes === undefined) return [];
  return bytes.toString("utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A harness-side mark on the timeline (a request sent, an answer received, a signal sent). */
export interface HarnessMark {
  t_ms: number;
  label: string;
}

/**
 * Harness marks, host events and witness lines merged on the one monotonic clock, as text a person
 * reads after a timing failure. Times are shown relative to the first entry.
 */
export class Timeline {
  readonly marks: HarnessMark[] = [];

  mark(label: string): number {
    const t = monotonicMs();
    this.marks.push({ t_ms: t, label });
    return t;
  }

  render(events: HostEvent[], witness: WitnessLine[], filter?: { sinceMs?: number; pids?: number[]; ids?: string[] }): string {
    const rows: Array<{ t: number; source: string; text: string }> = [];
    const since = filter?.sinceMs ?? -Infinity;
    const pidOk = (pid: unknown): boolean => !filter?.pids || filter.pids.includes(pid as number);
    for (const m of this.marks) rows.push({ t: m.t_ms, source: "harness", text: m.label });
    for (const e of events) {
      if (e.t_ms < since || (filter?.ids && e.id !== undefined && !filter.ids.includes(e.id))) continue;
      const { t_ms, event, ...rest } = e;
      rows.push({ t: t_ms, source: "host", text: `${event} ${JSON.stringify(rest)}` });
    }
    for (const w of witness) {
      if (w.t_ms < since || !pidOk(w.pid)) continue;
      const { t_ms, event, fixture, pid, env: _env, ...rest } = w;
      rows.push({ t: t_ms, source: "witness", text: `${event} ${fixture} pid=${pid} ${JSON.stringify(rest).slice(0, 200)}` });
    }
    rows.sort((a, b) => a.t - b.t);
    const t0 = rows[0]?.t ?? 0;
    return rows.map((r) => `${(r.t - t0).toFixed(1).padStart(10)} ms  ${r.source.padEnd(8)} ${r.text}`).join("\n");
  }
}

/** The median of a non-empty list. */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}


import type { Readable } from "node:stream";
import type Docker from "dockerode";
import { LABELS } from "../src/run/run-identity.ts";

/**
 * What the engine says happened to the containers of a benchmark part: every container distcheck's
 * labels mark (`GET /events`, type container, label `dev.distcheck.managed`), recorded live for the
 * whole benchmark. Live, not queried afterwards with since/until: the engine keeps only its last 256
 * events for such a query (moby daemon/events), and one small-workload run of distcheck alone
 * produces about 2,600 (most of them `archive-path`, a file read through the API).
 */

/** One container event as the bench keeps it. */
export interface EngineEvent {
  /** Epoch milliseconds (from the event's timeNano). */
  timeMs: number;
  /** `create`, `start`, `exec_start: <command>`, `exec_die`, `kill`, `die`, `destroy`, ... */
  action: string;
  /** The container id. */
  id: string;
  /** The container's labels (its image's too, the container's winning) and the engine's own fields (`execID`, `exitCode`, `image`, `name`). */
  attributes: Record<string, string>;
}

/** The engine's JSON form of an event (the fields the bench reads). */
interface RawEvent {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  time?: number;
  timeNano?: number;
}

/** An engine event as the bench keeps it; undefined for events of other types. */
export function toEngineEvent(raw: RawEvent): EngineEvent | undefined {
  if (raw.Type !== "container" || !raw.Action || !raw.Actor?.ID) return undefined;
  const timeMs = raw.timeNano !== undefined ? raw.timeNano / 1e6 : (raw.time ?? 0) * 1000;
  return { timeMs, action: raw.Action, id: raw.Actor.ID, attributes: raw.Actor.Attributes ?? {} };
}

/** Records the engine's container events from `start()` until `stop()`. */
export class EngineEventRecorder {
  private readonly recorded: EngineEvent[] = [];
  private stream: Readable | undefined;
  private pending = "";

  private constructor(private readonly docker: Docker) {}

  /** Subscribes; resolves once the stream is open, so nothing after `sinceMs` is missed. */
  static async start(docker: Docker, sinceMs: number = Date.now()): Promise<EngineEventRecorder> {
    const recorder = new EngineEventRecorder(docker);
    const stream = (await docker.getEvents({ since: Math.floor(sinceMs / 1000) - 1, filters: { type: ["container"], label: [LABELS.managed] } } as Docker.GetEventsOptions)) as unknown as Readable;
    recorder.stream = stream;
    stream.on("data", (chunk: Buffer) => recorder.take(chunk.toString("utf8")));
    stream.on("error", () => undefined);
    return recorder;
  }

  /** The engine writes one JSON object per line; a chunk may end inside one. */
  private take(text: string): void {
    const lines = (this.pending + text).split("\n");
    this.pending = lines.pop() ?? "";
    for (const line of lines) {
      if (line.trim() === "") continue;
      try {
        const event = toEngineEvent(JSON.parse(line) as RawEvent);
        if (event) this.recorded.push(event);
      } catch {
        // A line that is not JSON is not an event.
      }
    }
  }

  /** Every event so far. */
  events(): EngineEvent[] {
    return [...this.recorded];
  }

  /** Waits `ms` for events still on their way (a `destroy` follows its API call by a few ms). */
  async settle(ms = 1000): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
  }

  stop(): void {
    this.stream?.destroy();
  }
}

/** One process started in a container through the engine (docker exec). */
export interface ExecActivity {
  execId: string;
  command: string;
  startedAt: number;
  endedAt?: number;
  exitCode?: number;
}

/** One container of a part, from its events. */
export interface ContainerActivity {
  id: string;
  /** The cell label (`dev.distcheck.cell`); undefined for containers of no cell (the reaper, a wheel-layer build). */
  cell?: string;
  platform: string;
  image?: string;
  /** The naive loop's case folder (label `dev.distcheck.bench-case`). */
  benchCase?: string;
  createdAt?: number;
  startedAt?: number;
  /** The first kill, stop or die: where its teardown begins. */
  stoppedAt?: number;
  destroyedAt?: number;
  execs: ExecActivity[];
}

const CELL_LABEL = "dev.distcheck.cell";
/** The label naive-loop.sh puts on each case's container. */
export const BENCH_CASE_LABEL = "dev.distcheck.bench-case";
const PLATFORM_LABEL = "dev.distcheck.platform";
const PLATFORM = /^linux-[a-z0-9_]+$/;

function platformOf(attributes: Record<string, string>): string {
  const cellPlatform = attributes[CELL_LABEL]?.split(".")[0];
  if (cellPlatform && PLATFORM.test(cellPlatform)) return cellPlatform;
  return attributes[PLATFORM_LABEL] ?? "unknown";
}

/** The containers of one run (label `dev.distcheck.run`), each with its lifecycle and the processes started in it. */
export function containerActivity(events: readonly EngineEvent[], runId: string): ContainerActivity[] {
  const containers = new Map<string, ContainerActivity>();
  const execs = new Map<string, ExecActivity>();
  for (const e of [...events].sort((a, b) => a.timeMs - b.timeMs)) {
    if (e.attributes[LABELS.run] !== runId) continue;
    let c = containers.get(e.id);
    if (!c) {
      c = { id: e.id, cell: e.attributes[CELL_LABEL], platform: platformOf(e.attributes), image: e.attributes.image, benchCase: e.attributes[BENCH_CASE_LABEL], execs: [] };
      containers.set(e.id, c);
    }
    const [verb, ...rest] = e.action.split(":");
    const execId = e.attributes.execID;
    switch (verb) {
      case "create":
        c.createdAt ??= e.timeMs;
        break;
      case "start":
        c.startedAt ??= e.timeMs;
        break;
      case "kill":
      case "stop":
      case "die":
        c.stoppedAt ??= e.timeMs;
        break;
      case "destroy":
        c.destroyedAt ??= e.timeMs;
        break;
      case "exec_start":
        if (execId) {
          const exec = { execId, command: rest.join(":").trim(), startedAt: e.timeMs };
          execs.set(execId, exec);
          c.execs.push(exec);
        }
        break;
      case "exec_die": {
        const exec = execId ? execs.get(execId) : undefined;
        if (exec) {
          exec.endedAt = e.timeMs;
          if (e.attributes.exitCode !== undefined) exec.exitCode = Number(e.attributes.exitCode);
        }
        break;
      }
      default:
        break;
    }
  }
  return [...containers.values()];
}

/**
 * The program an exec ran, from the engine's command text (its arguments joined by spaces):
 * `sh -c <first word of the script>`, `python3 -m <module>`, else the first word.
 */
export function programOf(command: string): string {
  const words = command.trim().split(/\s+/);
  const first = words[0] ?? "";
  if ((first === "sh" || first === "/bin/sh") && words[1] === "-c") return `sh -c ${words[2] ?? ""}`.trim();
  if (first === "python3" && words[1] === "-m") return `python3 -m ${words[2] ?? ""}`.trim();
  return first;
}

/** The processes a run started in the containers of one cell (or of no cell). */
export interface ProcessCount {
  /** The cell id, or `(no cell)`. */
  cell: string;
  platform: string;
  /** The platform is not the machine's: every process of it runs under qemu. */
  emulated: boolean;
  containers: number;
  /** Processes started with docker exec (`exec_start` events). */
  execs: number;
  /** Execs by program (see programOf), most first. */
  byProgram: Array<[string, number]>;
}

/** Containers started and execs per cell, from a run's container activity. */
export function countProcesses(activity: readonly ContainerActivity[], nativePlatform: string): ProcessCount[] {
  const byCell = new Map<string, ProcessCount & { programs: Map<string, number> }>();
  for (const c of activity) {
    const cell = c.cell ?? "(no cell)";
    let count = byCell.get(cell);
    if (!count) {
      count = { cell, platform: c.platform, emulated: c.platform !== nativePlatform && c.platform !== "unknown", containers: 0, execs: 0, byProgram: [], programs: new Map() };
      byCell.set(cell, count);
    }
    if (c.startedAt !== undefined) count.containers += 1;
    for (const exec of c.execs) {
      count.execs += 1;
      const program = programOf(exec.command);
      count.programs.set(program, (count.programs.get(program) ?? 0) + 1);
    }
  }
  return [...byCell.values()]
    .map(({ programs, ...rest }) => ({ ...rest, byProgram: [...programs].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)) }))
    .sort((a, b) => (a.cell < b.cell ? -1 : a.cell > b.cell ? 1 : 0));
}

/** Summed engine-side durations of a run's containers: pip execs, and from the first kill/stop/die to the removal. */
export function engineSideDurations(activity: readonly ContainerActivity[]): { pipMs: number; pipExecs: number; teardownMs: number; torndown: number; createToStartMs: number } {
  let pipMs = 0;
  let pipExecs = 0;
  let teardownMs = 0;
  let torndown = 0;
  let createToStartMs = 0;
  for (const c of activity) {
    if (c.stoppedAt !== undefined && c.destroyedAt !== undefined) {
      teardownMs += c.destroyedAt - c.stoppedAt;
      torndown += 1;
    }
    if (c.createdAt !== undefined && c.startedAt !== undefined) createToStartMs += c.startedAt - c.createdAt;
    for (const exec of c.execs) {
      if (programOf(exec.command) !== "python3 -m pip" || exec.endedAt === undefined) continue;
      pipMs += exec.endedAt - exec.startedAt;
      pipExecs += 1;
    }
  }
  return { pipMs, pipExecs, teardownMs, torndown, createToStartMs };
}

/** Containers started and execs per naive case folder (label BENCH_CASE_LABEL). */
export function processesPerCase(activity: readonly ContainerActivity[]): Map<string, { containers: number; execs: number }> {
  const out = new Map<string, { containers: number; execs: number }>();
  for (const c of activity) {
    if (!c.benchCase) continue;
    const n = out.get(c.benchCase) ?? { containers: 0, execs: 0 };
    if (c.startedAt !== undefined) n.containers += 1;
    n.execs += c.execs.length;
    out.set(c.benchCase, n);
  }
  return out;
}

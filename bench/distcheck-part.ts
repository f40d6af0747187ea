import { spawn } from "node:child_process";
import { createWriteStream, existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { readRecords } from "../src/report/records-reader.ts";
import { resultsDirOf } from "../src/report/publish-report.ts";
import type { ReportSummary } from "../src/report/report-summary.ts";
import type { TestRecord } from "../src/report/test-record.ts";
import { containerActivity, engineSideDurations, type EngineEvent } from "./engine-events.ts";
import type { Phase, PhaseTimes } from "./phases.ts";

/** A line (a) printed, with the bench's clock when it arrived. */
export interface TimedLine {
  atMs: number;
  text: string;
}

/** One `[profile]` line (BootedHost.start with DISTCHECK_PROFILE set): a host's first boot. */
export interface BootProfile {
  cell: string;
  containerMs: number;
  beforeBootMs: number;
  bootMs: number;
}

const PROFILE = /\[profile\] (\S+): container (\d+) ms, before boot (\d+) ms, boot (\d+) ms/;

export function parseProfileLine(line: string): BootProfile | undefined {
  const m = PROFILE.exec(line);
  return m ? { cell: m[1]!, containerMs: Number(m[2]), beforeBootMs: Number(m[3]), bootMs: Number(m[4]) } : undefined;
}

/** distcheck's own progress lines: `[  12.3s] ...`. */
const PROGRESS = /^\[\s*\d+\.\d+s\] /;

/**
 * The images step of a run, from its progress lines: from `run <id>: ...` (the first step) to its
 * last `up to date` / `built` line, before the suites start. Undefined when the lines are not there.
 */
export function imagesStepMs(lines: readonly TimedLine[]): number | undefined {
  const start = lines.find((l) => PROGRESS.test(l.text) && /\] run \S+: /.test(l.text));
  const suites = lines.find((l) => PROGRESS.test(l.text) && /\] vitest on /.test(l.text));
  if (!start || !suites) return undefined;
  const images = lines.filter((l) => l.atMs >= start.atMs && l.atMs <= suites.atMs && PROGRESS.test(l.text) && /\] (up to date|built)\s/.test(l.text));
  if (images.length === 0) return undefined;
  return images.at(-1)!.atMs - start.atMs;
}

/** Where each of (a)'s phase figures comes from (the README repeats this). */
export const DISTCHECK_PHASE_SOURCES: Record<Phase, string> = {
  image: "the run's images step (inspect of every image of the cells), from its progress lines",
  container: "sum over first host boots of BootedHost's container step (create, files, the uname check), its [profile] lines",
  install: "sum of the pip execs in cells (exec_start to exec_die, engine events); a wheel layer the run reuses costs none",
  boot: "sum over first host boots of start-to-ready, its [profile] lines (restarts inside tests are in assertions)",
  assertions: "sum of the tests' durations (the records' durationMs): observing, calls, checks, and the installs and restarts tests do",
  teardown: "sum over the run's containers of first kill/stop/die to destroy, engine events",
};

export interface DistcheckResult {
  runId: string;
  exitCode: number;
  wallMs: number;
  reportDir: string;
  tests: { total: number; passed: number; failed: number; skipped: number };
  gatePassed: boolean | null;
  timingFactors: Record<string, number>;
  hostBoots: number;
  phases: PhaseTimes;
  records: TestRecord[];
}

/** (a)'s phases from what the run printed, its records and the engine's events. */
export function distcheckPhases(lines: readonly TimedLine[], records: readonly TestRecord[], events: readonly EngineEvent[], runId: string): { phases: PhaseTimes; hostBoots: number } {
  const profiles = lines.map((l) => parseProfileLine(l.text)).filter((p): p is BootProfile => p !== undefined);
  const engine = engineSideDurations(containerActivity(events, runId));
  const sum = (f: (p: BootProfile) => number): number | null => (profiles.length > 0 ? profiles.reduce((s, p) => s + f(p), 0) : null);
  return {
    hostBoots: profiles.length,
    phases: {
      image: imagesStepMs(lines) ?? null,
      container: sum((p) => p.containerMs),
      install: events.length > 0 ? engine.pipMs : null,
      boot: sum((p) => p.bootMs),
      assertions: records.length > 0 ? records.reduce((s, r) => s + r.durationMs, 0) : null,
      teardown: engine.torndown > 0 ? engine.teardownMs : null,
    },
  };
}

/**
 * Runs `distcheck run` on the workload's suites as a child process (its own run id, so its
 * containers' events can be told apart), with DISTCHECK_PROFILE set for the per-boot lines. Its
 * report goes to `reportsRoot`, not to the project's reports/latest.
 */
export async function runDistcheck(o: {
  root: string;
  suites: string[] | undefined;
  runId: string;
  reportsRoot: string;
  logFile: string;
  progress: (line: string) => void;
  signal?: AbortSignal;
}): Promise<{ exitCode: number; wallMs: number; lines: TimedLine[] }> {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("DISTCHECK_")));
  Object.assign(env, { DISTCHECK_RUN_ID: o.runId, DISTCHECK_PROFILE: "1", FORCE_COLOR: "0", NO_COLOR: "1" });
  const args = [path.join(o.root, "bin", "distcheck.js"), "run", ...(o.suites ?? []).flatMap((s) => ["--suite", s]), "--reports", o.reportsRoot];
  const log = createWriteStream(o.logFile);
  const lines: TimedLine[] = [];
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd: o.root, env, stdio: ["ignore", "pipe", "pipe"] });
  const abort = (): void => {
    child.kill("SIGTERM");
  };
  o.signal?.addEventListener("abort", abort);
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", (text) => {
      const atMs = performance.now() - started;
      lines.push({ atMs, text });
      log.write(`${(atMs / 1000).toFixed(3)} ${text}\n`);
      if (PROGRESS.test(text)) o.progress(`distcheck ${text}`);
    });
  }
  const exitCode = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? 1)));
  const wallMs = performance.now() - started;
  o.signal?.removeEventListener("abort", abort);
  await new Promise<void>((r) => log.end(r));
  return { exitCode, wallMs, lines: lines.sort((a, b) => a.atMs - b.atMs) };
}

/** What the finished run wrote: its summary and its tests' records. */
export function readDistcheckRun(reportsRoot: string, runId: string): { summary?: ReportSummary; records: TestRecord[] } {
  const summaryFile = path.join(reportsRoot, runId, "summary.json");
  const summary = existsSync(summaryFile) ? (JSON.parse(readFileSync(summaryFile, "utf8")) as ReportSummary) : undefined;
  return { summary, records: [...readRecords([resultsDirOf(reportsRoot, runId)]).values()] };
}

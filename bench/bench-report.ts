import type { BenchOptions } from "./bench-options.ts";
import type { DistcheckResult } from "./distcheck-part.ts";
import type { ProcessCount } from "./engine-events.ts";
import type { FloorResult } from "./floor-part.ts";
import type { NaiveProcessEstimate, NaiveResult } from "./naive-part.ts";
import { PHASES, type Phase, type PhaseTimes } from "./phases.ts";
import type { ScalePoint } from "./scale-part.ts";

/** One round: (a), (b) and (c) in turn on the same cases. */
export interface RoundResult {
  round: number;
  a?: Omit<DistcheckResult, "records"> & { processes: ProcessCount[] };
  b?: NaiveResult & { processes: ProcessCount[]; processesAllCases?: NaiveProcessEstimate };
  c?: FloorResult & { processes: ProcessCount[] };
}

/** `reports/bench/<id>.json`. */
export interface BenchResult {
  id: string;
  startedAt: string;
  finishedAt: string;
  options: BenchOptions;
  machine: { cores: number; node: string; engine: string; nativePlatform: string };
  workload: { name: string; suites: string[]; cells: string[]; cases: number; casesByKind: Record<string, number> };
  rounds: RoundResult[];
  summary: BenchSummary;
  scale: ScalePoint[];
  notes: string[];
}

export interface BenchSummary {
  /** Medians over the rounds (one round: its values). */
  wallMs: { a: number | null; b: number | null; c: number | null };
  /** How (b)'s figure was obtained (`extrapolated from 4 of 696 cases`). */
  bLabel: string | null;
  ratios: { aOverC: number | null; bOverA: number | null };
  phases: { a: PhaseTimes; b: PhaseTimes; c: PhaseTimes };
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((x, y) => x - y);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** numerator / denominator, or null when either is missing or the denominator is 0. */
export function ratio(numerator: number | null | undefined, denominator: number | null | undefined): number | null {
  if (numerator === null || numerator === undefined || denominator === null || denominator === undefined || denominator === 0) return null;
  return numerator / denominator;
}

const definite = <T>(xs: ReadonlyArray<T | null | undefined>): T[] => xs.filter((x): x is T => x !== null && x !== undefined);

/** The rounds' medians: wall times, the ratios of each round (then their median), each phase. */
export function summarize(rounds: readonly RoundResult[]): BenchSummary {
  const phasesOf = (pick: (r: RoundResult) => PhaseTimes | Record<Phase, number> | undefined): PhaseTimes => {
    const out = {} as PhaseTimes;
    for (const p of PHASES) out[p] = median(definite(rounds.map((r) => pick(r)?.[p])));
    return out;
  };
  const labels = definite(rounds.map((r) => r.b?.wall.label));
  return {
    wallMs: {
      a: median(definite(rounds.map((r) => r.a?.wallMs))),
      b: median(definite(rounds.map((r) => r.b?.wall.totalMs))),
      c: median(definite(rounds.map((r) => r.c?.wallMs))),
    },
    bLabel: labels.length === 0 ? null : [...new Set(labels)].join("; "),
    ratios: {
      aOverC: median(definite(rounds.map((r) => ratio(r.a?.wallMs, r.c?.wallMs)))),
      bOverA: median(definite(rounds.map((r) => ratio(r.b?.wall.totalMs, r.a?.wallMs)))),
    },
    phases: { a: phasesOf((r) => r.a?.phases), b: phasesOf((r) => r.b?.phases), c: phasesOf((r) => r.c?.phases) },
  };
}

export const seconds = (ms: number | null | undefined): string => (ms === null || ms === undefined ? "n/a" : `${(ms / 1000).toFixed(1)} s`);
export const times = (x: number | null | undefined, digits = 2): string => (x === null || x === undefined ? "n/a" : `${x.toFixed(digits)}x`);

/** Columns padded to their widest cell; the first column left-aligned, the others right-aligned. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ").trimEnd())
    .join("\n");
}

/** Per cell: (a)'s and (c)'s containers and execs, (b)'s on its sample; then the totals and the emulated subtotal. */
export function processRows(round: RoundResult): string[][] {
  const cells = [...new Set([...(round.a?.processes ?? []), ...(round.b?.processes ?? []), ...(round.c?.processes ?? [])].map((p) => p.cell))].sort();
  const find = (list: ProcessCount[] | undefined, cell: string): ProcessCount | undefined => list?.find((p) => p.cell === cell);
  const cols = (p: ProcessCount | undefined): string[] => [p ? String(p.containers) : "-", p ? String(p.execs) : "-"];
  const platformOf = (cell: string): ProcessCount | undefined => find(round.a?.processes, cell) ?? find(round.b?.processes, cell) ?? find(round.c?.processes, cell);
  const rows = [["cell", "platform", "(a) containers", "(a) execs", "(b) containers", "(b) execs", "(c) containers", "(c) execs"]];
  for (const cell of cells) {
    const p = platformOf(cell)!;
    rows.push([cell, `${p.platform}${p.emulated ? " (emulated)" : ""}`, ...cols(find(round.a?.processes, cell)), ...cols(find(round.b?.processes, cell)), ...cols(find(round.c?.processes, cell))]);
  }
  const total = (list: ProcessCount[] | undefined, pick: (p: ProcessCount) => boolean): string[] => {
    if (!list) return ["-", "-"];
    const xs = list.filter(pick);
    return [String(xs.reduce((s, p) => s + p.containers, 0)), String(xs.reduce((s, p) => s + p.execs, 0))];
  };
  rows.push(["total", "", ...total(round.a?.processes, () => true), ...total(round.b?.processes, () => true), ...total(round.c?.processes, () => true)]);
  rows.push(["emulated", "", ...total(round.a?.processes, (p) => p.emulated), ...total(round.b?.processes, (p) => p.emulated), ...total(round.c?.processes, (p) => p.emulated)]);
  return rows;
}

/** Execs in emulated cells by program, summed over the cells, most first. */
export function emulatedPrograms(processes: readonly ProcessCount[]): Array<[string, number]> {
  const sum = new Map<string, number>();
  for (const p of processes.filter((x) => x.emulated)) for (const [program, n] of p.byProgram) sum.set(program, (sum.get(program) ?? 0) + n);
  return [...sum].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}

/** The table `npm run bench` prints. */
export function renderReport(result: BenchResult): string {
  const s = result.summary;
  const w = result.workload;
  const out: string[] = [];
  out.push(`distcheck benchmark ${result.id}: ${w.name} workload (${w.suites.join(", ")}) on ${w.cells.length} cell(s), ${w.cases} cases; ${result.rounds.length} round(s); ${result.machine.cores} cores`);
  out.push("");
  const bNote = s.bLabel ? ` (b: ${s.bLabel})` : "";
  out.push(
    formatTable([
      ["", "(a) distcheck", "(b) naive loop", "(c) floor"],
      ["wall time", seconds(s.wallMs.a), seconds(s.wallMs.b), seconds(s.wallMs.c)],
    ]),
  );
  if (s.bLabel) out.push(`(b): ${s.bLabel}`);
  if (result.rounds.length > 1) out.push(`medians of ${result.rounds.length} rounds; each ratio is the median of the rounds' ratios`);
  out.push(`ratios: a/c = ${times(s.ratios.aOverC)}   b/a = ${times(s.ratios.bOverA, 1)}${bNote}`);
  out.push("");
  out.push("phases, summed over hosts or cases (not shares of the wall time: (a) and (c) run hosts side by side)");
  out.push(formatTable([["phase", "(a)", "(b)", "(c)"], ...PHASES.map((p) => [p, seconds(s.phases.a[p]), seconds(s.phases.b[p]), seconds(s.phases.c[p])])]));
  out.push("(b): over every case, extrapolated like its wall time; (c) makes its calls without checking them, its assertions row is the calls alone");
  const last = result.rounds.at(-1);
  if (last && (last.a || last.b || last.c)) {
    out.push("");
    out.push(`processes started, per cell (engine events of round ${last.round}: containers started, docker execs; (b) on its sample only)`);
    out.push(formatTable(processRows(last)));
    const all = last.b?.processesAllCases;
    if (all) out.push(`(b) over all ${result.workload.cases} cases, ${all.label}: ${Math.round(all.containers)} containers, ${Math.round(all.execs)} execs (emulated: ${all.emulatedContainers === null ? "n/a" : Math.round(all.emulatedContainers)} containers, ${all.emulatedExecs === null ? "n/a" : Math.round(all.emulatedExecs)} execs)`);
    const programs = emulatedPrograms(last.a?.processes ?? []);
    if (programs.length > 0) out.push(`(a)'s execs in emulated cells, by program: ${programs.map(([p, n]) => `${p} ${n}`).join(", ")}`);
  }
  if (result.scale.length > 0) {
    out.push("");
    out.push("discovery growth: N generated sample wheels, every cell at once (distcheck's library: pip install, boot, observe, judge)");
    const first = result.scale[0]!;
    out.push(
      formatTable([
        ["wheels", "wall", "container", "install", "boot", "discovery", "teardown", `wall vs ${first.wheels}`],
        ...result.scale.map((p) => [String(p.wheels), seconds(p.wallMs), seconds(p.phases.container), seconds(p.phases.install), seconds(p.phases.boot), seconds(p.phases.assertions), seconds(p.phases.teardown), times(ratio(p.wallMs, first.wallMs))]),
      ]),
    );
    const failing = result.scale.flatMap((p) => p.cells.filter((c) => c.error || c.problems.length > 0).map((c) => `${p.wheels} wheels on ${c.cell}: ${c.error ?? c.problems.slice(0, 2).join("; ")}`));
    for (const f of failing) out.push(`  not as predicted: ${f}`);
  }
  for (const note of result.notes) out.push(`note: ${note}`);
  return `${out.join("\n")}\n`;
}

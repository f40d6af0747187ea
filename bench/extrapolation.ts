/**
 * The naive loop runs a sample of the workload's cases and the rest is estimated: the sample is
 * spread over strata (platform x kind of case: an emulated case costs tens of times a native one, a
 * discovery case installs 17 wheels where a hostile one installs none), and each stratum's cases are
 * costed at its sampled mean (a stratum with no sampled case at its platform's mean, then at the
 * sample's mean). Sequential cases add up, so the loop's wall time is the sum.
 */

/** What sampling and extrapolation need of a case. */
export interface Stratifiable {
  id: string;
  platform: string;
  kind: string;
  cell: string;
}

export const stratumOf = (c: Pick<Stratifiable, "platform" | "kind">): string => `${c.platform} ${c.kind}`;

/**
 * `n` cases spread over the strata: one per stratum in turn, largest strata first, each stratum's
 * cases taken in turn from its cells (the first case of each cell, then the second, ...).
 */
export function pickSample<T extends Stratifiable>(cases: readonly T[], n: number): T[] {
  const strata = new Map<string, T[]>();
  for (const c of cases) strata.set(stratumOf(c), [...(strata.get(stratumOf(c)) ?? []), c]);
  const queues = [...strata.entries()]
    .sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1))
    .map(([, members]) => interleaveByCell(members));
  const picked: T[] = [];
  while (picked.length < Math.min(n, cases.length)) {
    for (const q of queues) {
      const next = q.shift();
      if (next && picked.length < n) picked.push(next);
    }
  }
  return picked;
}

function interleaveByCell<T extends Stratifiable>(members: T[]): T[] {
  const byCell = new Map<string, T[]>();
  for (const m of members) byCell.set(m.cell, [...(byCell.get(m.cell) ?? []), m]);
  const lists = [...byCell.values()];
  const out: T[] = [];
  for (let i = 0; out.length < members.length; i++) for (const l of lists) if (l[i]) out.push(l[i]!);
  return out;
}

/** How each stratum was costed. */
export interface StratumEstimate {
  stratum: string;
  cases: number;
  sampled: number;
  /** The mean a case of this stratum was costed at. */
  meanMs: number;
  /** Where that mean came from. */
  basis: "stratum" | "platform" | "sample";
}

export interface Extrapolation {
  /** The estimated total over every case. */
  totalMs: number;
  /** The measured total over the sampled cases. */
  measuredMs: number;
  sampled: number;
  of: number;
  /** `extrapolated from 4 of 696 cases`, or `measured on all 12 cases`. */
  label: string;
  strata: StratumEstimate[];
}

const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;

/** Estimates the total of `value` over every case from the sampled cases' values (a case id absent from `measured` was not sampled). */
export function extrapolate(cases: readonly Stratifiable[], measured: ReadonlyMap<string, number>): Extrapolation {
  const sampledCases = cases.filter((c) => measured.has(c.id));
  if (sampledCases.length === 0) throw new Error("extrapolate: no case of the workload was measured");
  const values = (pick: (c: Stratifiable) => boolean): number[] => sampledCases.filter(pick).map((c) => measured.get(c.id)!);
  const strata = new Map<string, Stratifiable[]>();
  for (const c of cases) strata.set(stratumOf(c), [...(strata.get(stratumOf(c)) ?? []), c]);
  const estimates: StratumEstimate[] = [];
  let totalMs = 0;
  for (const [stratum, members] of [...strata].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const own = values((c) => stratumOf(c) === stratum);
    const platform = values((c) => c.platform === members[0]!.platform);
    const [meanMs, basis]: [number, StratumEstimate["basis"]] = own.length > 0 ? [mean(own), "stratum"] : platform.length > 0 ? [mean(platform), "platform"] : [mean(values(() => true)), "sample"];
    estimates.push({ stratum, cases: members.length, sampled: own.length, meanMs, basis });
    totalMs += meanMs * members.length;
  }
  const measuredMs = values(() => true).reduce((s, x) => s + x, 0);
  const label = sampledCases.length === cases.length ? `measured on all ${cases.length} cases` : `extrapolated from ${sampledCases.length} of ${cases.length} cases`;
  return { totalMs, measuredMs, sampled: sampledCases.length, of: cases.length, label, strata: estimates };
}

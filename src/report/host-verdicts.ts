import { CONTRACT } from "../contract/contract.ts";
import { waiverCovers, type Waiver } from "../hosts/waivers.ts";
import type { TestRecord } from "./test-record.ts";
import { familyOf } from "./test-identity.ts";

/** What a report knows of each host of a run: what it implements, where it cannot run, its waivers. */
export interface HostProfile {
  id: string;
  adapter: string;
  /** Clause families the host's adapter implements. */
  families: readonly string[];
  /** The cells of this host the run selected. */
  cells: string[];
  /** Cells of this host the matrix names but that cannot run (a base its adapter does not support). */
  excluded: Array<{ id: string; platform: string; reason: string }>;
  waivers: Waiver[];
}

/** A clause's verdict in one cell. */
export type Verdict = "passed" | "failed" | "skipped" | "waived" | "unexpected-pass" | "not-applicable";

/** Why a clause is not applicable on some cells of a host. */
export interface NotApplicable {
  host: string;
  clauses: string[];
  cells: string[];
  reason: string;
}

/** A waiver that applied (or that found its clause passing), with the cells it covered. */
export interface AppliedWaiver extends Waiver {
  host: string;
  waived: string[];
  unexpectedPass: string[];
}

export interface HostVerdicts {
  adapter: string;
  families: readonly string[];
  /** clause → cell → verdict, this host's cells only. */
  clauses: Record<string, Record<string, Verdict>>;
  notApplicable: NotApplicable[];
  waivers: AppliedWaiver[];
}

const hostOfRecord = (r: TestRecord): string | undefined => r.cell?.host;

/** The waiver of `host` that covers `clause` on `cell`, if any. */
export function waiverFor(profile: HostProfile | undefined, clause: string, cell: string): Waiver | undefined {
  return profile?.waivers.find((w) => w.clause === clause && waiverCovers(w, cell));
}

/** A waiver as reports print it: reason and the host line that causes it. */
export function waiverText(w: { clause: string; reason: string; source: { file: string; line: number; quote: string } }): string {
  return `${w.clause}: ${w.reason} (${w.source.file}:${w.source.line}: ${w.source.quote.trim()})`;
}

/**
 * Whether a failed test's failure is waived: every clause it names is waived on its cell. A test
 * that names a clause no waiver covers fails the gate, whatever else it names.
 */
export function isWaivedFailure(r: TestRecord, profiles: ReadonlyMap<string, HostProfile>): Waiver[] | undefined {
  if (r.state !== "failed" || !r.cell || r.clauses.length === 0) return undefined;
  const profile = profiles.get(r.cell.host);
  const waivers = r.clauses.map((c) => waiverFor(profile, c, r.cell!.id));
  return waivers.every((w): w is Waiver => w !== undefined) ? waivers : undefined;
}

/**
 * Turns raw clause x cell verdicts into the host's verdicts: waived clauses become `waived` (they
 * failed) or `unexpected-pass` (they did not), and the clauses of families the host does not
 * implement, and every clause on a cell it cannot run on, become `not-applicable` with the reason.
 */
export function hostVerdicts(profile: HostProfile, raw: Record<string, Record<string, "passed" | "failed" | "skipped">>): HostVerdicts {
  const clauses: HostVerdicts["clauses"] = {};
  const applied = new Map<Waiver, AppliedWaiver>();
  for (const [clause, cells] of Object.entries(raw)) {
    for (const [cell, verdict] of Object.entries(cells)) {
      if (!profile.cells.includes(cell)) continue;
      const waiver = waiverFor(profile, clause, cell);
      let v: Verdict = verdict;
      if (waiver) {
        const a = applied.get(waiver) ?? { ...waiver, host: profile.id, waived: [], unexpectedPass: [] };
        applied.set(waiver, a);
        if (verdict === "failed") {
          v = "waived";
          a.waived.push(cell);
        } else if (verdict === "passed") {
          v = "unexpected-pass";
          a.unexpectedPass.push(cell);
        }
      }
      (clauses[clause] ??= {})[cell] = v;
    }
  }
  const notApplicable: NotApplicable[] = [];
  const missing = CONTRACT.families.map((f) => f.id as string).filter((f) => !profile.families.includes(f));
  if (missing.length > 0 && profile.cells.length > 0) {
    const ids = CONTRACT.clauses.filter((c) => missing.includes(c.family)).map((c) => c.id);
    for (const id of ids) for (const cell of profile.cells) (clauses[id] ??= {})[cell] ??= "not-applicable";
    notApplicable.push({ host: profile.id, clauses: ids, cells: profile.cells, reason: `the ${profile.id} host implements ${profile.families.join(", ")}; ${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} not part of it` });
  }
  for (const [reason, cells] of groupBy(profile.excluded, (e) => e.reason)) {
    const ids = CONTRACT.clauses.map((c) => c.id);
    for (const id of ids) for (const e of cells) (clauses[id] ??= {})[e.id] = "not-applicable";
    notApplicable.push({ host: profile.id, clauses: ["*"], cells: cells.map((e) => e.id), reason });
  }
  return { adapter: profile.adapter, families: profile.families, clauses: sortKeys(clauses), notApplicable, waivers: [...applied.values()] };
}

/**
 * The gate's reasons for one host: every required clause of a family the host implements must have
 * passed (or failed under a waiver) on every platform where the host has a cell; a waiver whose
 * clause passed is stale.
 */
export function hostGateReasons(profile: HostProfile, verdicts: HostVerdicts, required: readonly string[]): string[] {
  const reasons: string[] = [];
  for (const w of verdicts.waivers) {
    if (w.unexpectedPass.length > 0) reasons.push(`${w.clause} is waived on ${w.unexpectedPass.join(", ")} (${w.reason}) but passed there: an unexpected pass; remove the waiver from hosts/${profile.adapter}/waivers.json`);
  }
  const platforms = [...new Set(profile.cells.map((c) => c.split(".")[0]!))];
  const claimed = Object.keys(verdicts.clauses).filter((c) => Object.values(verdicts.clauses[c]!).some((v) => v !== "not-applicable"));
  for (const clause of new Set([...required.filter((c) => profile.families.includes(familyOf(c))), ...claimed])) {
    for (const platform of platforms) {
      const vs = Object.entries(verdicts.clauses[clause] ?? {}).filter(([cell]) => cell.startsWith(`${platform}.`)).map(([, v]) => v);
      if (!vs.some((v) => v === "passed" || v === "waived")) reasons.push(`${clause} did not run (and pass) on ${platform} for host ${profile.id}`);
    }
  }
  return reasons;
}

/**
 * The profiles of the hosts that ran, keyed by id: a profile's cells are the ones the run selected
 * plus any the results name (a merged report); a host with neither did not run and is left out.
 */
export function profilesOf(profiles: readonly HostProfile[], records: readonly TestRecord[]): Map<string, HostProfile> {
  const out = new Map(profiles.map((p) => [p.id, { ...p, cells: [...p.cells] }]));
  for (const r of records) {
    const host = hostOfRecord(r);
    if (!host || !r.cell) continue;
    const p = out.get(host);
    if (p && !p.cells.includes(r.cell.id)) p.cells.push(r.cell.id);
  }
  for (const [id, p] of out) if (p.cells.length === 0) out.delete(id);
  return out;
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) out.set(key(item), [...(out.get(key(item)) ?? []), item]);
  return out;
}

/** `o` with its keys in order (clause ids, cell ids). */
export function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}

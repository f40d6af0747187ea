import { compare, explain, satisfies, validRange } from "@renovatebot/pep440";
import { DistcheckError } from "../errors/distcheck-error.ts";

/**
 * PEP 440 as the contract reads it (WHL-08/09/10): `requires_core_version` and the specifiers of
 * `requires_extensions` are checked with pre-releases included.
 *
 * `@renovatebot/pep440` does the parsing and most comparisons. Its exclusive ordered comparisons are
 * simplified ("`<V` and `>V` never match a version whose release equals V's"), which is wrong when V
 * is itself a pre-release or post-release (`1.0rc2 > 1.0rc1` is true in PEP 440). Those two operators
 * are therefore evaluated here with the rules of PEP 440 ("Exclusive ordered comparison").
 */

const CLAUSE = /^\s*(===|~=|==|!=|<=|>=|<|>)\s*(.*?)\s*$/;

/** A valid PEP 440 version (`1.0`, `0.8.0rc1`, `1!2.0.post1.dev3+local`). */
export function isPep440Version(version: string): boolean {
  return explain(version) !== null;
}

/** A valid PEP 440 specifier set (comma-separated clauses; the empty string matches everything). */
export function isPep440Specifier(specifier: string): boolean {
  return validRange(specifier);
}

/** The clauses of a valid specifier set, trimmed (`">=0.7, <0.8"` → `[">=0.7", "<0.8"]`). */
export function specifierClauses(specifier: string): string[] {
  return specifier.split(",").map((c) => c.trim()).filter(Boolean);
}

/**
 * True when `version` matches `specifier`, pre-releases included. Throws `Pep440Error` for an
 * invalid version or specifier (the contract skips those with `invalid_version`/`invalid_specifier`).
 */
export function pep440Contains(specifier: string, version: string): boolean {
  const v = explain(version);
  if (v === null) throw new Pep440Error("invalid_version", `${JSON.stringify(version)} is not a PEP 440 version (matching it against ${JSON.stringify(specifier)}); check it with isPep440Version first.`);
  if (!validRange(specifier)) throw new Pep440Error("invalid_specifier", `${JSON.stringify(specifier)} is not a PEP 440 specifier (matching ${JSON.stringify(version)} against it); check it with isPep440Specifier first.`);
  return specifierClauses(specifier).every((clause) => {
    const match = CLAUSE.exec(clause)!;
    const [op, target] = [match[1]!, match[2]!];
    if (op === "<") return exclusiveLess(version, target);
    if (op === ">") return exclusiveGreater(version, target);
    return satisfies(version, clause, { prereleases: true });
  });
}

function baseEquals(a: string, b: string): boolean {
  return compare(explain(a)!.base_version, explain(b)!.base_version) === 0;
}

/** PEP 440: `<V` must not allow a pre-release of V unless V is itself a pre-release. */
function exclusiveLess(version: string, target: string): boolean {
  if (!(compare(version, target) < 0)) return false;
  const [v, t] = [explain(version)!, explain(target)!];
  if (!t.is_prerelease && v.is_prerelease && baseEquals(version, target)) return false;
  return true;
}

/** PEP 440: `>V` must not allow a post-release of V unless V is itself one, nor a local version of V. */
function exclusiveGreater(version: string, target: string): boolean {
  if (!(compare(version, target) > 0)) return false;
  const [v, t] = [explain(version)!, explain(target)!];
  if (!t.is_postrelease && v.is_postrelease && baseEquals(version, target)) return false;
  if (v.local !== null && baseEquals(version, target)) return false;
  return true;
}

/**
 * An invalid version or specifier given to the PEP 440 helpers; `code` is the contract's diagnostic.
 * A harness error: callers validate what they match (the oracle predicts a skip for invalid input).
 */
export class Pep440Error extends DistcheckError {
  declare readonly code: "invalid_version" | "invalid_specifier";
  constructor(code: "invalid_version" | "invalid_specifier", message: string) {
    super(code, message, { category: "harness" });
    this.name = "Pep440Error";
  }
}

/** A host version at the edge of a specifier, and whether the specifier admits it (pre-releases included). */
export interface BoundaryVersion {
  version: string;
  contained: boolean;
  /** The clause whose edge it sits at, e.g. `>=0.8`. */
  clause: string;
}

const releaseOf = (version: string): number[] => explain(version)!.release;
const join = (release: number[]): string => release.join(".");
/** The release just above `release`: the last of three or more parts plus one, else a `.1` appended (0.8 → 0.8.1). */
const justAbove = (release: number[]): string => (release.length >= 3 ? join([...release.slice(0, -1), release.at(-1)! + 1]) : `${join(release)}.1`);
/** The release a `~=`/`==X.*` clause stops before: the last kept part plus one (`~=0.8.1` and `==0.8.*` → 0.9). */
const prefixUpper = (prefix: number[]): string => join([...prefix.slice(0, -1), prefix.at(-1)! + 1]);

/**
 * The versions just inside and just outside every edge of a valid specifier set, each with the
 * answer `pep440Contains` gives for it: for a clause on V, V itself, a pre-release just below it
 * (`Vrc1`, or `V.dev0` when V is already a pre- or post-release) and the release just above it;
 * for `~=` and `==X.*`, also the first release they stop before and its first pre-release. A host
 * checked at each of them proves its comparison at the edges, pre-releases included (WHL-08).
 * Sorted by PEP 440 order, without duplicates. An empty specifier has no edge.
 */
export function specifierBoundaries(specifier: string): BoundaryVersion[] {
  if (!validRange(specifier)) throw new Pep440Error("invalid_specifier", `${JSON.stringify(specifier)} is not a PEP 440 specifier; it has no boundaries to probe.`);
  const found = new Map<string, BoundaryVersion>();
  const add = (version: string, clause: string): void => {
    if (explain(version) === null || found.has(version)) return;
    found.set(version, { version, contained: pep440Contains(specifier, version), clause });
  };
  for (const clause of specifierClauses(specifier)) {
    const [, op, target] = CLAUSE.exec(clause)!;
    if (target!.endsWith(".*")) {
      const prefix = target!.slice(0, -2).split(".").map(Number);
      add(`${join(prefix)}.0rc1`, clause);
      add(`${join(prefix)}.0`, clause);
      add(`${prefixUpper(prefix)}rc1`, clause);
      add(prefixUpper(prefix), clause);
      continue;
    }
    const v = explain(target!);
    if (v === null) continue;
    add(target!, clause);
    add(v.is_prerelease || v.is_postrelease || v.is_devrelease ? `${v.public}.dev0` : `${v.public}rc1`, clause);
    add(justAbove(v.release), clause);
    if (op === "~=") {
      const upper = prefixUpper(v.release.slice(0, -1));
      add(`${upper}rc1`, clause);
      add(upper, clause);
    }
  }
  return [...found.values()].sort((a, b) => compare(a.version, b.version));
}

import type { Contract } from "./contract-parser.ts";
import type { SuiteClauseScan } from "./suite-clause-scanner.ts";

/** Where the leading clause ids of a suite's computed titles come from (`${entry.clauses.join(" ")}: ...`). */
export interface DynamicTitleSource {
  /** The suite, relative to the repository root. */
  file: string;
  /** The title expression exactly as the suite writes it. */
  expression: string;
  /** What the expression evaluates over (a fixture file), for messages. */
  from: string;
  /** Every clause id the expression yields across the suite's tests. */
  ids: string[];
}

export interface CoverageInput {
  scans: SuiteClauseScan[];
  contract: Contract;
  notYetCovered: readonly string[];
  /** Lives beside the list, named in messages: `src/contract/not-yet-covered.ts`. */
  notYetCoveredFile: string;
  dynamicSources: DynamicTitleSource[];
}

/**
 * Checks the suites against the contract, one message per problem (empty when they agree): every
 * clause id a suite names is a clause of the contract (the message names the id and the file); every
 * clause is claimed by a test title or listed as not yet covered, and no listed clause is claimed.
 */
export function coverageProblems(input: CoverageInput): string[] {
  const { contract } = input;
  const known = new Set(contract.clauses.map((c) => c.id));
  const problems: string[] = [];
  const unknown = (where: string, id: string): string =>
    `${where} names ${id}, which is not a clause of CONTRACT.md (contract ${contract.version}): use the id of the clause the test checks, or add the clause to CONTRACT.md (a new minor version) and regenerate contract.json`;
  /** Clause id → the first place that claims it. */
  const claimedAt = new Map<string, string>();

  for (const scan of input.scans) {
    const reported = new Set<string>();
    for (const m of [...scan.claimed, ...scan.mentioned]) {
      const where = `${scan.file}:${m.line}`;
      if (!known.has(m.id) && !reported.has(`${where} ${m.id}`)) {
        reported.add(`${where} ${m.id}`);
        problems.push(unknown(where, m.id));
      }
    }
    for (const c of scan.claimed) if (!claimedAt.has(c.id)) claimedAt.set(c.id, `${scan.file}:${c.line}`);
    for (const d of scan.dynamic) {
      const source = input.dynamicSources.find((s) => s.file === scan.file && s.expression === d.expression);
      if (!source) {
        problems.push(`${scan.file}:${d.line}: a test title starts with \`${d.expression}\`, so which clauses it claims is known only at run time: start the title with literal clause ids, or declare where the expression's ids come from (dynamicSources in src/contract/contract-coverage.test.ts)`);
        continue;
      }
      for (const id of new Set(source.ids)) {
        if (!known.has(id)) problems.push(unknown(`${source.from} (the titles of ${scan.file}:${d.line})`, id));
        if (!claimedAt.has(id)) claimedAt.set(id, `${scan.file}:${d.line} (from ${source.from})`);
      }
    }
  }
  for (const s of input.dynamicSources) {
    if (!input.scans.some((scan) => scan.file === s.file && scan.dynamic.some((d) => d.expression === s.expression))) {
      problems.push(`${s.file} has no test title starting with \`${s.expression}\` any more: remove its entry from dynamicSources (it would claim ${s.ids.join(", ")} for nothing)`);
    }
  }

  const listed = new Set(input.notYetCovered);
  for (const clause of contract.clauses) {
    const at = claimedAt.get(clause.id);
    if (!at && !listed.has(clause.id)) problems.push(`${clause.id} (${clause.title}) is claimed by no test title under suites/ and is not listed in NOT_YET_COVERED (${input.notYetCoveredFile}): add a test titled "${clause.id}: ..." or list the clause there`);
    if (at && listed.has(clause.id)) problems.push(`${clause.id} is listed in NOT_YET_COVERED (${input.notYetCoveredFile}) but ${at} claims it: remove it from the list`);
  }
  for (const id of input.notYetCovered) if (!known.has(id)) problems.push(unknown(`NOT_YET_COVERED (${input.notYetCoveredFile})`, id));
  return problems;
}

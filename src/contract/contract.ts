import contractData from "../../contract.json" with { type: "json" };
import type { Clause, Contract } from "./contract-parser.ts";
import { NOT_YET_COVERED } from "./not-yet-covered.ts";

export type { Clause, ClauseFamily, Contract } from "./contract-parser.ts";

/**
 * The contract the harness judges against: contract.json, generated from CONTRACT.md (its source of
 * truth) by `npx tsx scripts/generate-contract-json.ts`; contract.test.ts fails when they disagree.
 */
export const CONTRACT: Contract = contractData;

/** The contract file readers open, relative to the repository root. */
export const CONTRACT_FILE = "CONTRACT.md";

const byId = new Map(CONTRACT.clauses.map((c) => [c.id, c]));

/** The clause with this id, or undefined when the contract has none. */
export function clauseOf(id: string, contract: Contract = CONTRACT): Clause | undefined {
  return contract === CONTRACT ? byId.get(id) : contract.clauses.find((c) => c.id === id);
}

/** What a report says about the contract it judged against. */
export interface ContractStamp {
  /** SemVer of the contract. */
  version: string;
  /** SHA-256 (hex) of CONTRACT.md. */
  sha256: string;
  /** Clauses of the contract that no suite checks yet. */
  notYetCovered: string[];
}

export function contractStamp(contract: Contract = CONTRACT, notYetCovered: readonly string[] = NOT_YET_COVERED): ContractStamp {
  return { version: contract.version, sha256: contract.sha256, notYetCovered: [...notYetCovered] };
}

/**
 * A clause cited as a report shows it, in Markdown: `**WHL-08** (contract 1.0.0): <text>`. An id the
 * contract does not hold is said to be so rather than dropped, so a misnamed test stays visible.
 */
export function citation(id: string, contract: Contract = CONTRACT): string {
  const clause = clauseOf(id, contract);
  return clause ? `**${id}** (contract ${contract.version}): ${clause.text}` : `**${id}**: not a clause of contract ${contract.version}`;
}

/** A clause's text as a browser shows its rendered Markdown: code spans and emphasis without their marks. */
export function plainText(markdown: string): string {
  // Odd parts are code spans, whose stars are literal (`*.plugins`).
  return markdown
    .split(/(`[^`]*`)/)
    .map((part, i) => (i % 2 === 1 ? part.slice(1, -1) : part.replace(/\*\*([^*]+)\*\*/g, "$1").replace(/\*([^*]+)\*/g, "$1")))
    .join("");
}

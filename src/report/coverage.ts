import { CONTRACT } from "../contract/contract.ts";

/**
 * The clause families the default matrix must cover against the reference host: the WHL, ARC and
 * HST clauses. DIR, BND and KRN belong to other hosts and are not required here.
 */
export const REQUIRED_FAMILIES: readonly string[] = ["WHL", "ARC", "HST"];

/** Every clause of the required families, from contract.json: a clause added there is required at once. */
export const REQUIRED_CLAUSES: readonly string[] = CONTRACT.clauses.filter((c) => REQUIRED_FAMILIES.includes(c.family)).map((c) => c.id);

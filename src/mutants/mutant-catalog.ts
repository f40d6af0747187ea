import { readFileSync } from "node:fs";
import path from "node:path";
import { DistcheckError } from "../errors/distcheck-error.ts";

/** One deliberately broken build of a host: which clause it breaks and which suites must catch it. */
export interface Mutant {
  name: string;
  clause: string;
  suites: string[];
  /** A timing mutant must also be killed on linux-aarch64 (under qemu). */
  timing: boolean;
  breaks: string;
}

/** Where a host keeps its mutant catalog (the reference host ships it in its package). */
export function catalogPath(hostDir: string): string {
  return path.join(hostDir, "src", "distcheck_host", "mutants.json");
}

export function loadMutants(hostDir: string): Mutant[] {
  const file = catalogPath(hostDir);
  try {
    return (JSON.parse(readFileSync(file, "utf8")) as { mutants: Mutant[] }).mutants;
  } catch (cause) {
    throw new DistcheckError("mutants_missing", `Could not read the mutant catalog ${file}: ${(cause as Error).message}`, { cause, category: "input" });
  }
}

/** The mutant of this name, or an error that lists the known ones. */
export function findMutant(mutants: Mutant[], name: string): Mutant {
  const found = mutants.find((m) => m.name === name);
  if (!found) throw new DistcheckError("mutant_unknown", `Unknown mutant ${JSON.stringify(name)}; known: ${mutants.map((m) => m.name).join(", ")}`, { category: "input" });
  return found;
}

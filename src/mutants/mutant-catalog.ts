import { readFileSync } from "node:fs";
import path from "node:path";
import { DistcheckError } from "../errors/distcheck-error.ts";
import type { SourceEdit } from "../images/host-source.ts";

/** One deliberately broken build of a host: which clause it breaks and which suites must catch it. */
export interface Mutant {
  name: string;
  clause: string;
  suites: string[];
  /** A timing mutant must also be killed on linux-aarch64 (under qemu). */
  timing: boolean;
  breaks: string;
}

/** Where a host keeps its mutants: the catalog and one edits file per mutant (never in its image). */
export function mutantsDir(hostDir: string): string {
  return path.join(hostDir, "mutants");
}

/** Where a host keeps its mutant catalog. */
export function catalogPath(hostDir: string): string {
  return path.join(mutantsDir(hostDir), "catalog.json");
}

/** Where a mutant's edits of the host's clean source are. */
export function mutantEditsPath(hostDir: string, name: string): string {
  return path.join(mutantsDir(hostDir), `${name}.json`);
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

/** A text in an edits file: one string, or its lines (joined with newlines, none added at the end). */
type EditText = string | string[];

function editText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (Array.isArray(value) && value.length > 0 && value.every((line) => typeof line === "string")) return value.join("\n");
  return undefined;
}

/**
 * A mutant's edits (`mutants/<name>.json`: `{"edits": [{"file", "find", "replace"}]}`), applied to
 * the host's clean source when its image is built. Throws `mutant_edit_failed` naming the file and
 * the field when the edits file is missing or malformed.
 */
export function loadMutantEdits(hostDir: string, name: string): SourceEdit[] {
  const file = mutantEditsPath(hostDir, name);
  const invalid = (what: string, cause?: unknown): DistcheckError =>
    new DistcheckError("mutant_edit_failed", `Mutant ${name}: ${file} ${what}. Each mutant needs {"edits": [{"file": "src/...", "find": "...", "replace": "..."}]}, texts as a string or a list of lines.`, { cause, category: "harness" });
  let data: { edits?: Array<{ file?: unknown; find?: EditText; replace?: EditText }> };
  try {
    data = JSON.parse(readFileSync(file, "utf8")) as typeof data;
  } catch (cause) {
    throw invalid(`could not be read (${(cause as Error).message})`, cause);
  }
  if (!Array.isArray(data.edits) || data.edits.length === 0) throw invalid("has no edits (a list with at least one)");
  return data.edits.map((edit, i) => {
    const find = editText(edit.find);
    const replace = editText(edit.replace);
    if (typeof edit.file !== "string" || edit.file === "") throw invalid(`edits[${i}].file must be a path inside the host's tree`);
    if (find === undefined || find === "") throw invalid(`edits[${i}].find must be a non-empty string or list of lines`);
    if (replace === undefined) throw invalid(`edits[${i}].replace must be a string or list of lines`);
    return { file: edit.file, find, replace };
  });
}

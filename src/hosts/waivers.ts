import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { DistcheckError } from "../errors/distcheck-error.ts";

/**
 * An expected deviation of a real host from one clause, traced to the host's own source. A waived
 * failure does not fail the gate; a waived clause that passes is an unexpected pass and does, so a
 * waiver goes when the host is fixed.
 */
export interface Waiver {
  clause: string;
  /** Cell ids it covers; `*` matches any run of characters (`*.trixie.toposync`). */
  cells: string;
  /** Why the host breaks the clause, in a sentence. */
  reason: string;
  /** The host's own line that causes it: file relative to the host's source root, 1-based line, and its text. */
  source: { file: string; line: number; quote: string };
}

/** `hosts/<adapter>/waivers.json`: `{ "waivers": [...] }`. */
export function waiversFile(root: string, adapter: string): string {
  return path.join(root, "hosts", adapter, "waivers.json");
}

export function loadWaivers(root: string, adapter: string): Waiver[] {
  const file = waiversFile(root, adapter);
  if (!existsSync(file)) return [];
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, "utf8"));
  } catch (cause) {
    throw new DistcheckError("waivers_invalid", `${file} is not valid JSON: ${(cause as Error).message}`, { cause, category: "input" });
  }
  const list = (data as { waivers?: unknown }).waivers;
  if (!Array.isArray(list)) throw new DistcheckError("waivers_invalid", `${file}: "waivers" must be a list`, { category: "input" });
  return list.map((w, i) => {
    const x = w as Partial<Waiver>;
    const bad = (field: string): never => {
      throw new DistcheckError("waivers_invalid", `${file}: waivers[${i}].${field} is missing or invalid`, { category: "input" });
    };
    if (typeof x.clause !== "string" || !/^[A-Z]{3}-\d{2}$/.test(x.clause)) bad("clause");
    if (typeof x.cells !== "string" || x.cells === "") bad("cells");
    if (typeof x.reason !== "string" || x.reason.length < 10) bad("reason");
    if (typeof x.source?.file !== "string" || !Number.isInteger(x.source.line) || typeof x.source.quote !== "string" || x.source.quote.trim() === "") bad("source");
    return x as Waiver;
  });
}

/** Whether a waiver's cell pattern covers a cell id. */
export function waiverCovers(waiver: Waiver, cellId: string): boolean {
  const pattern = new RegExp(`^${waiver.cells.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
  return pattern.test(cellId);
}

/**
 * Checks that each waiver quotes its host's source: the quoted text stands on the named line of
 * the file under `sourceRoot`. Returns one problem per waiver that does not.
 */
export function checkWaiverQuotes(waivers: Waiver[], sourceRoot: string): string[] {
  const problems: string[] = [];
  for (const w of waivers) {
    const file = path.join(sourceRoot, w.source.file);
    if (!existsSync(file)) {
      problems.push(`${w.clause} (${w.cells}): ${w.source.file} does not exist under ${sourceRoot}`);
      continue;
    }
    const line = readFileSync(file, "utf8").split("\n")[w.source.line - 1] ?? "";
    if (!line.includes(w.source.quote.trim())) problems.push(`${w.clause} (${w.cells}): ${w.source.file}:${w.source.line} reads ${JSON.stringify(line.trim())}, not the quoted ${JSON.stringify(w.source.quote.trim())}`);
  }
  return problems;
}

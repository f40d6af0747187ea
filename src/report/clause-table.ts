import type { Verdict } from "./host-verdicts.ts";
import type { ReportSummary } from "./report-summary.ts";
import { familyOf } from "./test-identity.ts";

/** How a platform column reads, from the verdicts of its cells. */
function mark(vs: Verdict[]): string {
  if (vs.length === 0) return "-";
  if (vs.includes("failed")) return "FAIL";
  if (vs.includes("unexpected-pass")) return "UNEXPECTED PASS";
  if (vs.includes("waived")) return "waived";
  if (vs.includes("passed")) return `ok (${vs.filter((v) => v === "passed").length})`;
  if (vs.every((v) => v === "not-applicable")) return "n/a";
  return "skip";
}

/**
 * A one-screen clause x platform table per host: ok, FAIL, waived, UNEXPECTED PASS, n/a (not
 * applicable: a family the host does not implement, or a base it cannot run on), skip, or a dash
 * for not run.
 */
export function clauseTable(summary: ReportSummary): string {
  const platforms = summary.platforms;
  const width = Math.max(...platforms.map((p) => p.length), 15);
  const header = `${"clause".padEnd(8)} ${platforms.map((p) => p.padEnd(width)).join(" ")}  (contract ${summary.contract.version})`;
  const rows = (clauses: Record<string, Record<string, Verdict>>): string[] =>
    Object.entries(clauses).map(([clause, cells]) => `${clause.padEnd(8)} ${platforms.map((p) => mark(Object.entries(cells).filter(([c]) => c.startsWith(`${p}.`)).map(([, v]) => v)).padEnd(width)).join(" ")}`.trimEnd());
  const hosts = Object.entries(summary.hosts ?? {});
  if (hosts.length === 0) return [header, ...rows(summary.clauses)].join("\n");
  const lines: string[] = [];
  for (const [id, h] of hosts) {
    lines.push(`host ${id} (adapter ${h.adapter}; implements ${h.families.join(", ")})`, header, ...rows(h.clauses));
    for (const na of h.notApplicable) lines.push(`  n/a ${na.clauses[0] === "*" ? "every clause" : `the ${[...new Set(na.clauses.map(familyOf))].join(", ")} clauses`} on ${na.cells.join(", ")}: ${na.reason}`);
    for (const w of h.waivers) lines.push(`  waiver ${w.clause} (${w.cells}): ${w.reason} [${w.source.file}:${w.source.line}]`);
    lines.push("");
  }
  return lines.join("\n").trimEnd();
}

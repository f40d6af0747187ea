import { contractStamp, type ContractStamp } from "../contract/contract.ts";
import { isWaivedFailure, waiverText, type HostProfile, type NotApplicable } from "./host-verdicts.ts";
import type { TestRecord } from "./test-record.ts";

function xml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]!).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, "");
}

/** JUnit XML of the (merged) records: one testsuite per suite file, each naming the contract it was judged against. */
export function junitXml(records: Iterable<TestRecord>, contract: ContractStamp = contractStamp(), hosts: { profiles?: ReadonlyMap<string, HostProfile>; notApplicable?: readonly NotApplicable[] } = {}): string {
  const profiles = hosts.profiles ?? new Map<string, HostProfile>();
  // <properties> sits on each testsuite: the JUnit schema CI tools validate against has none on <testsuites>.
  const properties = `    <properties>\n      <property name="contract.version" value="${xml(contract.version)}"/>\n      <property name="contract.sha256" value="${xml(contract.sha256)}"/>\n    </properties>`;
  const bySuite = new Map<string, TestRecord[]>();
  for (const r of records) bySuite.set(r.suite, [...(bySuite.get(r.suite) ?? []), r]);
  const suites = [...bySuite].sort(([a], [b]) => a.localeCompare(b)).map(([suite, rs]) => {
    const cases = rs
      .sort((a, b) => a.key.localeCompare(b.key))
      .map((r) => {
        const name = xml(`${r.cell ? `[${r.cell.id}] ` : ""}${r.name}`);
        const time = (r.durationMs / 1000).toFixed(3);
        const waived = isWaivedFailure(r, profiles);
        const body = waived
          ? `<skipped message="${xml(`waived: ${waived.map(waiverText).join("; ")}`)}"/><system-out>${xml(r.errors.map((e) => e.stack ?? e.message).join("\n\n"))}</system-out>`
          : r.state === "failed"
            ? `<failure message="${xml(r.errors[0]?.message.split("\n")[0] ?? "failed")}">${xml(r.errors.map((e) => e.stack ?? e.message).join("\n\n"))}</failure>`
            : r.state === "passed"
              ? ""
              : r.skipReason
                ? `<skipped message="${xml(`not run: ${r.skipReason}`)}"/>`
                : "<skipped/>";
        return `    <testcase classname="${xml(suite)}" name="${name}" time="${time}">${body}</testcase>`;
      });
    const failures = rs.filter((r) => r.state === "failed" && !isWaivedFailure(r, profiles)).length;
    const skipped = rs.filter((r) => r.state !== "passed" && (r.state !== "failed" || isWaivedFailure(r, profiles))).length;
    return `  <testsuite name="${xml(suite)}" tests="${rs.length}" failures="${failures}" skipped="${skipped}">\n${properties}\n${cases.join("\n")}\n  </testsuite>`;
  });
  const na = (hosts.notApplicable ?? []).flatMap((n) => n.cells.map((cell) => `    <testcase classname="not-applicable" name="${xml(`[${cell}] ${n.clauses[0] === "*" ? "every clause" : n.clauses.join(" ")}: not applicable`)}" time="0"><skipped message="${xml(`not applicable: ${n.reason}`)}"/></testcase>`));
  if (na.length > 0) suites.push(`  <testsuite name="not-applicable" tests="${na.length}" failures="0" skipped="${na.length}">\n${properties}\n${na.join("\n")}\n  </testsuite>`);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n${suites.join("\n")}\n</testsuites>\n`;
}

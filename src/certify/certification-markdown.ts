import { sortFindings, type CertificationDocument, type Finding } from "./certification-document.ts";

/** `certification.md`: the verdict document for people; `certification.json` is the same for machines. */

const cell = (text: string): string => text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, " ");

const STATUS_ORDER: Record<Finding["status"], number> = { "harness-error": 0, fail: 1, pass: 2, "not-applicable": 3 };
const SEVERITY_ORDER: Record<Finding["severity"], number> = { error: 0, warning: 1, info: 2 };

function table(findings: readonly Finding[]): string[] {
  const rows = ["| status | severity | check | clause | cell | artifact | detail |", "|---|---|---|---|---|---|---|"];
  for (const f of findings) rows.push(`| ${f.status} | ${f.severity} | \`${f.checkId}\` | ${f.clause} | ${cell(f.cell)} | ${cell(f.subject)} | ${cell(f.detail)} |`);
  return rows;
}

export function renderMarkdown(doc: CertificationDocument): string {
  const sorted = sortFindings(doc.findings).sort((a, b) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
  const problems = sorted.filter((f) => f.status === "fail" || f.status === "harness-error");
  const others = sorted.filter((f) => f.status !== "fail" && f.status !== "harness-error");
  const missing = doc.matrix.declared.filter((c) => !doc.matrix.executed.includes(c));
  const lines = [
    `# Certification: ${doc.verdict}`,
    "",
    `- tool: ${doc.tool.name} ${doc.tool.version} (commit ${doc.tool.commit})`,
    `- contract: ${doc.contract.version} (CONTRACT.md sha256 ${doc.contract.sha256})`,
    `- host: ${doc.host.id}${doc.host.version ? ` ${doc.host.version}` : ""}${doc.host.entryPointGroup ? ` (entry point group ${doc.host.entryPointGroup})` : ""}`,
    `- generated: ${doc.generatedAt}`,
    "",
    "## Artifacts",
    "",
    "| file | kind | name | version | size | sha256 |",
    "|---|---|---|---|---|---|",
    ...doc.subjects.map((s) => `| ${cell(s.file)} | ${s.kind} (${s.format}) | ${cell(s.name ?? "?")} | ${cell(s.version ?? "?")} | ${s.size} | \`${s.sha256}\` |`),
    "",
    "## Matrix",
    "",
    `- declared: ${doc.matrix.declared.join(", ") || "none (static checks only)"}`,
    `- executed: ${doc.matrix.executed.join(", ") || "none"}`,
    ...(missing.length > 0 ? [`- not executed: ${missing.join(", ")}`] : []),
    "",
    `## Problems (${problems.length})`,
    "",
    ...(problems.length > 0 ? table(problems) : ["None."]),
    "",
    `## Other checks (${others.length})`,
    "",
    ...(others.length > 0 ? table(others) : ["None."]),
    "",
  ];
  if (problems.length > 0) {
    lines.push("## Reproduce", "");
    for (const command of [...new Set(problems.map((f) => f.reproduce))]) lines.push("```sh", command, "```", "");
  }
  return lines.join("\n");
}

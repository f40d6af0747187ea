import path from "node:path";
import { verdictText } from "./classification.ts";
import type { ReproResult } from "./repro.ts";

/** The result as a person reads it: per test, what was recorded, each try with its timing factor, the verdict. */
export function reproText(result: ReproResult, cwd = process.cwd()): string {
  const lines: string[] = [];
  for (const t of result.tests) {
    lines.push(`${t.id}  ${t.cell}: ${t.name}`);
    lines.push(`  recorded: ${t.recorded.state} in run ${t.recorded.runId}${t.recorded.timingFactor !== undefined ? ` (timing factor ${t.recorded.timingFactor})` : ""}${t.mutant ? `, mutant ${t.mutant}` : ""}${t.hostVersion ? `, host ${t.hostVersion}` : ""}`);
    if (t.images) lines.push(`  image: ${t.images.host}${t.images.hostId ? ` (${t.images.hostId.slice(0, 19)})` : ""}`);
    for (const w of t.warnings) lines.push(`  warning: ${w}`);
    for (const x of t.tries) {
      const how = x.state === "failed" ? (x.sameFailure ? "failed the same way" : "failed differently") : x.state;
      lines.push(`  try ${x.n}: ${how.padEnd(20)} test ${x.durationMs.toFixed(0).padStart(6)} ms (try ${(x.wallMs / 1000).toFixed(1)} s)   timing factor ${x.timingFactor ?? "?"}   ${path.relative(cwd, x.dir)}`);
      if (x.fixtureDifferences?.length) lines.push(`    other fixture bytes than the run: ${x.fixtureDifferences.slice(0, 5).join("; ")}${x.fixtureDifferences.length > 5 ? `; ... ${x.fixtureDifferences.length - 5} more` : ""}`);
      if (x.state === "failed" && !x.sameFailure) lines.push(`    ${(x.errors[0]?.message ?? "").split("\n")[0]!.slice(0, 200)}`);
    }
    lines.push(`  verdict: ${verdictText(t.verdict)}`);
    lines.push(`  again: ${t.command}`);
    for (const k of t.kept ?? []) {
      const when = t.tries.find((x) => x.dir.endsWith(`try-${k.try}`))?.state === "failed" ? `try ${k.try}, as the test left it when it failed` : `try ${k.try}`;
      lines.push(`  kept: container ${k.containerName} of ${k.cell} (${when}), the host running at ${k.url} on the network ${k.network}`);
      lines.push(`    look around: ${k.exec}`);
      lines.push(`    remove it:   ${k.clean}`);
    }
  }
  lines.push(`trace: ${path.relative(cwd, result.dir) || result.dir}`);
  return `${lines.join("\n")}\n`;
}

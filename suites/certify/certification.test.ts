import { describe, it } from "vitest";
import { readCertifyPlan, type CertifyJob } from "../../src/certify/dynamic-plan.ts";
import type { Cell } from "../../src/matrix/matrix.ts";
import { runCells } from "../support/cells.ts";
import { MAX_TIMEOUT_MS, scaledTimeout } from "../support/host.ts";
import { certifyArchive } from "./archive-certification.ts";
import { CellRecorder } from "./cell-recorder.ts";
import { certifyWheel } from "./wheel-certification.ts";

// Dynamic certification (`distcheck certify`): each job's artifacts installed and run on every cell
// of its host, each check a finding in <resultsDir>/<job>/<cell>.json. The test fails when a check
// of severity error failed or could not be carried out, so JUnit and Allure show the same verdict;
// the certifier reads the findings, not the test status.
const plan = readCertifyPlan();
const pairs: Array<{ job: CertifyJob; cell: Cell; title: string }> = [];
for (const job of plan.jobs) for (const cell of runCells()) if (cell.host.id === job.host) pairs.push({ job, cell, title: `${job.id} on ${cell.id}` });

describe.concurrent("certification", () => {
  if (pairs.length === 0) it.skip("no cell of the plan's hosts in this run", () => undefined);
  for (const { job, cell, title } of pairs) {
    it(`certify ${title}`, { timeout: Math.min(scaledTimeout(cell, 240_000) * Math.max(1, job.coreProbes.length / 2), MAX_TIMEOUT_MS * 3) }, async ({ annotate }) => {
      const rec = new CellRecorder(job, cell, plan.resultsDir);
      let completed = false;
      try {
        if (job.artifacts[0]!.kind === "wheel") for (const artifact of job.artifacts) await certifyWheel(cell, job, artifact, rec);
        else await certifyArchive(cell, job, rec);
        completed = true;
      } catch (error) {
        rec.harnessError({ checkId: "certify.cell", clause: job.artifacts[0]!.kind === "wheel" ? "WHL-01" : "ARC-01", severity: "error", title: "The cell's checks ran to the end" }, job.artifacts.map((a) => a.file).join(", "), error);
      } finally {
        rec.write(completed);
      }
      const bad = rec.findings.filter((f) => (f.status === "fail" && f.severity === "error") || f.status === "harness-error");
      for (const f of rec.findings.filter((x) => x.status === "fail")) await annotate(`${f.severity} ${f.checkId} (${f.clause}): ${f.detail}`, f.severity === "error" ? "error" : "warning");
      if (bad.length > 0) throw new Error(bad.map((f) => `${f.checkId} ${f.status}: ${f.detail}`).join("\n"));
    });
  }
});

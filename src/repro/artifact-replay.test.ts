import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { CertifyOutcome, CertifyRunOptions } from "../certify/certify-run.ts";
import type { CertificationDocument, Finding, Verdict } from "../certify/certification-document.ts";
import { artifactReplayText, classifyArtifactTries, explicitCell, failingFindingIds, replayArtifact, wantsArtifactReplay } from "./artifact-replay.ts";

const CELL = "linux-x86_64.bookworm.reference";
const finding = (checkId: string, over: Partial<Finding> = {}): Finding => ({ checkId, clause: "WHL-05", cell: CELL, subject: "x.whl", severity: "error", status: "fail", title: "", detail: "", evidence: {}, reproduce: "", ...over });
const reports = mkdtempSync(path.join(tmpdir(), "artifact-replay-"));
afterAll(() => rmSync(reports, { recursive: true, force: true }));

/** A certification that gives these verdicts in turn, and records what it was asked. */
function fakeCertify(verdicts: Array<[Verdict, Finding[]]>): { certify: (o: CertifyRunOptions) => Promise<CertifyOutcome[]>; calls: CertifyRunOptions[] } {
  const calls: CertifyRunOptions[] = [];
  return {
    calls,
    certify: async (o) => {
      const [verdict, findings] = verdicts[calls.length]!;
      calls.push(o);
      const document = { verdict, findings } as CertificationDocument;
      return [{ document, dir: o.out, files: [], exitCode: 0 }];
    },
  };
}

const base = { host: "reference", platform: "linux-x86_64", python: "3.11", artifact: "dist/x-1.0-py3-none-any.whl", reports, progress: () => {} };

describe("repro --host --platform --python --artifact", () => {
  it("is asked for by its four flags, refused half given or mixed with another form (repro_usage)", () => {
    expect(wantsArtifactReplay({ from: "reports/latest", test: "abc" })).toBe(false);
    expect(wantsArtifactReplay({ host: "reference", platform: "linux-x86_64", python: "3.11", artifact: "a.whl" })).toBe(true);
    expect(() => wantsArtifactReplay({ host: "reference", artifact: "a.whl" })).toThrow(expect.objectContaining({ code: "repro_usage", message: expect.stringContaining("missing --platform, --python") }));
    for (const other of [{ from: "reports/latest" }, { bundle: "b.tar.gz" }, { lastFailed: true }, { test: "abc" }]) {
      expect(() => wantsArtifactReplay({ host: "reference", platform: "linux-x86_64", python: "3.11", artifact: "a.whl", ...other })).toThrow(expect.objectContaining({ code: "repro_usage" }));
    }
    expect(() => wantsArtifactReplay({ deps: "wheels", from: "reports/latest" })).toThrow(expect.objectContaining({ code: "repro_usage" }));
  });

  it("names exactly one cell of the matrix, else cell_not_found", () => {
    expect(explicitCell({ host: "reference", platform: "linux-x86_64", python: "3.11" }).id).toBe(CELL);
    expect(explicitCell({ host: "reference", platform: "linux-aarch64", python: "trixie" }).id).toBe("linux-aarch64.trixie.reference");
    expect(() => explicitCell({ host: "reference", platform: "linux-x86_64", python: "3.9" })).toThrow(expect.objectContaining({ code: "cell_not_found" }));
    expect(() => explicitCell({ host: "nohost", platform: "linux-x86_64", python: "3.11" })).toThrow(expect.objectContaining({ code: "cell_not_found" }));
    // A host that does not run on the base: every filter is valid, yet they name no cell.
    const matrix = JSON.parse(readFileSync(path.join(import.meta.dirname, "../../matrix.json"), "utf8")) as { hosts: Array<{ id: string; bases?: string[] }> };
    matrix.hosts.find((h) => h.id === "reference")!.bases = ["trixie"];
    const matrixFile = path.join(reports, "matrix.json");
    writeFileSync(matrixFile, JSON.stringify(matrix));
    expect(() => explicitCell({ host: "reference", platform: "linux-x86_64", python: "3.11", matrix: matrixFile })).toThrow(expect.objectContaining({ code: "cell_not_found", message: expect.stringContaining("names no cell") }));
  });

  it("classifies NOT_CERTIFIED tries: fails every time, flaky k of N, does not reproduce, same findings or not", () => {
    const f = (failed: boolean, ids: string[] = []) => ({ failed, failingFindings: ids });
    expect(classifyArtifactTries([f(true, ["a"]), f(true, ["a"])])).toEqual({ classification: "fails_every_time", failed: 2, of: 2, sameFindings: true });
    expect(classifyArtifactTries([f(true, ["a"]), f(true, ["b"])])).toMatchObject({ classification: "fails_every_time", sameFindings: false });
    expect(classifyArtifactTries([f(false), f(true, ["a"]), f(false)])).toMatchObject({ classification: "flaky", failed: 1, of: 3 });
    expect(classifyArtifactTries([f(false), f(false)])).toMatchObject({ classification: "does_not_reproduce", failed: 0, of: 2 });
    expect(failingFindingIds({ findings: [finding("b"), finding("a"), finding("w", { severity: "warning" }), finding("p", { status: "pass" }), finding("a")] })).toEqual([`a@${CELL}`, `b@${CELL}`]);
  });

  it("runs one certification per try on exactly the one cell, writes command.sh per try and exits 1 when a try was NOT_CERTIFIED", async () => {
    const fake = fakeCertify([["NOT_CERTIFIED", [finding("wheel.discovery.listed")]], ["CERTIFIED", []], ["NOT_CERTIFIED", [finding("wheel.discovery.listed")]]]);
    const r = await replayArtifact({ ...base, deps: "wheels", repeat: 3, certify: fake.certify });
    expect(fake.calls.map((c) => [c.host, c.platform, c.python, c.requests])).toEqual(Array(3).fill(["reference", ["linux-x86_64"], ["3.11"], [{ artifacts: [base.artifact], deps: "wheels" }]]));
    expect(fake.calls.every((c) => c.suiteOutputToStderr === true)).toBe(true);
    expect(fake.calls.map((c) => c.out)).toEqual([1, 2, 3].map((n) => path.join(r.dir, "artifact", `try-${n}`)));
    expect(r.verdict).toEqual({ classification: "flaky", failed: 2, of: 3, sameFindings: true });
    expect(r.exitCode).toBe(1);
    expect(r.tries[0]!.failingFindings).toEqual([`wheel.discovery.listed@${CELL}`]);
    const sh = readFileSync(path.join(r.dir, "artifact", "try-2", "command.sh"), "utf8");
    expect(sh).toContain("npx distcheck repro --host reference --platform linux-x86_64 --python 3.11 --artifact dist/x-1.0-py3-none-any.whl --deps wheels --repeat 3");
    expect(sh).toContain("npx distcheck certify dist/x-1.0-py3-none-any.whl --host reference --platform linux-x86_64 --python 3.11 --deps wheels --out ");
    expect(existsSync(path.join(r.dir, "repro.json"))).toBe(true);
    expect(artifactReplayText(r)).toContain("verdict: flaky (2 of 3 not certified, the same findings each time)");
  });

  it("does not reproduce (exit 0) when every try certifies, warnings included", async () => {
    const fake = fakeCertify([["CERTIFIED", []], ["CERTIFIED_WITH_WARNINGS", [finding("w", { severity: "warning" })]]]);
    const r = await replayArtifact({ ...base, repeat: 2, certify: fake.certify });
    expect(r.verdict.classification).toBe("does_not_reproduce");
    expect(r.exitCode).toBe(0);
  });

  it("INCOMPLETE is infrastructure (certification_incomplete), INVALID_ARTIFACT input (artifact_invalid), a bad --repeat repro_usage", async () => {
    await expect(replayArtifact({ ...base, certify: fakeCertify([["INCOMPLETE", []]]).certify })).rejects.toMatchObject({ code: "certification_incomplete", category: "infrastructure" });
    await expect(replayArtifact({ ...base, certify: fakeCertify([["INVALID_ARTIFACT", [finding("wheel.zip.unreadable", { cell: "static" })]]]).certify })).rejects.toMatchObject({ code: "artifact_invalid", category: "input" });
    await expect(replayArtifact({ ...base, repeat: 0, certify: fakeCertify([]).certify })).rejects.toMatchObject({ code: "repro_usage" });
  });
});

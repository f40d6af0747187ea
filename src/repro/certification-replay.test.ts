import { createHash, generateKeyPairSync } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildBundle } from "../certify/bundle-writer.ts";
import type { CertifyOutcome, CertifyRunOptions } from "../certify/certify-run.ts";
import { deriveVerdict, type CertificationDocument, type Finding, type Verdict } from "../certify/certification-document.ts";
import { CONTRACT } from "../contract/contract.ts";
import { select } from "../matrix/selection.ts";
import { cellCertificationVerdict, certificationReplayText, findingDifferences, matchSubjects, replayCertificationCell } from "./certification-replay.ts";

const CELL = "linux-x86_64.bookworm.reference";
const OTHER = "linux-aarch64.bookworm.reference";
const work = mkdtempSync(path.join(tmpdir(), "certification-replay-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const finding = (checkId: string, over: Partial<Finding> = {}): Finding => ({ checkId, clause: "WHL-02", cell: CELL, subject: "x-1.0-py3-none-any.whl", severity: "error", status: "pass", title: checkId, detail: "", evidence: {}, reproduce: "", ...over });
const artifactBytes = Buffer.from("the wheel's bytes");
const sha = createHash("sha256").update(artifactBytes).digest("hex");
const { privateKey, publicKey } = generateKeyPairSync("ed25519");
const pub = path.join(work, "sign.pub.pem");
writeFileSync(pub, publicKey.export({ type: "spki", format: "pem" }));

/** A signed certification bundle of one wheel, with these findings in CELL and one static pass. */
function certificationBundle(name: string, cellFindings: Finding[], otherCell: Finding[] = []): string {
  const statics = [finding("wheel.record.hash-mismatch", { cell: "static", clause: "WHL-01" })];
  const findings = [...statics, ...cellFindings, ...otherCell];
  const cells = [CELL, ...(otherCell.length ? [OTHER] : [])];
  const doc: CertificationDocument = {
    schemaVersion: 1,
    tool: { name: "distcheck", version: "0", commit: "unknown" },
    contract: { version: CONTRACT.version, sha256: CONTRACT.sha256 },
    host: { id: "reference" },
    generatedAt: new Date(0).toISOString(),
    subjects: [{ file: "x-1.0-py3-none-any.whl", kind: "wheel", format: "whl", sha256: sha, size: artifactBytes.length, name: "x", version: "1.0" }],
    matrix: { declared: cells, executed: cells },
    findings,
    verdict: deriveVerdict(findings, cells, cells),
  };
  const results = [{ cell: "static", findings: statics }, { cell: CELL, findings: cellFindings }, ...(otherCell.length ? [{ cell: OTHER, findings: otherCell }] : [])];
  const built = buildBundle(doc, results, { host: doc.host, images: { [CELL]: { id: "sha256:abc" } } }, privateKey.export({ type: "pkcs8", format: "pem" }));
  const file = path.join(work, `${name}.tar.gz`);
  writeFileSync(file, built.bytes);
  return file;
}

/** A certification that gives these verdicts and findings in turn, and records what it was asked. */
function fakeCertify(answers: Array<[Verdict, Finding[]]>): { certify: (o: CertifyRunOptions) => Promise<CertifyOutcome[]>; calls: CertifyRunOptions[] } {
  const calls: CertifyRunOptions[] = [];
  return {
    calls,
    certify: async (o) => {
      const [verdict, findings] = answers[calls.length]!;
      calls.push(o);
      return [{ document: { verdict, findings } as CertificationDocument, dir: o.out, files: [], exitCode: 0 }];
    },
  };
}

const checkImage = async (): Promise<{ selection: ReturnType<typeof select>; warnings: string[] }> => ({ selection: select({}), warnings: [] });
const artifact = path.join(work, "x-1.0-py3-none-any.whl");
writeFileSync(artifact, artifactBytes);
const base = { key: pub, cell: CELL, artifacts: [artifact], reports: path.join(work, "reports"), progress: () => {}, checkImage };

describe("repro --bundle --artifact (a certification bundle's cell)", () => {
  it("a cell's verdict is its findings with the static ones, as if it were the only cell; INCOMPLETE when it did not run to the end", () => {
    const statics = [finding("s", { cell: "static" })];
    expect(cellCertificationVerdict(statics, [finding("a")], CELL, true)).toBe("CERTIFIED");
    expect(cellCertificationVerdict(statics, [finding("a", { status: "fail" })], CELL, true)).toBe("NOT_CERTIFIED");
    expect(cellCertificationVerdict(statics, [finding("a", { status: "fail", severity: "warning" })], CELL, true)).toBe("CERTIFIED_WITH_WARNINGS");
    expect(cellCertificationVerdict(statics, [finding("a")], CELL, false)).toBe("INCOMPLETE");
    expect(cellCertificationVerdict([finding("s", { cell: "static", status: "fail", severity: "warning" })], [finding("a")], CELL, true)).toBe("CERTIFIED_WITH_WARNINGS");
  });

  it("lists every finding whose status differs, by check and subject, a missing one as absent", () => {
    const recorded = [finding("a"), finding("b", { status: "fail" }), finding("c")];
    const replayed = [finding("a"), finding("b"), finding("d", { status: "not-applicable" })];
    expect(findingDifferences(recorded, replayed)).toEqual([
      { checkId: "b", subject: "x-1.0-py3-none-any.whl", recorded: "fail", replayed: "pass" },
      { checkId: "c", subject: "x-1.0-py3-none-any.whl", recorded: "pass", replayed: "absent" },
      { checkId: "d", subject: "x-1.0-py3-none-any.whl", recorded: "absent", replayed: "not-applicable" },
    ]);
    expect(findingDifferences(recorded, recorded)).toEqual([]);
  });

  it("takes the artifact by sha256: other bytes and a missing subject are artifact_mismatch, an unreadable file artifact_missing; another name is staged under the subject's", () => {
    const subjects = [{ file: "x-1.0-py3-none-any.whl", kind: "wheel" as const, format: "whl" as const, sha256: sha, size: 1, name: "x", version: "1.0" }];
    const stage = path.join(work, "stage");
    expect(matchSubjects([artifact], subjects, "b.tar.gz", stage)).toEqual([artifact]);
    const renamed = path.join(work, "download.bin");
    writeFileSync(renamed, artifactBytes);
    const [staged] = matchSubjects([renamed], subjects, "b.tar.gz", stage);
    expect(staged).toBe(path.join(stage, "x-1.0-py3-none-any.whl"));
    expect(readFileSync(staged!)).toEqual(artifactBytes);
    const other = path.join(work, "other.whl");
    writeFileSync(other, "other bytes");
    const otherSha = createHash("sha256").update("other bytes").digest("hex");
    for (const given of [[other], [artifact, other]]) {
      expect(() => matchSubjects(given, subjects, "b.tar.gz", stage)).toThrow(expect.objectContaining({ code: "artifact_mismatch", message: expect.stringContaining(`--artifact ${other} (sha256 ${otherSha}) is not what b.tar.gz certifies: x-1.0-py3-none-any.whl (sha256 ${sha})`) }));
    }
    expect(() => matchSubjects([], subjects, "b.tar.gz", stage)).toThrow(expect.objectContaining({ code: "artifact_mismatch", message: expect.stringContaining("missing --artifact for x-1.0-py3-none-any.whl") }));
    expect(() => matchSubjects([path.join(work, "nope.whl")], subjects, "b.tar.gz", stage)).toThrow(expect.objectContaining({ code: "artifact_missing" }));
  });

  it("replays the cell alone with the bundle's artifact; the same verdict is exit 0, another exit 1 with the findings that differ", async () => {
    const bundle = certificationBundle("not-certified", [finding("wheel.discovery.listed", { status: "fail" }), finding("wheel.install.accepted")]);
    const same = fakeCertify([["NOT_CERTIFIED", [finding("wheel.discovery.listed", { status: "fail" }), finding("wheel.install.accepted")]], ["NOT_CERTIFIED", [finding("wheel.discovery.listed", { status: "fail" }), finding("wheel.install.accepted")]]]);
    const r = await replayCertificationCell({ ...base, bundle, repeat: 2, certify: same.certify });
    expect(r).toMatchObject({ recordedVerdict: "NOT_CERTIFIED", sameVerdict: true, exitCode: 0 });
    expect(r.tries.map((t) => [t.verdict, t.differences])).toEqual([["NOT_CERTIFIED", []], ["NOT_CERTIFIED", []]]);
    expect(same.calls[0]).toMatchObject({ requests: [{ artifacts: [artifact] }], host: "reference", platform: ["linux-x86_64"], python: ["bookworm"] });
    expect(readFileSync(path.join(r.tries[1]!.dir, "command.sh"), "utf8")).toContain("npx distcheck certify ");
    expect(existsSync(path.join(r.dir, "repro.json"))).toBe(true);

    const differ = fakeCertify([["CERTIFIED", [finding("wheel.discovery.listed"), finding("wheel.install.accepted")]]]);
    const d = await replayCertificationCell({ ...base, bundle, certify: differ.certify });
    expect(d).toMatchObject({ recordedVerdict: "NOT_CERTIFIED", sameVerdict: false, exitCode: 1 });
    expect(d.tries[0]!.differences).toEqual([{ checkId: "wheel.discovery.listed", subject: "x-1.0-py3-none-any.whl", recorded: "fail", replayed: "pass" }]);
    expect(certificationReplayText(d)).toMatch(/wheel\.discovery\.listed \[x-1\.0-py3-none-any\.whl\]: fail in the bundle, pass now[\s\S]*a DIFFERENT verdict/);

    // The bundle is NOT_CERTIFIED for a failure on another cell: this cell's own verdict is CERTIFIED.
    const mixed = certificationBundle("mixed", [finding("wheel.discovery.listed")], [finding("wheel.discovery.listed", { cell: OTHER, status: "fail" })]);
    const passing = fakeCertify([["CERTIFIED", [finding("wheel.discovery.listed")]]]);
    expect(await replayCertificationCell({ ...base, bundle: mixed, certify: passing.certify })).toMatchObject({ recordedVerdict: "CERTIFIED", sameVerdict: true, exitCode: 0 });
  });

  it("refuses before anything runs: a bundle that does not verify, a cell it lacks, the static cell, a wrong artifact; INCOMPLETE now is certification_incomplete", async () => {
    const bundle = certificationBundle("certified", [finding("wheel.discovery.listed")]);
    const never = fakeCertify([]);
    const tampered = path.join(work, "tampered.tar.gz");
    const bytes = readFileSync(bundle);
    bytes.writeUInt8(bytes[bytes.length - 20]! ^ 0xff, bytes.length - 20);
    writeFileSync(tampered, bytes);
    await expect(replayCertificationCell({ ...base, bundle: tampered, certify: never.certify })).rejects.toMatchObject({ code: "bundle_invalid" });
    await expect(replayCertificationCell({ ...base, bundle, cell: "linux-aarch64.trixie.reference", certify: never.certify })).rejects.toMatchObject({ code: "cell_not_found", message: expect.stringContaining(`its cells: ${CELL}`) });
    await expect(replayCertificationCell({ ...base, bundle, cell: "static", certify: never.certify })).rejects.toMatchObject({ code: "cell_not_found" });
    const other = path.join(work, "other-1.0-py3-none-any.whl");
    writeFileSync(other, "other bytes");
    await expect(replayCertificationCell({ ...base, bundle, artifacts: [other], certify: never.certify })).rejects.toMatchObject({ code: "artifact_mismatch" });
    expect(never.calls).toEqual([]);
    const incomplete = fakeCertify([["INCOMPLETE", []]]);
    await expect(replayCertificationCell({ ...base, bundle, certify: incomplete.certify })).rejects.toMatchObject({ code: "certification_incomplete" });
  });
});

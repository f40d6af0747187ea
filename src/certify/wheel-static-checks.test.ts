import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { WheelDeclaration } from "../fixtures/declarations/fixture-declaration.ts";
import { writeZip } from "../fixtures/encoding/zip-writer.ts";
import type { Finding } from "./certification-document.ts";
import { sampleWheel, failedChecks, staticCertification, tamperZipMember, wheelDeclaration, zipMembers } from "./test-artifact-builder.ts";
import { WHEEL_CHECKS } from "./wheel-static-checks.ts";

/**
 * Wheels built with the project's own wheel builder from the fixture declarations: a good one passes
 * every check, and each defect class fails exactly the check that predicts it.
 */

const certify = staticCertification();

async function certifyWheel(d: WheelDeclaration): Promise<{ verdict: string; findings: Finding[] }> {
  const { fileName, bytes } = sampleWheel(d);
  return certify(fileName, bytes);
}


describe("static checks of a wheel", () => {
  it("pass every check on a good wheel (frontend, bounded core range) and report each check exactly once", async () => {
    const d = await wheelDeclaration("frontend-present", (w) => {
      w.manifest!.requires_core_version = ">=1.0,<2";
    });
    const { fileName, bytes } = sampleWheel(d);
    const doc = await certify(fileName, bytes);
    expect(failedChecks(doc.findings)).toEqual([]);
    expect(doc.findings.filter((f) => f.status === "not-applicable").map((f) => f.checkId)).toEqual(["wheel.manifest.requires-extensions-invalid"]);
    expect(doc.findings.map((f) => f.checkId).sort()).toEqual(Object.values(WHEEL_CHECKS).map((c) => c.checkId).sort());
    expect(doc.verdict).toBe("CERTIFIED");
  });

  it("fail wheel.record.hash-mismatch when a member's bytes change after RECORD was written", async () => {
    const d = await wheelDeclaration("ok-basic");
    const { fileName, bytes } = sampleWheel(d);
    const tampered = tamperZipMember(bytes, "distcheck_sample_ok_basic/plugin.py", (c) => Buffer.concat([c, Buffer.from("\n# changed after RECORD\n")]));
    const doc = await certify(fileName, tampered);
    expect(failedChecks(doc.findings)).toEqual(["wheel.manifest.core-range-absent", "wheel.record.hash-mismatch"]);
    const finding = doc.findings.find((f) => f.checkId === "wheel.record.hash-mismatch")!;
    expect(finding).toMatchObject({ clause: "WHL-01", cell: "static", severity: "error", subject: fileName });
    expect(finding.detail).toContain("distcheck_sample_ok_basic/plugin.py");
    expect(doc.verdict).toBe("NOT_CERTIFIED");
  });

  it("fail wheel.record.incomplete when a member is not listed in RECORD", async () => {
    const { fileName, bytes } = sampleWheel(await wheelDeclaration("ok-basic"));
    const members = zipMembers(bytes);
    const extra = writeZip([...members, { name: "distcheck_sample_ok_basic/unlisted.py", content: Buffer.from("x = 1\n") }].map((m) => ({ name: m.name, content: m.content })));
    expect(failedChecks((await certify(fileName, extra)).findings)).toContain("wheel.record.incomplete");
  });

  it("fail wheel.entry-point.missing when the wheel has no entry point in the host's group", async () => {
    const { fileName, bytes } = sampleWheel(await wheelDeclaration("ok-basic"), "other.extensions");
    const doc = await certify(fileName, bytes);
    expect(failedChecks(doc.findings)).toEqual(["wheel.entry-point.missing"]);
    expect(doc.findings.find((f) => f.checkId === "wheel.entry-point.missing")!.evidence).toMatchObject({ group: "distcheck.extensions", groups: ["other.extensions"] });
    // What depends on an entry point is not-applicable, not silently missing.
    expect(doc.findings.find((f) => f.checkId === "wheel.manifest.missing")!.status).toBe("not-applicable");
  });

  it("fail wheel.entry-point.target-missing when the entry point's module is not in the wheel", async () => {
    const { fileName, bytes } = sampleWheel(await wheelDeclaration("ok-basic"));
    const info = "distcheck_sample_ok_basic-1.0.0.dist-info";
    const members = zipMembers(bytes).filter((m) => m.name !== "distcheck_sample_ok_basic/plugin.py");
    // RECORD is rewritten without the module, so only the entry point check can see the hole.
    const record = members.find((m) => m.name === `${info}/RECORD`)!;
    record.content = Buffer.from(record.content.toString().split("\n").filter((l) => !l.startsWith("distcheck_sample_ok_basic/plugin.py,")).join("\n"));
    const doc = await certify(fileName, writeZip(members.map((m) => ({ name: m.name, content: m.content }))));
    expect(failedChecks(doc.findings)).toEqual(["wheel.entry-point.target-missing", "wheel.manifest.core-range-absent"]);
  });

  it("fail wheel.manifest.missing when the package has no extension.json", async () => {
    const doc = await certifyWheel(await wheelDeclaration("no-manifest"));
    expect(failedChecks(doc.findings)).toEqual(["wheel.manifest.missing"]);
    expect(doc.findings.find((f) => f.checkId === "wheel.manifest.missing")!.clause).toBe("WHL-05");
  });

  it("fail wheel.manifest.invalid when extension.json has no id, and when it is not JSON", async () => {
    for (const name of ["manifest-missing-id", "manifest-invalid-json"]) {
      const doc = await certifyWheel(await wheelDeclaration(name));
      expect(failedChecks(doc.findings), name).toEqual(["wheel.manifest.invalid"]);
      expect(doc.verdict).toBe("NOT_CERTIFIED");
    }
  });

  it("fail wheel.manifest.core-range-invalid when requires_core_version is not PEP 440", async () => {
    const doc = await certifyWheel(await wheelDeclaration("compat-invalid-specifier"));
    expect(failedChecks(doc.findings)).toEqual(["wheel.manifest.core-range-invalid"]);
    expect(doc.findings.find((f) => f.checkId === "wheel.manifest.core-range-invalid")).toMatchObject({ clause: "WHL-10", evidence: expect.objectContaining({ requiresCoreVersion: "=>1.0" }) });
  });

  it("fail wheel.frontend.remote-entry-missing when the declared remote entry is not under static/", async () => {
    const doc = await certifyWheel(await wheelDeclaration("frontend-missing"));
    expect(failedChecks(doc.findings)).toEqual(["wheel.frontend.remote-entry-missing", "wheel.manifest.core-range-absent"]);
  });

  it("warn, without refusing, for what the Toposync guide advises against", async () => {
    const d = await wheelDeclaration("frontend-present", (w) => {
      w.manifest!.requires_core_version = ">=0.7";
      w.manifest!.version = "0.9.0";
    });
    const { fileName, bytes } = sampleWheel(d);
    const absolute = tamperZipMember(bytes, "distcheck_sample_frontend_present/static/remoteEntry.js", (c) => Buffer.concat([c, Buffer.from('__webpack_require__.p="/";var css="/assets/main.css";\n')]));
    // The RECORD row of the remote entry now mismatches too; rebuild it so only the warnings remain.
    const doc = await certify(fileName, rerecord(absolute));
    expect(failedChecks(doc.findings)).toEqual(["wheel.frontend.absolute-asset-path", "wheel.manifest.core-range-unbounded", "wheel.manifest.version-differs"]);
    expect(doc.findings.filter((f) => f.status === "fail").every((f) => f.severity === "warning")).toBe(true);
    expect(doc.verdict).toBe("CERTIFIED_WITH_WARNINGS");

    const plain = await certifyWheel(await wheelDeclaration("ok-basic"));
    expect(failedChecks(plain.findings)).toEqual(["wheel.manifest.core-range-absent"]);
  });

  it("make a wheel that is not a readable zip, or has no .dist-info, an INVALID_ARTIFACT", async () => {
    const { fileName, bytes } = sampleWheel(await wheelDeclaration("ok-basic"));
    const truncated = await certify(fileName, bytes.subarray(0, bytes.length - 30));
    expect(failedChecks(truncated.findings)).toEqual(["wheel.zip.unreadable"]);
    expect(truncated.verdict).toBe("INVALID_ARTIFACT");

    const noDistInfo = writeZip(zipMembers(bytes).filter((m) => !m.name.includes(".dist-info/")).map((m) => ({ name: m.name, content: m.content })));
    const doc = await certify(fileName, noDistInfo);
    expect(failedChecks(doc.findings)).toEqual(["wheel.dist-info.not-single"]);
    expect(doc.verdict).toBe("INVALID_ARTIFACT");
  });

  it("refuse member names that would install outside the target", async () => {
    const { fileName, bytes } = sampleWheel(await wheelDeclaration("ok-basic"));
    const evil = writeZip([...zipMembers(bytes), { name: "../escape.py", content: Buffer.from("") }].map((m) => ({ name: m.name, content: m.content })));
    expect(failedChecks((await certify(fileName, evil)).findings)).toContain("wheel.member.unsafe-name");
  });
});

/** Recomputes RECORD for the current members (a wheel an author rebuilt after editing it). */
function rerecord(bytes: Buffer): Buffer {
  const members = zipMembers(bytes);
  const record = members.find((m) => m.name.endsWith(".dist-info/RECORD"))!;
  record.content = Buffer.from(
    members.map((m) => (m === record ? `${m.name},,` : `${m.name},sha256=${createHash("sha256").update(m.content).digest("base64url")},${m.content.length}`)).join("\n") + "\n",
  );
  return writeZip(members.map((m) => ({ name: m.name, content: m.content })));
}

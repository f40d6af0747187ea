import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../cli/main.ts";
import { certificationJunit } from "./certify-run.ts";
import type { CertificationDocument } from "./certification-document.ts";
import { archiveDeclaration, sampleTarGz, scratch } from "./test-artifact-builder.ts";

// distcheck certify's bad input, before any container: each is refused with a stable code and exit
// code, and nothing is written to --out.

let dir: Awaited<ReturnType<typeof scratch>>;
beforeAll(async () => {
  dir = await scratch();
});
afterAll(async () => {
  await dir.dispose();
});

async function certify(...args: string[]): Promise<{ code: number; stderr: string; out: string }> {
  const out = path.join(dir.dir, `out-${Math.random().toString(36).slice(2)}`);
  const writes: string[] = [];
  const original = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    writes.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  process.exitCode = undefined;
  try {
    const code = await main(["certify", ...args, "--out", out]);
    return { code, stderr: writes.join(""), out };
  } finally {
    process.stderr.write = original;
    process.exitCode = undefined;
  }
}

describe("distcheck certify: bad input", () => {
  it("a missing file: exit 3, artifact_unreadable or artifact_missing, nothing written", async () => {
    const r = await certify(path.join(dir.dir, "nope-1.0.0-py3-none-any.whl"));
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/\[artifact_(missing|unreadable)\]/);
    expect(existsSync(r.out)).toBe(false);
  });

  it("a file that is neither wheel nor archive: exit 3, artifact_unrecognised", async () => {
    const r = await certify(await dir.file("notes.txt", "hello"));
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("[artifact_unrecognised]");
    expect(existsSync(r.out)).toBe(false);
  });

  it("an unreadable signing key: exit 2, key_unreadable, before the artifact is read", async () => {
    const archive = await dir.file("arc-basic-1.0.0.tar.gz", sampleTarGz(await archiveDeclaration("arc-basic")));
    const r = await certify(archive, "--sign-key", path.join(dir.dir, "missing.pem"));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\[key_unreadable\]/);
    expect(existsSync(r.out)).toBe(false);
  });

  it("a key that is not ed25519: exit 2, key_not_ed25519", async () => {
    const archive = await dir.file("arc-basic-1.0.0.tar.gz", sampleTarGz(await archiveDeclaration("arc-basic")));
    const r = await certify(archive, "--sign-key", await dir.file("bad.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\[key_(not_ed25519|unreadable)\]/);
  });

  it("a host that cannot run this kind of artifact: exit 2, host_cannot_run_artifact", async () => {
    const archive = await dir.file("arc-basic-1.0.0.tar.gz", sampleTarGz(await archiveDeclaration("arc-basic")));
    const r = await certify(archive, "--host", "toposync");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("[host_cannot_run_artifact]");
    expect(r.stderr).toContain("ARC");
    expect(existsSync(r.out)).toBe(false);
  });
});

describe("certificationJunit", () => {
  it("one testsuite per cell; errors fail, harness errors are errors, not-applicable is skipped, warnings pass with output", () => {
    const f = (checkId: string, cell: string, severity: "error" | "warning", status: "pass" | "fail" | "not-applicable" | "harness-error") => ({ checkId, clause: "WHL-01", cell, subject: "a.whl", severity, status, title: "t", detail: `d <${checkId}>`, evidence: {}, reproduce: "r" });
    const doc = {
      subjects: [{ file: "a.whl" }],
      verdict: "NOT_CERTIFIED",
      findings: [f("x.error", "static", "error", "fail"), f("x.warn", "static", "warning", "fail"), f("x.pass", "c1", "error", "pass"), f("x.na", "c1", "error", "not-applicable"), f("x.harness", "c1", "error", "harness-error")],
    } as unknown as CertificationDocument;
    const xml = certificationJunit(doc);
    expect(xml).toContain('<testsuite name="static" tests="2" failures="1" errors="0" skipped="0">');
    expect(xml).toContain('<testsuite name="c1" tests="3" failures="0" errors="1" skipped="1">');
    expect(xml).toContain('<failure message="d &lt;x.error&gt;" type="x.error"/>');
    expect(xml).toContain("<system-out>warning: d &lt;x.warn&gt;</system-out>");
  });
});

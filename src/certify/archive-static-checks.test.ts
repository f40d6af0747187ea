import { describe, expect, it } from "vitest";
import { stringify as stringifyToml } from "smol-toml";
import { renderArchiveExtension } from "../fixtures/archives/archive-extension-renderer.ts";
import { benignTarEntries, benignZipEntries, packTarGz, packZip } from "../fixtures/archives/archive-packer.ts";
import { gzip } from "../fixtures/encoding/gzip-writer.ts";
import { BufferSink, TarWriter } from "../fixtures/encoding/tar-writer.ts";
import { ARCHIVE_CHECKS } from "./archive-static-checks.ts";
import type { Finding } from "./certification-document.ts";
import { archiveDeclaration, sampleTarGz, sampleZip, failedChecks, staticCertification } from "./test-artifact-builder.ts";

/** Archives rendered and packed by the project's own fixture code, read back by the static checks. */

const certify = staticCertification();
const finding = (findings: Finding[], checkId: string): Finding => findings.find((f) => f.checkId === checkId)!;

describe("static checks of an archive", () => {
  it("pass every check on a good archive, as .tar.gz, .tgz and .zip, and report every check", async () => {
    const d = await archiveDeclaration("arc-basic");
    for (const [name, bytes] of [["arc-basic-1.0.0.tar.gz", sampleTarGz(d)], ["arc-basic-1.0.0.tgz", sampleTarGz(d)], ["arc-basic-1.0.0.zip", sampleZip(d)]] as const) {
      const doc = await certify(name, bytes);
      expect(failedChecks(doc.findings), name).toEqual([]);
      expect(doc.verdict).toBe("CERTIFIED");
      const ids = new Set(doc.findings.map((f) => f.checkId));
      for (const spec of Object.values(ARCHIVE_CHECKS)) expect(ids, spec.checkId).toContain(spec.checkId);
    }
  });

  it("report each ARC-10 default the manifest relies on as info, and the platform of the file name", async () => {
    const doc = await certify("arc-legacy-runtime-1.0.0-linux-aarch64.tar.gz", sampleTarGz(await archiveDeclaration("arc-legacy-runtime")));
    const relied = doc.findings.filter((f) => f.checkId.startsWith("archive.default.") && f.status === "pass").map((f) => f.checkId).sort();
    expect(relied).toEqual(["archive.default.categories", "archive.default.env", "archive.default.grace-seconds", "archive.default.host-range", "archive.default.keywords", "archive.default.targets", "archive.default.workdir"]);
    expect(finding(doc.findings, "archive.default.host-range").evidence).toMatchObject({ default: ">=25.0.20" });
    expect(finding(doc.findings, "archive.default.python-version").status).toBe("not-applicable");
    expect(finding(doc.findings, "archive.default.config-schema").detail).toBe("no [config] section");
    expect(finding(doc.findings, "archive.platform.detected")).toMatchObject({ clause: "ARC-12", severity: "info", evidence: { platform: "linux-aarch64" } });
    expect(doc.verdict).toBe("CERTIFIED");
  });

  it("fail archive.entry.unsafe-type for a symbolic link, naming the ARC-04 reason", async () => {
    const bytes = sampleTarGz(await archiveDeclaration("arc-basic"), { extra: [{ name: "passwd-link", type: "symlink", linkName: "/etc/passwd" }] });
    const doc = await certify("hostile-1.0.0.tar.gz", bytes);
    expect(failedChecks(doc.findings)).toEqual(["archive.entry.unsafe-type"]);
    expect(finding(doc.findings, "archive.entry.unsafe-type").evidence.entries).toEqual([{ entry: "passwd-link", reason: "symlink", detail: 'it is a symbolic link to "/etc/passwd"' }]);
    expect(doc.verdict).toBe("NOT_CERTIFIED");
  });

  it("fail archive.entry.unsafe-name for '..', absolute, hidden and backslash names", async () => {
    const extra = ["data/../../escape.txt", "/tmp/absolute.txt", ".env", "data\\evil.txt"].map((name) => ({ name, type: "file" as const, content: Buffer.from("x") }));
    const doc = await certify("hostile-1.0.0.tar.gz", sampleTarGz(await archiveDeclaration("arc-basic"), { extra }));
    expect(failedChecks(doc.findings)).toEqual(["archive.entry.unsafe-name"]);
    expect((finding(doc.findings, "archive.entry.unsafe-name").evidence.entries as Array<{ reason: string }>).map((e) => e.reason)).toEqual(["parent_segment", "absolute", "hidden", "backslash"]);
  });

  it("fail archive.manifest.not-at-root for an archive wrapped in a folder, naming the folder", async () => {
    const doc = await certify("wrapped-1.0.0.tar.gz", sampleTarGz(await archiveDeclaration("arc-basic"), { prefix: "arc-basic/" }));
    expect(failedChecks(doc.findings)).toEqual(["archive.manifest.not-at-root"]);
    expect(finding(doc.findings, "archive.manifest.not-at-root").detail).toContain("wrapped in the folder arc-basic/");
    expect(finding(doc.findings, "archive.manifest.version-invalid").status).toBe("not-applicable");
  });

  it("fail the ARC-09 check each invalid manifest breaks", async () => {
    const cases: Array<[string, string]> = [
      ["arc-manifest-bad-version", "archive.manifest.version-invalid"],
      ["arc-manifest-empty-name", "archive.manifest.name-invalid"],
      ["arc-manifest-no-host", "archive.manifest.host-invalid"],
      ["arc-manifest-too-many-keywords", "archive.manifest.keywords-invalid"],
      ["arc-manifest-empty-category", "archive.manifest.categories-invalid"],
      ["arc-grace-out-of-range", "archive.manifest.grace-out-of-range"],
    ];
    for (const [name, checkId] of cases) {
      const doc = await certify(`${name}.tar.gz`, sampleTarGz(await archiveDeclaration(name)));
      expect(failedChecks(doc.findings), name).toEqual([checkId]);
    }
  });

  it("read the host range from [zelos] version, as real Zelos manifests write it, and refuse one that is not an npm range", async () => {
    const d = await archiveDeclaration("arc-legacy-runtime");
    const pack = (zelos: string): Buffer => {
      const files = renderArchiveExtension(d, "").map((f) => (f.path === "extension.toml" ? { ...f, content: Buffer.from(stringifyToml({ ...d.manifest, zelos: { version: zelos } })) } : f));
      return packTarGz(benignTarEntries(files));
    };
    const ok = await certify("zelos-ok.tar.gz", pack(">=25.0.22-0"));
    expect(failedChecks(ok.findings)).toEqual([]);
    expect(finding(ok.findings, "archive.default.host-range").status).toBe("not-applicable");
    const bad = await certify("zelos-bad.tar.gz", pack("not a range"));
    expect(failedChecks(bad.findings)).toEqual(["archive.manifest.host-range-invalid"]);
  });

  it("fail archive.limits.too-many-files above 10,000 files, from the zip directory alone", async () => {
    const files = renderArchiveExtension(await archiveDeclaration("arc-basic"), "");
    const filler = Array.from({ length: 10_001 - files.length }, (_, i) => ({ path: `data/f${i}.txt`, content: Buffer.alloc(0) }));
    const doc = await certify("many-1.0.0.zip", packZip(benignZipEntries([...files, ...filler])));
    expect(failedChecks(doc.findings)).toEqual(["archive.limits.too-many-files"]);
    expect(finding(doc.findings, "archive.limits.too-many-files").evidence).toMatchObject({ files: 10_001, limit: 10_000 });
  });

  it("fail archive.limits.too-large from a header declaring more than 2 GiB, without reading its content", async () => {
    // A tar whose last header declares 3 GiB and whose content is absent: only a header-level read survives it.
    const sink = new BufferSink();
    const tar = new TarWriter(sink);
    for (const entry of benignTarEntries(renderArchiveExtension(await archiveDeclaration("arc-basic"), ""))) tar.add(entry);
    const headerAt = sink.toBuffer().length;
    tar.add({ name: "data/bomb.bin", type: "file", content: Buffer.alloc(0) });
    const bytes = sink.toBuffer();
    const header = bytes.subarray(headerAt, headerAt + 512);
    header.write(`${(3 * 2 ** 30).toString(8).padStart(11, "0")}\0`, 124, "latin1");
    header.fill(0x20, 148, 156);
    const sum = header.reduce((a, b) => a + b, 0);
    header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
    const doc = await certify("bomb-1.0.0.tar.gz", gzip(bytes));
    expect(failedChecks(doc.findings)).toEqual(["archive.limits.too-large"]);
    const evidence = finding(doc.findings, "archive.limits.too-large").evidence;
    expect(evidence).toMatchObject({ limit: 2 * 2 ** 30, stopped: true });
    expect(evidence.bytes).toBeGreaterThan(3 * 2 ** 30);
  });

  it("make an archive whose headers cannot be read an INVALID_ARTIFACT", async () => {
    const bytes = sampleTarGz(await archiveDeclaration("arc-basic"));
    const doc = await certify("truncated.tar.gz", bytes.subarray(0, Math.floor(bytes.length / 2)));
    expect(failedChecks(doc.findings)).toEqual(["archive.unreadable"]);
    expect(doc.verdict).toBe("INVALID_ARTIFACT");
    // A valid gzip stream of something that is not a tar: its "headers" fail their checksums.
    const notTar = await certify("text.tar.gz", gzip(Buffer.from("hello world ".repeat(500))));
    expect(failedChecks(notTar.findings)).toEqual(["archive.unreadable"]);
    expect(notTar.verdict).toBe("INVALID_ARTIFACT");
  });
});

import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gzip } from "../fixtures/encoding/gzip-writer.ts";
import { BufferSink, TarWriter } from "../fixtures/encoding/tar-writer.ts";
import { readTarHeaders } from "../fixtures/inspect/tar-header-reader.ts";
import { BUNDLE } from "./bundle-layout.ts";
import { readBundle } from "./bundle-reader.ts";
import { verifyBundle } from "./bundle-verifier.ts";
import { buildBundle, cellResultsOf, packBundle, sealBundle, writeBundle } from "./bundle-writer.ts";
import { deriveVerdict, type CertificationDocument, type Finding } from "./certification-document.ts";
import { loadPrivateKey } from "./dsse-signer.ts";
import { certifyStatic } from "./static-certifier.ts";
import { ed25519Pem, HOST, sampleWheel, scratch, wheelDeclaration } from "./test-artifact-builder.ts";

/**
 * The signed bundle: verify passes on an untouched bundle and fails, with the code naming what
 * broke, when any file's bytes, the signature, the file set or the key change.
 */

const TOOL = { name: "distcheck", version: "0.0.0-test", commit: "test" };
const NOW = (): Date => new Date("2025-06-01T12:00:00.000Z");
let dir: Awaited<ReturnType<typeof scratch>>;
let doc: CertificationDocument;
let keys: ReturnType<typeof ed25519Pem>;
let bundle: Buffer;

beforeAll(async () => {
  dir = await scratch();
  const { fileName, bytes } = sampleWheel(await wheelDeclaration("ok-basic"));
  doc = await certifyStatic([await dir.file(fileName, bytes)], { host: HOST, tool: TOOL, now: NOW });
  keys = ed25519Pem();
  bundle = buildBundle(doc, cellResultsOf(doc), { host: { id: HOST.id } }, keys.privatePem).bytes;
});
afterAll(async () => {
  await dir.dispose();
});

/** Rebuilds the bundle's tar.gz from its files after `change`, with the same deterministic packer. */
function rebuilt(change: (files: Map<string, Buffer>) => void): Buffer {
  const files = readBundle(bundle);
  change(files);
  return packBundle(files);
}

function flipMiddleByte(content: Buffer): Buffer {
  const copy = Buffer.from(content);
  copy[Math.floor(copy.length / 2)]! ^= 0x01;
  return copy;
}

const verifyCode = (bytes: Buffer, publicPem = keys.publicPem): string | undefined => {
  try {
    verifyBundle(bytes, publicPem);
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
};

describe("certification bundle", () => {
  it("holds the issue's files, sorted, as regular 0644 files with mtime 0, and is byte-for-byte reproducible", () => {
    const headers = readTarHeaders(gunzipSync(bundle));
    const names = headers.map((h) => h.name.toString());
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(["REPRODUCE.md", "SHA256SUMS", "attestation.dsse.json", "cells/static/results.json", "certification.json", "certification.md", "meta/run.json"]);
    expect(headers.every((h) => h.typeflag === "0" && h.mode === 0o644)).toBe(true);
    // mtime field (offset 136) is all zero digits in every header.
    const tar = gunzipSync(bundle);
    expect(headers.every((h) => /^0+$/.test(tar.subarray(h.offset + 136, h.offset + 147).toString("latin1")))).toBe(true);
    expect(buildBundle(doc, cellResultsOf(doc), { host: { id: HOST.id } }, keys.privatePem).bytes.equals(bundle)).toBe(true);
  });

  it("signs an in-toto test-result statement whose subjects are the artifact's and SHA256SUMS' digests", () => {
    const envelope = JSON.parse(readBundle(bundle).get(BUNDLE.attestation)!.toString()) as { payloadType: string; payload: string };
    expect(envelope.payloadType).toBe("application/vnd.in-toto+json");
    const statement = JSON.parse(Buffer.from(envelope.payload, "base64").toString());
    expect(statement._type).toBe("https://in-toto.io/Statement/v1");
    expect(statement.predicateType).toBe("https://in-toto.io/attestation/test-result/v0.1");
    expect(statement.subject).toEqual([
      { name: doc.subjects[0]!.file, digest: { sha256: doc.subjects[0]!.sha256 } },
      { name: "SHA256SUMS", digest: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/) } },
    ]);
    expect(statement.predicate.result).toBe("WARNED"); // ok-basic has no requires_core_version
    expect(statement.predicate.warnedTests).toEqual([`${doc.subjects[0]!.file}:static:wheel.manifest.core-range-absent`]);
  });

  it("verifies untouched", () => {
    expect(verifyBundle(bundle, keys.publicPem)).toMatchObject({ verdict: "CERTIFIED_WITH_WARNINGS", subjects: [{ name: doc.subjects[0]!.file }] });
  });

  it("fails when any byte of any file changes, with the code naming what broke", () => {
    const expected: Record<string, string> = {
      [BUNDLE.attestation]: "signature_invalid",
      [BUNDLE.sums]: "subject_digest_mismatch",
      [BUNDLE.document]: "file_digest_mismatch",
      [BUNDLE.markdown]: "file_digest_mismatch",
      [BUNDLE.run]: "file_digest_mismatch",
      [BUNDLE.reproduce]: "file_digest_mismatch",
      "cells/static/results.json": "file_digest_mismatch",
    };
    expect(Object.keys(expected).sort()).toEqual([...readBundle(bundle).keys()].sort());
    for (const [name, code] of Object.entries(expected)) {
      expect(verifyCode(rebuilt((files) => files.set(name, flipMiddleByte(files.get(name)!)))), name).toBe(code);
    }
    // A re-spaced envelope parses to the same JSON but is not the signed file.
    expect(verifyCode(rebuilt((files) => files.set(BUNDLE.attestation, Buffer.from(files.get(BUNDLE.attestation)!.toString().replace('"payloadType": ', '"payloadType":  ')))))).toBe("signature_invalid");
  });

  it("names the file whose digest broke", () => {
    expect(() => verifyBundle(rebuilt((files) => files.set(BUNDLE.run, flipMiddleByte(files.get(BUNDLE.run)!))), keys.publicPem)).toThrow(expect.objectContaining({ code: "file_digest_mismatch", file: "meta/run.json" }));
  });

  it("fails when one byte of the signature changes", () => {
    const tampered = rebuilt((files) => {
      const envelope = JSON.parse(files.get(BUNDLE.attestation)!.toString()) as { signatures: Array<{ sig: string }> };
      const sig = Buffer.from(envelope.signatures[0]!.sig, "base64");
      sig[10]! ^= 0x01;
      envelope.signatures[0]!.sig = sig.toString("base64");
      files.set(BUNDLE.attestation, Buffer.from(`${JSON.stringify(envelope, null, 2)}\n`));
    });
    expect(verifyCode(tampered)).toBe("signature_invalid");
  });

  it("fails when a file is added (file_unlisted) or removed (file_missing)", () => {
    expect(verifyCode(rebuilt((files) => files.set("cells/static/extra.log", Buffer.from("added\n"))))).toBe("file_unlisted");
    for (const name of [BUNDLE.markdown, "cells/static/results.json", BUNDLE.attestation, BUNDLE.sums]) {
      expect(verifyCode(rebuilt((files) => files.delete(name))), name).toBe("file_missing");
    }
  });

  it("fails with another key (key_mismatch)", () => {
    expect(verifyCode(bundle, ed25519Pem().publicPem)).toBe("key_mismatch");
  });

  it("fails when the signer signed a verdict its cells do not give (verdict_mismatch)", () => {
    const key = loadPrivateKey(keys.privatePem);
    const lying: CertificationDocument = { ...doc, verdict: "CERTIFIED" };
    const resealed = packBundle(sealBundle(new Map([...readBundle(bundle)].map(([n, c]) => [n, n === BUNDLE.document ? Buffer.from(`${JSON.stringify(lying, null, 2)}\n`) : c])), lying, key));
    expect(verifyCode(resealed)).toBe("verdict_mismatch");
  });

  it("fails when the signed artifact digest is not the document's (subject_digest_mismatch)", () => {
    const key = loadPrivateKey(keys.privatePem);
    const other = [{ ...doc.subjects[0]!, sha256: "0".repeat(64) }];
    expect(verifyCode(packBundle(sealBundle(readBundle(bundle), doc, key, other)))).toBe("subject_digest_mismatch");
  });

  it("is read in memory and refuses entries that are not regular files or have unsafe names (bundle_unreadable)", () => {
    const pack = (entry: Parameters<TarWriter["add"]>[0]): Buffer => {
      const sink = new BufferSink();
      const tar = new TarWriter(sink);
      tar.add(entry);
      tar.end();
      return gzip(sink.toBuffer());
    };
    expect(verifyCode(pack({ name: "SHA256SUMS", type: "symlink", linkName: "/etc/passwd" }))).toBe("bundle_unreadable");
    expect(verifyCode(pack({ name: "../SHA256SUMS", type: "file", content: Buffer.from("x") }))).toBe("bundle_unreadable");
    expect(verifyCode(Buffer.from("not a bundle"))).toBe("bundle_unreadable");
  });

  it("carries dynamic cells and their logs beside the static one, and verifies them", () => {
    const cell = "linux-x86_64.trixie.reference";
    const dynamic: Finding = { ...doc.findings[0]!, checkId: "wheel.install.offline", cell, status: "pass", severity: "error", title: "pip installs offline", detail: "installed", evidence: {} };
    const findings = [...doc.findings, dynamic];
    const full: CertificationDocument = { ...doc, matrix: { declared: [cell], executed: [cell] }, findings, verdict: deriveVerdict(findings, [cell], [cell]) };
    const cells = cellResultsOf(full).map((c) => (c.cell === cell ? { ...c, logs: { "pip.log": "Successfully installed\n" } } : c));
    const built = buildBundle(full, cells, { host: { id: HOST.id, version: "1.0.0" }, images: { [cell]: { id: "sha256:abc" } } }, keys.privatePem);
    expect(built.files).toContain(`cells/${cell}/logs/pip.log`);
    expect(verifyBundle(built.bytes, keys.publicPem).verdict).toBe("CERTIFIED_WITH_WARNINGS");
    expect(verifyCode(packBundle(new Map([...readBundle(built.bytes)].map(([n, c]) => [n, n.endsWith("pip.log") ? flipMiddleByte(c) : c]))))).toBe("file_digest_mismatch");
  });

  it("refuses to write a bundle whose cells or verdict disagree with the document", () => {
    expect(() => buildBundle(doc, [], { host: { id: HOST.id } }, keys.privatePem)).toThrow(expect.objectContaining({ code: "bundle_inconsistent" }));
    expect(() => buildBundle({ ...doc, verdict: "CERTIFIED" }, cellResultsOf(doc), { host: { id: HOST.id } }, keys.privatePem)).toThrow(expect.objectContaining({ code: "bundle_inconsistent" }));
  });

  it("writes nothing when the signing key is unreadable (key_unreadable) or not ed25519", async () => {
    const out = join(dir.dir, "out-bad-key");
    await expect(writeBundle(doc, cellResultsOf(doc), { host: { id: HOST.id } }, "-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n", join(out, "bundle.tar.gz"))).rejects.toMatchObject({ code: "key_unreadable" });
    await expect(readdir(out)).rejects.toMatchObject({ code: "ENOENT" });
    const good = await writeBundle(doc, cellResultsOf(doc), { host: { id: HOST.id } }, keys.privatePem, join(out, "bundle.tar.gz"));
    expect(await readdir(out)).toEqual(["bundle.tar.gz"]);
    expect((await readFile(good.path)).equals(bundle)).toBe(true);
  });
});

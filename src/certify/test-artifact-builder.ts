import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { renderArchiveExtension } from "../fixtures/archives/archive-extension-renderer.ts";
import { benignTarEntries, benignZipEntries, packTarGz, packZip } from "../fixtures/archives/archive-packer.ts";
import { loadFixtureDeclarations, type LoadedDeclarations } from "../fixtures/declarations/declaration-loader.ts";
import type { ArchiveDeclaration, WheelDeclaration } from "../fixtures/declarations/fixture-declaration.ts";
import type { TarEntry } from "../fixtures/encoding/tar-writer.ts";
import { writeZip } from "../fixtures/encoding/zip-writer.ts";
import { ReferenceHostTemplate } from "../fixtures/templates/reference-host-template.ts";
import { buildWheel } from "../fixtures/wheels/wheel-builder.ts";
import { afterAll, beforeAll } from "vitest";
import type { CertificationDocument, Finding } from "./certification-document.ts";
import { certifyStatic } from "./static-certifier.ts";
import { ZipMemberReader } from "./zip-member-reader.ts";

/**
 * Test support for src/certify: sample wheels and archives built with the project's own fixture
 * writers from the fixture declarations, in a temporary folder, and fresh ed25519 keys. Docker-free.
 */

export const FIXTURES_ROOT = resolve(import.meta.dirname, "..", "..", "fixtures");
export const HOST = { id: "reference", entryPointGroup: "distcheck.extensions" } as const;

let declarations: Promise<LoadedDeclarations> | undefined;

export async function wheelDeclaration(name: string, change: (d: WheelDeclaration) => void = () => {}): Promise<WheelDeclaration> {
  declarations ??= loadFixtureDeclarations(FIXTURES_ROOT);
  const found = (await declarations).wheels.find((w) => w.name === name);
  if (!found) throw new Error(`no wheel declaration ${name}`);
  const copy = structuredClone(found);
  change(copy);
  return copy;
}

export async function archiveDeclaration(name: string): Promise<ArchiveDeclaration> {
  declarations ??= loadFixtureDeclarations(FIXTURES_ROOT);
  const found = (await declarations).archives.find((a) => a.name === name);
  if (!found) throw new Error(`no archive declaration ${name}`);
  return structuredClone(found);
}

/** A temporary folder removed by `dispose()`. */
export async function scratch(): Promise<{ dir: string; file: (name: string, bytes: Uint8Array | string) => Promise<string>; dispose: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "distcheck-certify-"));
  return {
    dir,
    file: async (name, bytes) => {
      const path = join(dir, name);
      await writeFile(path, bytes);
      return path;
    },
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}

/** The tool a test's certification documents name. */
export const TEST_TOOL = { name: "distcheck", version: "0.0.0-test", commit: "test" };

/**
 * Static certification of files written to a scratch folder the suite creates and removes (call at
 * the top of a test file; it registers the beforeAll/afterAll).
 */
export function staticCertification(): (fileName: string, bytes: Buffer) => Promise<CertificationDocument> {
  let dir: Awaited<ReturnType<typeof scratch>>;
  beforeAll(async () => {
    dir = await scratch();
  });
  afterAll(async () => {
    await dir.dispose();
  });
  return async (fileName, bytes) => certifyStatic([await dir.file(fileName, bytes)], { host: HOST, tool: TEST_TOOL });
}

/** The check ids of the findings that failed, sorted. */
export const failedChecks = (findings: Finding[]): string[] => findings.filter((f) => f.status === "fail").map((f) => f.checkId).sort();

/** A sample wheel for the reference host, as `buildWheel` writes it (optionally for another entry point group). */
export function sampleWheel(d: WheelDeclaration, entryPointGroup?: string): { fileName: string; bytes: Buffer } {
  const built = buildWheel(d, new ReferenceHostTemplate(entryPointGroup === undefined ? {} : { entryPointGroup }));
  return { fileName: built.fileName, bytes: built.bytes };
}

/** Every member of a zip, in order, inflated in memory. */
export function zipMembers(bytes: Buffer): Array<{ name: string; content: Buffer }> {
  const reader = new ZipMemberReader(bytes);
  return reader.records.map((r) => ({ name: r.name.toString("utf8"), content: reader.read(r) }));
}

/** Rewrites a zip with one member's bytes changed and everything else (RECORD included) as it was. */
export function tamperZipMember(bytes: Buffer, name: string, change: (content: Buffer) => Buffer): Buffer {
  const members = zipMembers(bytes);
  if (!members.some((m) => m.name === name)) throw new Error(`no member ${name}`);
  return writeZip(members.map((m) => ({ name: m.name, content: m.name === name ? change(m.content) : m.content, mode: 0o100644 })));
}

/** A sample archive (the Zelos layout at the root), with extra tar entries appended or a wrapper folder. */
export function sampleTarGz(d: ArchiveDeclaration, options: { prefix?: string; extra?: TarEntry[] } = {}): Buffer {
  return packTarGz([...benignTarEntries(renderArchiveExtension(d, ""), options.prefix ?? ""), ...(options.extra ?? [])]);
}

export function sampleZip(d: ArchiveDeclaration): Buffer {
  return packZip(benignZipEntries(renderArchiveExtension(d, "")));
}

export function ed25519Pem(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return { privatePem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(), publicPem: publicKey.export({ type: "spki", format: "pem" }).toString() };
}

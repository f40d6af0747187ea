import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../cli/main.ts";
import { readBundle } from "./bundle-reader.ts";
import { cellResultsOf, packBundle, writeBundle } from "./bundle-writer.ts";
import { certifyStatic } from "./static-certifier.ts";
import { ed25519Pem, HOST, sampleWheel, scratch, wheelDeclaration } from "./test-artifact-builder.ts";

/** `distcheck verify` through the CLI entry: exit codes 0 verified, 1 not (with the code), 2 usage or key. */

let dir: Awaited<ReturnType<typeof scratch>>;
let bundlePath: string;
let publicKeyPath: string;

beforeAll(async () => {
  dir = await scratch();
  const { fileName, bytes } = sampleWheel(await wheelDeclaration("compat-range"));
  const doc = await certifyStatic([await dir.file(fileName, bytes)], { host: HOST, tool: { name: "distcheck", version: "0.0.0-test", commit: "test" } });
  const keys = ed25519Pem();
  bundlePath = (await writeBundle(doc, cellResultsOf(doc), { host: { id: HOST.id } }, keys.privatePem, join(dir.dir, "bundle.tar.gz"))).path;
  publicKeyPath = await dir.file("signer.pub.pem", keys.publicPem);
});
afterAll(async () => {
  await dir.dispose();
});
afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
  vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => ((err += String(chunk)), true));
  const code = await main(args);
  vi.restoreAllMocks();
  process.exitCode = undefined;
  return { code, out, err };
}

describe("distcheck verify", () => {
  it("exits 0 on an untouched bundle and prints the verdict", async () => {
    const result = await run(["verify", bundlePath, "--key", publicKeyPath]);
    expect(result.code).toBe(0);
    expect(result.out).toContain("verified:");
    expect(result.out).toContain("CERTIFIED");
    const json = JSON.parse((await run(["verify", bundlePath, "--key", publicKeyPath, "--json"])).out);
    expect(json).toMatchObject({ ok: true, verdict: "CERTIFIED" });
  });

  it("exits 1 and prints the code when the bundle was changed or another key is given", async () => {
    const tampered = await dir.file("tampered.tar.gz", packBundle(new Map([...readBundle(await readFile(bundlePath))].map(([n, c]) => [n, n === "certification.json" ? Buffer.concat([c, Buffer.from(" ")]) : c]))));
    const changed = await run(["verify", tampered, "--key", publicKeyPath]);
    expect(changed.code).toBe(1);
    expect(changed.err).toContain("[file_digest_mismatch]");
    const json = JSON.parse((await run(["verify", tampered, "--key", publicKeyPath, "--json"])).out);
    expect(json).toMatchObject({ ok: false, code: "file_digest_mismatch", file: "certification.json" });
    const otherKey = await dir.file("other.pub.pem", ed25519Pem().publicPem);
    const other = await run(["verify", bundlePath, "--key", otherKey]);
    expect(other.code).toBe(1);
    expect(other.err).toContain("[key_mismatch]");
  });

  it("exits 2 for usage errors and an unreadable key", async () => {
    expect((await run(["verify", bundlePath])).code).toBe(2);
    const missingKey = await run(["verify", bundlePath, "--key", join(dir.dir, "nope.pem")]);
    expect(missingKey.code).toBe(2);
    expect(missingKey.err).toContain("[key_unreadable]");
    const garbage = await run(["verify", bundlePath, "--key", await dir.file("garbage.pem", "garbage")]);
    expect(garbage.code).toBe(2);
    expect(garbage.err).toContain("[key_unreadable]");
    expect((await run(["verify", join(dir.dir, "none.tar.gz"), "--key", publicKeyPath])).err).toContain("[bundle_missing]");
  });
});

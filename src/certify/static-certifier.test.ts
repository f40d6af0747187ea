import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cellResultsOf, writeBundle } from "./bundle-writer.ts";
import { certifyStatic } from "./static-certifier.ts";
import { ed25519Pem, HOST, sampleWheel, scratch, wheelDeclaration } from "./test-artifact-builder.ts";

const TOOL = { name: "distcheck", version: "0.0.0-test", commit: "test" };
let dir: Awaited<ReturnType<typeof scratch>>;
let wheelPath: string;
beforeAll(async () => {
  dir = await scratch();
  const { fileName, bytes } = sampleWheel(await wheelDeclaration("compat-range"));
  wheelPath = await dir.file(fileName, bytes);
});
afterAll(async () => {
  await dir.dispose();
});

/** The certify flow as the command will run it: static checks, then the bundle into --out. */
async function certifyInto(paths: string[], out: string, keyPem = ed25519Pem().privatePem): Promise<void> {
  const doc = await certifyStatic(paths, { host: HOST, tool: TOOL });
  await writeBundle(doc, cellResultsOf(doc), { host: { id: HOST.id } }, keyPem, join(out, "certification.tar.gz"));
}

describe("certifyStatic", () => {
  it("describes the subject, tool, contract and matrix, and certifies a good wheel on its bytes alone", async () => {
    const doc = await certifyStatic([wheelPath], { host: HOST, tool: TOOL, now: () => new Date("2025-01-02T03:04:05Z") });
    expect(doc).toMatchObject({
      schemaVersion: 1,
      tool: TOOL,
      contract: { version: expect.stringMatching(/^\d+\.\d+\.\d+$/), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
      host: { id: "reference", entryPointGroup: "distcheck.extensions" },
      generatedAt: "2025-01-02T03:04:05.000Z",
      subjects: [{ file: "distcheck_sample_compat_range-1.0.0-py3-none-any.whl", kind: "wheel", format: "whl", sha256: expect.stringMatching(/^[0-9a-f]{64}$/), name: "distcheck-sample-compat-range", version: "1.0.0" }],
      matrix: { declared: [], executed: [] },
      verdict: "CERTIFIED",
    });
  });

  it("is INCOMPLETE while declared cells have not run: the dynamic checks fill the executed matrix", async () => {
    const doc = await certifyStatic([wheelPath], { host: HOST, tool: TOOL, cells: ["linux-x86_64.trixie.reference"] });
    expect(doc.matrix).toEqual({ declared: ["linux-x86_64.trixie.reference"], executed: [] });
    expect(doc.verdict).toBe("INCOMPLETE");
  });

  it("names the tool's version and git commit when none is injected", async () => {
    const doc = await certifyStatic([wheelPath], { host: HOST });
    expect(doc.tool.name).toBe("distcheck");
    expect(doc.tool.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(doc.tool.commit).toMatch(/^([0-9a-f]{40}|unknown)$/);
  });

  it("fails with artifact_missing for a missing file and artifact_unrecognised for a file that is neither wheel nor archive, writing nothing", async () => {
    const out = join(dir.dir, "out");
    await expect(certifyInto([join(dir.dir, "nope.whl")], out)).rejects.toMatchObject({ code: "artifact_missing", category: "input" });
    const text = await dir.file("README.txt", "not an artifact\n");
    await expect(certifyInto([wheelPath, text], out)).rejects.toMatchObject({ code: "artifact_unrecognised" });
    // The name must agree with the bytes: a gzip stream named .whl is not a wheel.
    const renamed = await dir.file("fake-1.0-py3-none-any.whl", Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]));
    await expect(certifyInto([renamed], out)).rejects.toMatchObject({ code: "artifact_unrecognised" });
    await expect(certifyInto([dir.dir], out)).rejects.toMatchObject({ code: "artifact_unrecognised" });
    await expect(readdir(out)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("writes nothing to --out when the signing key is unreadable", async () => {
    const out = join(dir.dir, "out-key");
    await expect(certifyInto([wheelPath], out, "not a pem")).rejects.toMatchObject({ code: "key_unreadable" });
    await expect(readdir(out)).rejects.toMatchObject({ code: "ENOENT" });
    await certifyInto([wheelPath], out);
    expect(await readdir(out)).toEqual(["certification.tar.gz"]);
  });

  it("certifies several artifacts in one document, each finding naming its artifact", async () => {
    const { fileName, bytes } = sampleWheel(await wheelDeclaration("no-manifest"));
    const doc = await certifyStatic([wheelPath, await dir.file(fileName, bytes)], { host: HOST, tool: TOOL });
    expect(doc.subjects.map((s) => s.file)).toEqual(["distcheck_sample_compat_range-1.0.0-py3-none-any.whl", fileName]);
    expect(doc.findings.filter((f) => f.status === "fail").map((f) => [f.subject, f.checkId])).toEqual([[fileName, "wheel.manifest.missing"]]);
    expect(doc.verdict).toBe("NOT_CERTIFIED");
  });
});

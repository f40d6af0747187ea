import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { classifyArtifact } from "./artifact-kind.ts";
import { scratch } from "./test-artifact-builder.ts";

let dir: Awaited<ReturnType<typeof scratch>>;
beforeAll(async () => {
  dir = await scratch();
});
afterAll(async () => {
  await dir.dispose();
});

const ZIP = Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0]);
const GZIP = Buffer.from([0x1f, 0x8b, 8, 0]);

describe("classifyArtifact", () => {
  it("takes the kind from the name and requires the bytes to agree", async () => {
    expect(await classifyArtifact(await dir.file("a-1.0-py3-none-any.whl", ZIP))).toMatchObject({ kind: "wheel", format: "whl", size: 6 });
    expect(await classifyArtifact(await dir.file("a-1.0.0.tar.gz", GZIP))).toMatchObject({ kind: "archive", format: "tar.gz" });
    expect(await classifyArtifact(await dir.file("a-1.0.0.TGZ", GZIP))).toMatchObject({ kind: "archive", format: "tar.gz" });
    expect(await classifyArtifact(await dir.file("a-1.0.0.zip", ZIP))).toMatchObject({ kind: "archive", format: "zip" });
    for (const [name, bytes] of [["a.whl", GZIP], ["a.tar.gz", ZIP], ["a.zip", GZIP], ["a.tar", GZIP], ["a.rar", ZIP], ["empty.whl", Buffer.alloc(0)]] as const) {
      await expect(classifyArtifact(await dir.file(name, bytes)), name).rejects.toMatchObject({ code: "artifact_unrecognised" });
    }
  });

  it("reports a missing file as artifact_missing", async () => {
    await expect(classifyArtifact(`${dir.dir}/missing.whl`)).rejects.toMatchObject({ code: "artifact_missing", message: expect.stringContaining("missing.whl does not exist") });
  });
});

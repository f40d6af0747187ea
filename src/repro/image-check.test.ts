import { describe, expect, it } from "vitest";
import type { ContainerEngine, EngineImage } from "../engine/container-engine.ts";
import { checkImages, requireSameImages } from "./image-check.ts";

const engineWith = (images: Record<string, string>): ContainerEngine =>
  ({ endpoint: "unix:///fake.sock", inspectImage: async (tag: string): Promise<EngineImage | undefined> => (images[tag] ? { id: images[tag]!, tags: [tag], labels: {}, sizeBytes: 0 } : undefined) }) as unknown as ContainerEngine;

const target = {
  cell: { id: "linux-x86_64.bookworm.reference", platform: "linux-x86_64" as const, base: "bookworm", host: "reference" },
  suite: "manifest-validation",
  mutant: "arc09-keyword-limit-off-by-one",
  images: { base: "base:1", baseId: "sha256:b1", host: "host:1", hostId: "sha256:h1" },
};
const current = { base: "base:1", host: "host:1" };

describe("repro's image check", () => {
  it("passes when the recorded tags still name the recorded ids and today's recipe gives the same tags", async () => {
    const engine = engineWith({ "base:1": "sha256:b1", "host:1": "sha256:h1" });
    const check = await checkImages(target, engine, current);
    expect(check.findings).toEqual([]);
    expect(await requireSameImages(check, false, engine, current)).toEqual([]);
  });

  it("refuses a recorded image that is gone (image_missing) with the rebuild command", async () => {
    const engine = engineWith({ "base:1": "sha256:b1" });
    const check = await checkImages(target, engine, current);
    await expect(requireSameImages(check, false, engine, current)).rejects.toMatchObject({
      code: "image_missing",
      category: "infrastructure",
      message: expect.stringContaining("npx distcheck run --mutant arc09-keyword-limit-off-by-one --platform linux-x86_64 --python bookworm --host reference --suite manifest-validation"),
    });
    // Allowing a different image does not help when the image the replay needs is not there either.
    await expect(requireSameImages(check, true, engine, current)).rejects.toMatchObject({ code: "image_missing" });
  });

  it("refuses a rebuilt image or a changed recipe (image_differs), naming both ids; --allow-different-image turns them into warnings", async () => {
    const rebuilt = engineWith({ "base:1": "sha256:b1", "host:1": "sha256:h2" });
    const check = await checkImages(target, rebuilt, current);
    await expect(requireSameImages(check, false, rebuilt, current)).rejects.toMatchObject({ code: "image_differs", message: expect.stringMatching(/sha256:h2.*sha256:h1/) });
    expect(await requireSameImages(check, true, rebuilt, current)).toEqual([expect.stringContaining("rebuilt since")]);

    const moved = engineWith({ "base:1": "sha256:b1", "host:1": "sha256:h1", "host:2": "sha256:h2" });
    const changed = await checkImages(target, moved, { base: "base:1", host: "host:2" });
    expect(changed.findings).toEqual([expect.objectContaining({ role: "host", problem: "tag_differs", currentTag: "host:2" })]);
    await expect(requireSameImages(changed, false, moved, { base: "base:1", host: "host:2" })).rejects.toMatchObject({ code: "image_differs" });
  });

  it("a normal host's rebuild command builds images; a run without recorded images is a warning", async () => {
    const check = await checkImages({ ...target, mutant: undefined, images: undefined }, engineWith({}), current);
    expect(check.rebuild).toBe("npx distcheck images build --platform linux-x86_64 --python bookworm --host reference");
    expect(await requireSameImages(check, false, engineWith({}), current)).toEqual([expect.stringContaining("recorded no image ids")]);
  });
});

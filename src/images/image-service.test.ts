import path from "node:path";
import { describe, expect, it } from "vitest";
import type { ContainerEngine, EngineImage } from "../engine/container-engine.ts";
import { IMAGE_LABELS, ImageService, isWanted } from "./image-service.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");

/** An engine holding `images` in memory: enough for plan, build-by-commit and removal. */
function fakeEngine(images: EngineImage[]): { engine: ContainerEngine; removed: string[]; committed: string[] } {
  const removed: string[] = [];
  const committed: string[] = [];
  const find = (ref: string) => images.find((i) => i.id === ref || i.tags.includes(ref));
  const engine = {
    endpoint: "fake",
    inspectImage: async (tag: string) => find(tag),
    listImages: async () => [...images],
    removeImage: async (ref: string) => {
      const image = find(ref);
      if (!image) throw new Error(`no image ${ref}`);
      images.splice(images.indexOf(image), 1);
      removed.push(ref);
    },
    commitLayer: async (o: { tag: string; labels: Record<string, string> }) => {
      committed.push(o.tag);
      images.push({ id: `sha256:${o.tag}`, tags: [o.tag], labels: o.labels } as EngineImage);
    },
  } as unknown as ContainerEngine;
  return { engine, removed, committed };
}

describe("ImageService.ensure", () => {
  it("--force rebuilds a host image and drops the wheel layers cached on it, not those of other hosts", async () => {
    const probe = new ImageService(fakeEngine([]).engine, ROOT);
    const base = probe.baseTarget("bookworm", "linux-x86_64");
    const host = probe.hostTarget({ id: "reference", adapter: "reference", source: "hosts/reference", bases: ["bookworm"], default: true }, base);
    const image = (tag: string, labels: Record<string, string>): EngineImage => ({ id: `sha256:${tag}`, tags: [tag], labels }) as EngineImage;
    const { engine, removed, committed } = fakeEngine([
      image(base.tag, { [IMAGE_LABELS.kind]: "base" }),
      image(host.tag, { [IMAGE_LABELS.kind]: "host" }),
      image("distcheck/host-reference-wheels:mine", { [IMAGE_LABELS.kind]: "wheels", [IMAGE_LABELS.parent]: host.tag }),
      image("distcheck/host-reference-wheels:other", { [IMAGE_LABELS.kind]: "wheels", [IMAGE_LABELS.parent]: "distcheck/host-reference:other" }),
    ]);
    const service = new ImageService(engine, ROOT, { debootstrap: { kind: "debootstrap", build: async () => undefined } });
    const quiet = { progress: () => undefined, runLabels: {} };

    const warm = await service.ensure([host], quiet);
    expect(warm.get(host.tag)?.status).toBe("up-to-date");
    expect(removed).toEqual([]);

    const forced = await service.ensure([host], { ...quiet, force: true });
    expect(forced.get(host.tag)?.status).toBe("built");
    expect(committed).toEqual([host.tag]);
    expect(removed).toContain("sha256:distcheck/host-reference-wheels:mine");
    expect(removed).not.toContain("sha256:distcheck/host-reference-wheels:other");
    // Children before parents: the wheel layer went before its host image.
    expect(removed.indexOf("sha256:distcheck/host-reference-wheels:mine")).toBeLessThan(removed.indexOf(host.tag));
  });

  it("a build that fails after the engine tagged its image leaves no image under the tag; the engine's full disk is disk_full", async () => {
    const { engine, removed } = fakeEngine([]);
    const service = new ImageService(engine, ROOT, {
      debootstrap: {
        kind: "debootstrap",
        // A load the engine tagged, then refused for lack of space (as a late failure of `docker load` can).
        build: async ({ tag }) => {
          await (engine.commitLayer as unknown as (o: { tag: string; labels: Record<string, string> }) => Promise<void>)({ tag, labels: {} });
          throw new Error(`write /var/lib/docker/tmp/docker-import-1/layer.tar: no space left on device`);
        },
      },
    });
    const base = service.baseTarget("bookworm", "linux-x86_64");
    const lines: string[] = [];
    const failure = await service.ensure([base], { progress: (_t, line) => lines.push(line), runLabels: {} }).catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: "disk_full", category: "infrastructure" });
    expect((failure as Error).message).toContain("Docker engine at fake");
    expect(removed).toEqual([base.tag]);
    expect(await engine.inspectImage(base.tag)).toBeUndefined();
    expect(lines.some((l) => l.includes(`removed ${base.tag}`))).toBe(true);
  });
});

describe("isWanted", () => {
  const image = (tag: string, labels: Record<string, string>): EngineImage => ({ id: `sha256:${tag}`, tags: [tag], labels }) as EngineImage;
  const wanted = new Set(["distcheck/host-reference:current"]);

  it("keeps a wanted tag and the wheel layers on it, and nothing else", () => {
    expect(isWanted(image("distcheck/host-reference:current", { [IMAGE_LABELS.kind]: "host" }), wanted)).toBe(true);
    expect(isWanted(image("distcheck/host-reference-wheels:a", { [IMAGE_LABELS.kind]: "wheels", [IMAGE_LABELS.parent]: "distcheck/host-reference:current" }), wanted)).toBe(true);
    expect(isWanted(image("distcheck/host-reference-wheels:b", { [IMAGE_LABELS.kind]: "wheels", [IMAGE_LABELS.parent]: "distcheck/host-reference:old" }), wanted)).toBe(false);
    expect(isWanted(image("distcheck/host-reference:old", { [IMAGE_LABELS.kind]: "host" }), wanted)).toBe(false);
    // Only wheel layers are kept by their parent label.
    expect(isWanted(image("distcheck/host-reference:x", { [IMAGE_LABELS.kind]: "host", [IMAGE_LABELS.parent]: "distcheck/host-reference:current" }), wanted)).toBe(false);
  });
});

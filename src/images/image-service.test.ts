import path from "node:path";
import { describe, expect, it } from "vitest";
import type { ContainerEngine, EngineImage } from "../engine/container-engine.ts";
import { IMAGE_LABELS, ImageService, isWanted, type ImageTarget } from "./image-service.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");

/** An engine holding `images` in memory: enough for plan, build-by-commit and removal. */
function fakeEngine(images: EngineImage[], options: { commitFails?: Error } = {}): { engine: ContainerEngine; removed: string[]; committed: string[] } {
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
      // A commit the engine tagged and then failed, as a late failure can.
      if (options.commitFails) throw options.commitFails;
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
    const probe = new ImageService(fakeEngine([]).engine, ROOT);
    const base = probe.baseTarget("bookworm", "linux-x86_64");
    const host = probe.hostTarget({ id: "reference", adapter: "reference", source: "hosts/reference", bases: ["bookworm"], default: true }, base);
    const full = new Error("write /var/lib/docker/overlay2/x/diff/opt/host/app.py: no space left on device");
    const { engine, removed, committed } = fakeEngine([{ id: `sha256:${base.tag}`, tags: [base.tag], labels: {} } as EngineImage], { commitFails: full });
    const service = new ImageService(engine, ROOT);
    const lines: string[] = [];
    const failure = await service.ensure([host], { progress: (_t, line) => lines.push(line), runLabels: {} }).catch((e: unknown) => e);
    expect(committed).toEqual([host.tag]);
    expect(failure).toMatchObject({ code: "disk_full", category: "infrastructure", cause: full });
    expect((failure as Error).message).toContain("Docker engine at fake");
    expect(removed).toEqual([host.tag]);
    expect(await engine.inspectImage(host.tag)).toBeUndefined();
    expect(lines.some((l) => l.includes(`removed ${host.tag}`))).toBe(true);
  });

  it("leaves a debootstrap build's full disk to its builder, which knows whether the scratch folder or the engine filled", async () => {
    const full = new Error("tar: ./usr: Cannot write: No space left on device");
    const service = new ImageService(fakeEngine([]).engine, ROOT, { debootstrap: { kind: "debootstrap", build: async () => Promise.reject(full) } });
    const base = service.baseTarget("bookworm", "linux-x86_64");
    expect(await service.ensure([base], { progress: () => undefined, runLabels: {} }).catch((e: unknown) => e)).toBe(full);
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

describe("ImageService.prune", () => {
  const image = (tag: string, labels: Record<string, string>): EngineImage => ({ id: `sha256:${tag}`, tags: [tag], labels }) as EngineImage;
  const held = () => [
    image("distcheck/host-reference:current", { [IMAGE_LABELS.kind]: "host" }),
    image("distcheck/host-reference:old", { [IMAGE_LABELS.kind]: "host" }),
    image("distcheck/host-reference-wheels:on-current", { [IMAGE_LABELS.kind]: "wheels", [IMAGE_LABELS.parent]: "distcheck/host-reference:current" }),
    image("distcheck/host-reference-wheels:on-old", { [IMAGE_LABELS.kind]: "wheels", [IMAGE_LABELS.parent]: "distcheck/host-reference:old" }),
  ];
  const keep = [{ tag: "distcheck/host-reference:current" }] as ImageTarget[];

  it("removes stale images, children first, and keeps the wheel layers on a wanted host image", async () => {
    const { engine, removed } = fakeEngine(held());
    expect(await new ImageService(engine, ROOT).prune(keep)).toEqual(["distcheck/host-reference-wheels:on-old", "distcheck/host-reference:old"]);
    expect(removed).toHaveLength(2);
  });

  it("with caches, also removes the wheel layers on a wanted host image, and never the host image", async () => {
    const { engine } = fakeEngine(held());
    const removed = await new ImageService(engine, ROOT).prune(keep, { caches: true });
    expect(removed.sort()).toEqual(["distcheck/host-reference-wheels:on-current", "distcheck/host-reference-wheels:on-old", "distcheck/host-reference:old"]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootedHost } from "../src/hosts/booted-host.ts";
import { suiteCells } from "./support/cells.ts";
import { adapterOf, attachOnFailure, bootHost, sampleWheel, scaledTimeout } from "./support/host.ts";

// HST-01 from outside, for hosts that do not report their effective configuration: booted with
// nothing set that has a documented default, the host answers on its documented port, keeps its data
// in its documented data directory, discovers wheels of its documented entry point group and
// disables nothing; its own environment variables move port and data directory; its configuration
// file disables an extension. Expected values are the adapter's documented defaults (each with the
// source line that documents it), never what the host reports.
const cells = suiteCells("host-defaults");

describe.concurrent.each(cells)("host defaults on $id", (cell) => {
  const adapter = adapterOf(cell);
  const probe = adapter.defaultsProbe!;
  const sample = sampleWheel(cell, "ok-basic");
  const MOVED = { port: probe.port + 17, dataDir: "/srv/distcheck-moved-data" };
  let bare: BootedHost | undefined;
  let moved: BootedHost | undefined;
  let fromFile: BootedHost | undefined;

  beforeAll(async () => {
    const boots = await Promise.allSettled([
      bootHost(cell, { wheels: [sample], launch: probe.bare }),
      bootHost(cell, { wheels: [sample], launch: probe.withEnv(MOVED) }),
      bootHost(cell, { wheels: [sample], settings: { disabled: [sample.extensionId!] } }),
    ]);
    const failed = boots.find((b): b is PromiseRejectedResult => b.status === "rejected");
    [bare, moved, fromFile] = boots.map((b) => (b.status === "fulfilled" ? b.value : undefined));
    if (failed) throw failed.reason;
  }, scaledTimeout(cell, 120_000));

  afterAll(async () => {
    await Promise.all([bare, moved, fromFile].map((h) => h?.[Symbol.asyncDispose]().catch(() => undefined)));
  });

  it("HST-01: with nothing set, the host answers on its documented port and keeps its data in its documented data directory", async (ctx) => {
    attachOnFailure(ctx, () => bare);
    expect(new URL(bare!.url).port).toBe(String(probe.port));
    expect(await bare!.readiness()).toMatchObject({ ready: true });
    expect(await bare!.container.exists(probe.dataMarker(probe.dataDir)), `${probe.dataMarker(probe.dataDir)} exists`).toBe(true);
    expect(await bare!.container.exists(probe.dataMarker(MOVED.dataDir))).toBe(false);
  });

  it("HST-01: with nothing set, a wheel of the documented entry point group is discovered and nothing is disabled", async (ctx) => {
    attachOnFailure(ctx, () => bare);
    expect((await bare!.extensions()).map((e) => e.id)).toContain(sample.extensionId);
    expect((await bare!.diagnostics()).filter((d) => d.code === "extension_disabled")).toEqual([]);
  });

  it("HST-01: the host's environment variables override the documented port and data directory", async (ctx) => {
    attachOnFailure(ctx, () => moved);
    expect(new URL(moved!.url).port).toBe(String(MOVED.port));
    expect(await moved!.readiness()).toMatchObject({ ready: true });
    expect(await moved!.container.exists(probe.dataMarker(MOVED.dataDir)), `${probe.dataMarker(MOVED.dataDir)} exists`).toBe(true);
    expect(await moved!.container.exists(probe.dataMarker(probe.dataDir)), "nothing written to the default data directory").toBe(false);
    // The default port is not served when the environment moves it.
    await expect(moved!.raw("GET", "/", undefined, probe.port)).rejects.toThrow();
  });

  it("HST-01: the host's configuration file overrides the empty disabled list", async (ctx) => {
    attachOnFailure(ctx, () => fromFile);
    expect((await fromFile!.extensions()).map((e) => e.id)).not.toContain(sample.extensionId);
    expect(await fromFile!.diagnostics()).toContainEqual(expect.objectContaining({ code: "extension_disabled", extension_id: sample.extensionId }));
  });
});

import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadFixtureDeclarations } from "../src/fixtures/index.ts";
import { predictWheels } from "../src/oracle/index.ts";
import { scaledSamples } from "./sample-wheels.ts";

describe("the growth measurement's sample wheels", () => {
  it("are copies of the template with every name unique, each predicted listed with no diagnostic", async () => {
    const template = (await loadFixtureDeclarations(path.join(import.meta.dirname, "..", "fixtures"))).wheels.find((w) => w.name === "ok-basic")!;
    const samples = scaledSamples(template, 12);
    expect(samples[0]).toMatchObject({ name: "scale-01", distribution: "distcheck-sample-scale-01", package: "distcheck_sample_scale_01", entryPointName: "scale-01", manifest: { id: "dev.distcheck.scale-01", name: "Distcheck Scale 01" } });
    expect(JSON.stringify(samples)).not.toMatch(/ok.basic/i);
    for (const field of ["distribution", "package", "entryPointName"] as const) expect(new Set(samples.map((s) => s[field])).size).toBe(12);
    const routes = samples.flatMap((s) => s.behaviour.routes.map((r) => r.path));
    expect(new Set(routes).size).toBe(routes.length);
    const outcomes = [...predictWheels(samples, { coreVersion: "0.8.0" }).values()];
    expect(outcomes.map((o) => [o.listed, o.diagnostics.length])).toEqual(samples.map(() => [true, 0]));
  });
});

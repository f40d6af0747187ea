import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadFixtureDeclarations } from "../src/fixtures/index.ts";
import { hostAdapter } from "../src/hosts/host-adapters.ts";
import { DISABLED, DISCOVERY, LIFECYCLE_BOOT, RESOLVED_BY_PIP } from "../suites/support/discovery-sets.ts";
import { predictedListing, type PlanContext } from "./case-plans.ts";

describe("what the naive loop expects a host to list", async () => {
  const declarations = new Map((await loadFixtureDeclarations(path.join(import.meta.dirname, "..", "fixtures"))).wheels.map((d) => [d.name, d]));
  const ctx: PlanContext = { adapter: hostAdapter("reference"), coreVersion: "0.8.0", hostImage: () => "", factor: () => 1, declarations };

  it("is the oracle's: loaded ids, one id for a duplicate pair, not the disabled one, open ones apart", () => {
    const { ids, open } = predictedListing(ctx, [...DISCOVERY, ...RESOLVED_BY_PIP], DISABLED);
    expect(ids).toEqual(["dev.distcheck.dep-base", "dev.distcheck.dep-user", "dev.distcheck.dup", "dev.distcheck.frontend-present", "dev.distcheck.ok-basic", "dev.distcheck.ok-factory", "dev.distcheck.static-symlinks"]);
    expect(open).toContain("dev.distcheck.frontend-missing");
    expect(ids).not.toContain("dev.distcheck.disabled-me");
    expect(predictedListing(ctx, LIFECYCLE_BOOT).ids).toEqual(["dev.distcheck.dup", "dev.distcheck.ok-basic"]);
  });
});

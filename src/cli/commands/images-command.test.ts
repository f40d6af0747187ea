import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadMutants } from "../../mutants/mutant-catalog.ts";
import { select } from "../../matrix/selection.ts";
import { plannedImages } from "../../images/image-planner.ts";

describe("plannedImages", () => {
  it("adds one host build per cell and catalog mutant only when asked, on the same bases", () => {
    const selection = select({});
    const mutants = loadMutants(path.join(selection.root, "hosts/reference")).map((m) => m.name);
    const targetsOf = (plans: ReturnType<typeof plannedImages>) => plans.flatMap((p) => p.targets);
    const plain = targetsOf(plannedImages(selection));
    const withCatalog = targetsOf(plannedImages(selection, { mutantCatalogs: true }));
    const hosts = (ts: typeof plain) => ts.filter((t) => t.kind === "host");
    expect(hosts(plain).every((t) => t.kind === "host" && t.settings.mutant === undefined)).toBe(true);
    expect(hosts(withCatalog)).toHaveLength(hosts(plain).length * (1 + mutants.length));
    // The matrix's own images are all still there, and no base was added.
    expect(withCatalog.map((t) => t.tag)).toEqual(expect.arrayContaining(plain.map((t) => t.tag)));
    expect(withCatalog.filter((t) => t.kind === "base")).toHaveLength(plain.filter((t) => t.kind === "base").length);
  });
});

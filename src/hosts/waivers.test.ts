import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadMatrix } from "../matrix/matrix-loader.ts";
import { checkWaiverQuotes, loadWaivers } from "./waivers.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const matrix = loadMatrix(path.join(ROOT, "matrix.json"), ROOT);

describe("host waivers", () => {
  it("the reference host has none", () => {
    expect(loadWaivers(ROOT, "reference")).toEqual([]);
  });

  for (const adapter of readdirSync(path.join(ROOT, "hosts")).filter((d) => existsSync(path.join(ROOT, "hosts", d, "waivers.json")))) {
    const host = matrix.hosts.find((h) => h.adapter === adapter);
    const source = host?.source ?? "";
    const waivers = loadWaivers(ROOT, adapter);
    // Third-party sources are test material outside the repository: a clone without them says so; CI must have them.
    const available = existsSync(source);
    it.runIf(available || process.env.CI === "true")(`every waiver of the ${adapter} host quotes the line of its source that causes it (${source})`, () => {
      expect(available, `${source} is missing (set DISTCHECK_SOURCE_${adapter.toUpperCase()})`).toBe(true);
      expect(checkWaiverQuotes(waivers, source)).toEqual([]);
    });
    it.skipIf(available || process.env.CI === "true")(`not run: the ${adapter} host's source ${source} is not on this machine, so its waivers' quotes cannot be checked`, () => undefined);
  }
});
